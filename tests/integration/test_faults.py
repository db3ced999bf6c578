"""The fault matrix: each row against the emulator over real HTTP, with the task's final state,
the number of specs on the server and the message the user sees."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.integration.conftest import point_connection_at, specs_on, upload_csv_seed
from tests.integration.task_runner import first_event, rebuild_trigger, run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

SPECS = "specs/"
SPEC_ITEM = "specs/*/"
MODES = [pytest.param(False, id="blocking"), pytest.param(True, id="deferrable")]


def spec_operator(**overrides: Any) -> CreateSpecOperator:
    kwargs: dict[str, Any] = {
        "task_id": "create_spec",
        "name": "fault-suite-spec",
        "generation_objectives": "support tickets with a priority and a product",
        "poll_interval": 0.05,
        "timeout": 30,
    }
    kwargs.update(overrides)
    return CreateSpecOperator(**kwargs)


def creates(server: EmulatorServer) -> int:
    return len(server.requests(method="POST", path=SPECS))


@pytest.fixture
def server(emulator: EmulatorServer) -> EmulatorServer:
    return emulator


def test_lost_create_response_is_adopted(server: EmulatorServer) -> None:
    server.add_fault(method="POST", path=SPECS, action="lose_response")
    outcome = run_task(spec_operator(deferrable=True))
    (spec,) = specs_on(server)
    assert outcome.state == "success", outcome.message
    assert outcome.result == spec["id"] and spec["status"] == "SUCCEEDED"
    assert creates(server) == 1, "the lost create was looked up by name, not sent again"


def test_429_with_retry_after_is_honoured(server: EmulatorServer) -> None:
    server.add_fault(method="POST", path=SPECS, status_code=429, retry_after=0.3, times=2)
    started = time.monotonic()
    outcome = run_task(spec_operator(wait_for_completion=False))
    assert outcome.state == "success", outcome.message
    assert time.monotonic() - started >= 0.6, "two Retry-After waits of 0.3 s"
    assert len(specs_on(server)) == 1 and creates(server) == 3


def test_5xx_burst_on_create_creates_exactly_once(server: EmulatorServer) -> None:
    server.add_fault(method="POST", path=SPECS, status_code=503, times=2)
    outcome = run_task(spec_operator(deferrable=True))
    assert outcome.state == "success", outcome.message
    assert len(specs_on(server)) == 1


def test_5xx_on_create_after_it_was_stored_is_adopted(server: EmulatorServer) -> None:
    # The server stores the spec and then fails: the create must not be repeated blindly.
    server.add_fault(method="POST", path=SPECS, action="lose_response")
    server.add_fault(method="GET", path=SPECS, status_code=502, times=1)  # the first lookup fails too
    outcome = run_task(spec_operator(wait_for_completion=False))
    assert outcome.state == "success", outcome.message
    assert len(specs_on(server)) == 1 and creates(server) == 1


@pytest.mark.parametrize("deferrable", MODES)
def test_5xx_burst_while_polling(server: EmulatorServer, deferrable: bool) -> None:
    server.add_fault(method="GET", path=SPEC_ITEM, status_code=500, times=8)
    outcome = run_task(spec_operator(deferrable=deferrable))
    assert outcome.state == "success", outcome.message
    assert server.faults()[0].hits == 8
    assert len(specs_on(server)) == 1


@pytest.mark.parametrize("deferrable", MODES)
def test_dropped_connections_while_polling(server: EmulatorServer, deferrable: bool) -> None:
    server.add_fault(method="GET", path=SPEC_ITEM, action="drop", times=5)
    outcome = run_task(spec_operator(deferrable=deferrable))
    assert outcome.state == "success", outcome.message
    assert server.faults()[0].hits == 5
    assert len(specs_on(server)) == 1


def test_emulator_restart_mid_wait_with_state(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    server = dataframer_emulator_factory(state_path=str(tmp_path / "state.db"), spec_seconds=2.5)
    point_connection_at(monkeypatch, server)
    operator = spec_operator(deferrable=True, poll_interval=0.1)

    def restart_during(trigger: Any) -> dict[str, Any]:
        async def scenario() -> dict[str, Any]:
            waiting = asyncio.ensure_future(first_event(trigger))
            await asyncio.sleep(0.3)
            await asyncio.to_thread(server.stop)
            await asyncio.sleep(0.5)  # polls meet a refused connection meanwhile
            await asyncio.to_thread(server.start)
            return await waiting

        return asyncio.run(scenario())

    outcome = run_task(operator, run_trigger=restart_during)
    assert outcome.state == "success", outcome.message
    # The restarted server has a fresh request log: the wait went on against it.
    assert server.requests(method="GET", path=SPEC_ITEM)
    (spec,) = specs_on(server)
    assert spec["id"] == outcome.result and spec["status"] == "SUCCEEDED"


def test_wrong_api_key_fails_fast_with_the_server_message(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dataframer_emulator_factory(api_key="the-right-key-123")
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAFRAMER_DEFAULT",
        json.dumps({"conn_type": "dataframer", "host": server.url, "password": "a-wrong-key-456"}),
    )
    started = time.monotonic()
    outcome = run_task(spec_operator(deferrable=True))
    assert outcome.state == "failed"
    assert "HTTP 401" in outcome.message and "a-wrong-key-456" not in outcome.message
    assert time.monotonic() - started < 5
    assert len(server.requests()) == 1, "a 401 is never retried"
    assert specs_on(server) == []


@pytest.mark.parametrize("deferrable", MODES)
def test_spec_deleted_while_waiting_ends_with_a_clear_error(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch, deferrable: bool
) -> None:
    server = dataframer_emulator_factory(spec_seconds=30)
    point_connection_at(monkeypatch, server)

    def delete_after_the_first_poll() -> None:
        deadline = time.monotonic() + 10
        while not server.requests(method="GET", path=SPEC_ITEM) and time.monotonic() < deadline:
            time.sleep(0.01)
        (spec,) = specs_on(server)
        httpx.delete(f"{server.url}/api/dataframer/specs/{spec['id']}/?force=true", headers=server.headers)

    deleter = threading.Thread(target=delete_after_the_first_poll, daemon=True)
    deleter.start()
    outcome = run_task(spec_operator(deferrable=deferrable, poll_interval=0.1))
    deleter.join()
    assert outcome.state == "failed"
    assert "no longer exists (HTTP 404)" in outcome.message
    assert specs_on(server) == []


@pytest.mark.parametrize("deferrable", MODES)
def test_unknown_status_is_waited_through(
    server: EmulatorServer,
    deferrable: bool,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.add_fault(method="GET", path=SPEC_ITEM, action="status_override", status="QUEUED", times=3)
    outcome = run_task(spec_operator(deferrable=deferrable))
    assert outcome.state == "success", outcome.message
    assert "QUEUED, a status this provider does not know" in capsys.readouterr().out + caplog.text
    assert len(specs_on(server)) == 1


def test_full_object_create_response(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dataframer_emulator_factory(spec_create_returns_object=True)
    point_connection_at(monkeypatch, server)
    outcome = run_task(spec_operator(deferrable=True))
    (spec,) = specs_on(server)
    assert outcome.state == "success" and outcome.result == spec["id"]


@pytest.mark.parametrize("deferrable", MODES)
def test_task_rerun_adopts_its_spec(server: EmulatorServer, deferrable: bool) -> None:
    first = run_task(spec_operator(deferrable=deferrable))
    second = run_task(spec_operator(deferrable=deferrable))  # a retry or a clear of the same try
    assert first.state == second.state == "success", (first.message, second.message)
    assert first.result == second.result
    assert len(specs_on(server)) == 1


def test_rerun_replaces_its_failed_spec(server: EmulatorServer) -> None:
    failing = spec_operator(name="fault-suite-[fail]", deferrable=True)
    first = run_task(failing)
    assert first.state == "failed" and "ended FAILED" in first.message
    second = run_task(spec_operator(name="fault-suite-[fail]", deferrable=True))
    assert second.state == "failed", "the replacement fails again: the marker is in the name"
    (spec,) = specs_on(server)
    assert spec["id"] != first.error.event["id"]  # type: ignore[union-attr]
    assert len(server.requests(method="DELETE")) == 1, "the failed spec was deleted, then created anew"
    assert creates(server) == 3  # first try; the clash; the replacement


def test_a_same_named_spec_of_another_dataset_is_another_spec(server: EmulatorServer) -> None:
    """Spec names are unique per dataset (or among seedless specs): no clash, nothing touched."""
    theirs = run_task(
        spec_operator(generation_objectives="someone else's objectives", wait_for_completion=False)
    )
    dataset_id = upload_csv_seed(server, "clash-seed", "s.csv", b"a,b\n1,2\n3,4\n5,6\n")
    ours = run_task(spec_operator(dataset_id=dataset_id, generation_objectives=None, if_exists="fail"))
    assert ours.state == "success", ours.message
    assert {spec["id"] for spec in specs_on(server)} == {theirs.result, ours.result}
    # A deployment that refuses it anyway: its message reaches the user, the other spec is untouched.
    server.add_fault(method="POST", path=SPECS, status_code=400, body={"detail": "Spec name already exists"})
    outcome = run_task(spec_operator(name="other-name", dataset_id=dataset_id, generation_objectives=None))
    assert outcome.state == "failed" and "HTTP 400: Spec name already exists" in outcome.message
    assert not server.requests(method="DELETE")


def test_same_name_for_another_seed_is_a_separate_spec(server: EmulatorServer) -> None:
    seedless = run_task(spec_operator(wait_for_completion=False))
    dataset_id = upload_csv_seed(server, "other-seed", "s.csv", b"a,b\n1,2\n3,4\n5,6\n")
    # A lost answer must adopt the spec of this seed, not the same-named seedless one.
    server.add_fault(method="POST", path=SPECS, action="lose_response")
    seeded = run_task(
        spec_operator(dataset_id=dataset_id, generation_objectives=None, wait_for_completion=False)
    )
    assert seeded.state == "success", seeded.message
    assert seeded.result != seedless.result
    assert {spec["dataset_id"] for spec in specs_on(server)} == {None, dataset_id}


@pytest.mark.parametrize("deferrable", MODES)
def test_deadline_exceeded(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch, deferrable: bool
) -> None:
    server = dataframer_emulator_factory(spec_seconds=30)
    point_connection_at(monkeypatch, server)
    outcome = run_task(spec_operator(deferrable=deferrable, timeout=0.5, poll_interval=0.1))
    assert outcome.state == "failed"
    assert "Timed out waiting for Dataframer spec" in outcome.message
    assert "last status PROCESSING" in outcome.message
    assert len(specs_on(server)) == 1


def test_triggerer_restart_resumes_with_the_same_deadline(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dataframer_emulator_factory(spec_seconds=3)
    point_connection_at(monkeypatch, server)
    kwargs_seen: list[dict[str, Any]] = []

    def restart_triggerer(trigger: Any) -> dict[str, Any]:
        classpath, kwargs = trigger.serialize()

        async def scenario() -> dict[str, Any]:
            waiting = asyncio.ensure_future(first_event(trigger))
            await asyncio.sleep(0.3)
            waiting.cancel()  # the triggerer stops; the trigger row stays in the DB
            with pytest.raises(asyncio.CancelledError):
                await waiting
            rebuilt = rebuild_trigger(classpath, kwargs)  # a new triggerer picks the row up
            kwargs_seen.append(rebuilt.serialize()[1])
            return await first_event(rebuilt)

        return asyncio.run(scenario())

    outcome = run_task(spec_operator(deferrable=True, poll_interval=0.1), run_trigger=restart_triggerer)
    assert outcome.state == "success", outcome.message
    assert kwargs_seen[0]["deadline"] == outcome.deferrals[0][1]["deadline"]
    assert len(specs_on(server)) == 1


def test_lost_run_create_response_does_not_pay_twice(server: EmulatorServer) -> None:
    from airflow_provider_dataframer.operators.run import CreateRunOperator

    spec = run_task(spec_operator())
    assert spec.state == "success", spec.message
    server.add_fault(method="POST", path="runs/", action="lose_response")
    outcome = run_task(
        CreateRunOperator(
            task_id="generate", spec_id=spec.result, number_of_samples=5, poll_interval=0.05, deferrable=True
        )
    )
    assert outcome.state == "success", outcome.message
    runs = httpx.get(f"{server.url}/api/dataframer/runs/", headers=server.headers).json()
    assert [run["id"] for run in runs] == [outcome.result["run_id"]]
    assert len(server.requests(method="POST", path="runs/")) == 1
