"""Paid creates are never paid twice: concurrent runs of one spec and lost answers, over real HTTP.

The interleavings are made deterministic by running the second task from inside the first one's
create call (before it is sent, or once its answer is lost), and by moving the emulator's clock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from unittest import mock

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_dataframer.exceptions import DataframerError
from airflow_provider_dataframer.idempotency import DataframerCreateInDoubtError
from airflow_provider_dataframer.operators.run import CreateRunOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.integration.task_runner import TaskOutcome, run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

RUNS = "runs/"


class StateStore:
    """Airflow 3.3's task-state store, as one task instance's tries share it."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def ready_spec(server: EmulatorServer) -> str:
    outcome = run_task(
        CreateSpecOperator(
            task_id="spec", name="paid-once", generation_objectives="tickets", poll_interval=0.05
        )
    )
    assert outcome.state == "success", outcome.message
    return str(outcome.result)


def run_operator(task_id: str, spec_id: str, **kwargs: Any) -> CreateRunOperator:
    return CreateRunOperator(
        task_id=task_id, spec_id=spec_id, number_of_samples=5, wait_for_completion=False, **kwargs
    )


def runs_on(server: EmulatorServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/api/dataframer/runs/", headers=server.headers)
    response.raise_for_status()
    return list(response.json())


def run_ids(server: EmulatorServer) -> set[str]:
    return {run["id"] for run in runs_on(server)}


def test_a_concurrent_run_started_after_our_answer_was_lost_is_not_adopted(emulator: EmulatorServer) -> None:
    """Two tasks, same spec and parameters; A's answer is lost, then B starts its run: 2 runs, each its own."""
    spec_id = ready_spec(emulator)
    task_a, task_b = run_operator("a", spec_id), run_operator("b", spec_id)
    other: list[TaskOutcome] = []
    send = task_a.hook.create_run

    def send_then_b_starts(request: Any) -> str:
        try:
            return send(request)
        except DataframerError:
            # B starts 30 s later by the server's clock, while A is about to look for its run.
            emulator.service.clock = lambda: time.time() + 30
            other.append(run_task(task_b))
            raise

    emulator.add_fault(method="POST", path=RUNS, action="lose_response")
    task_a.hook.create_run = send_then_b_starts  # type: ignore[method-assign]
    outcome_a = run_task(task_a)
    (outcome_b,) = other
    assert outcome_a.state == outcome_b.state == "success", (outcome_a.message, outcome_b.message)
    assert outcome_a.result["run_id"] != outcome_b.result["run_id"]
    assert run_ids(emulator) == {outcome_a.result["run_id"], outcome_b.result["run_id"]}
    assert len(emulator.requests(method="POST", path=RUNS)) == 2, "2 runs for 2 tasks, none paid twice"


def test_a_concurrent_run_during_our_lost_answer_fails_without_paying_again(emulator: EmulatorServer) -> None:
    """B's run is made while A's create is in flight and A's answer is lost: A cannot tell, A stops."""
    spec_id = ready_spec(emulator)
    task_a, task_b = run_operator("a", spec_id), run_operator("b", spec_id)
    other: list[TaskOutcome] = []
    send = task_a.hook.create_run

    def b_starts_meanwhile(request: Any) -> str:
        other.append(run_task(task_b))
        return send(request)

    emulator.add_fault(method="POST", path=RUNS, action="lose_response", skip=1)  # B's answer arrives
    task_a.hook.create_run = b_starts_meanwhile  # type: ignore[method-assign]
    outcome_a = run_task(task_a)
    (outcome_b,) = other
    assert outcome_b.state == "success", outcome_b.message
    assert outcome_a.state == "failed"
    assert isinstance(outcome_a.error, DataframerCreateInDoubtError)
    assert isinstance(outcome_a.error, AirflowFailException), "final: a retry would pay again"
    runs = run_ids(emulator)
    assert len(runs) == 2 and len(emulator.requests(method="POST", path=RUNS)) == 2
    for run_id in runs:
        assert run_id in outcome_a.message, "the runs to look at are named"
    assert "No other run was started" in outcome_a.message


def test_lost_answer_with_the_runs_list_down_then_a_retry_adopts_the_orphan(emulator: EmulatorServer) -> None:
    spec_id = ready_spec(emulator)
    store = StateStore()
    emulator.add_fault(method="POST", path=RUNS, action="lose_response")
    # The list before sending works; every list after the lost answer fails (SDK retries included).
    emulator.add_fault(method="GET", path=RUNS, status_code=503, skip=1, times=None)
    first = run_task(run_operator("generate", spec_id), {"ti": mock.MagicMock(), "task_state_store": store})
    assert first.state == "failed"
    assert "could not be looked for" in first.message and "Nothing was sent again" in first.message
    emulator.clear_faults()
    (orphan,) = run_ids(emulator)
    durable = run_operator("generate", spec_id).durable  # False below Airflow 3.3: no task-state store
    if not durable:
        assert isinstance(first.error, AirflowFailException), "without a journal a retry would pay again"
        assert "not retried, so as not to pay twice" in first.message
        return
    assert not isinstance(first.error, AirflowFailException), "Airflow retries it"
    assert "A retry of this task looks for it first" in first.message
    retry = run_task(run_operator("generate", spec_id), {"ti": mock.MagicMock(), "task_state_store": store})
    assert retry.state == "success", retry.message
    assert retry.result["run_id"] == orphan
    assert run_ids(emulator) == {orphan}
    assert len(emulator.requests(method="POST", path=RUNS)) == 1, "the retry paid nothing more"
    assert store.values == {"dataframer_run_id": orphan}, "the note of the create in flight is gone"
