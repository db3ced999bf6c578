from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx

from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from tests.conftest import TEST_API_KEY, TEST_BASE_URL

RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
RUN_URL = f"{TEST_BASE_URL}/api/dataframer/runs/{RUN_ID}/"


def make_trigger(**overrides: object) -> RunStatusTrigger:
    kwargs: dict[str, object] = {"run_id": RUN_ID, "poll_interval": 0.01, "deadline": time.time() + 30}
    kwargs.update(overrides)
    return RunStatusTrigger(**kwargs)  # type: ignore[arg-type]


async def run_to_event(trigger: RunStatusTrigger) -> dict[str, object]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1, "a trigger yields exactly one event"
    return events[0]  # type: ignore[no-any-return]


def test_serialize_round_trip() -> None:
    trigger = RunStatusTrigger(
        run_id=RUN_ID, dataframer_conn_id="df", poll_interval=4, deadline=1.9e9, cancel_on_kill=True
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_dataframer.triggers.run.RunStatusTrigger"
    assert kwargs == {
        "run_id": RUN_ID,
        "dataframer_conn_id": "df",
        "poll_interval": 4.0,
        "deadline": 1.9e9,
        "cancel_on_kill": True,
    }
    assert TEST_API_KEY not in json.dumps(kwargs)
    assert RunStatusTrigger(**json.loads(json.dumps(kwargs))).serialize() == (classpath, kwargs)


@respx.mock
async def test_working_statuses_then_success_with_the_run_in_the_event(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(RUN_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": RUN_ID, "status": "PENDING"}),
            httpx.Response(200, json={"id": RUN_ID, "status": "IN_PROGRESS", "samples_completed": 1}),
            httpx.Response(502, json={"detail": "bad gateway"}),
            httpx.Response(
                200, json={"id": RUN_ID, "status": "SUCCEEDED", "samples_completed": 2, "samples_failed": 1}
            ),
        ]
    )
    event = await run_to_event(make_trigger())
    assert event["status"] == "success" and event["kind"] == "run"
    assert event["resource"]["samples_failed"] == 1  # type: ignore[index]


@respx.mock
async def test_canceled_is_a_failure(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(RUN_URL).respond(json={"id": RUN_ID, "status": "CANCELED"})
    event = await run_to_event(make_trigger())
    assert event["status"] == "failed"
    assert f"run {RUN_ID} ended CANCELED" in str(event["message"])


class FakeSupervisor:
    """The triggerer supervisor's side of ``GetTaskStates``: answers with fixed task states."""

    def __init__(
        self,
        task_states: dict[str, Any] | None = None,
        error: Exception | None = None,
        answer_when: asyncio.Event | None = None,
    ) -> None:
        self.task_states = task_states or {}
        self.error = error
        self.answer_when = answer_when  # answer once it is set (None: at once)
        self.asked = asyncio.Event()
        self.requests: list[Any] = []

    def send(self, msg: Any) -> None:
        """Other messages (the secrets masker's ``MaskSecret``) need no answer."""

    async def asend(self, msg: Any) -> Any:
        from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult

        if not isinstance(msg, GetTaskStates):
            return None
        self.requests.append(msg)
        self.asked.set()
        if self.answer_when is not None:
            await self.answer_when.wait()
        if self.error is not None:
            raise self.error
        return TaskStatesResult(task_states=self.task_states)


def killed_trigger(map_index: int = -1) -> RunStatusTrigger:
    """A run trigger as the triggerer builds it: with the task instance that deferred to it."""
    trigger = make_trigger(cancel_on_kill=True)
    trigger.task_instance = SimpleNamespace(  # type: ignore[assignment]
        dag_id="dag", task_id="create_run", run_id="manual__1", map_index=map_index, task=None
    )
    return trigger


def logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    """What was logged: Airflow 3 logs triggers through structlog (stdout), Airflow 2 through logging."""
    return caplog.text + capsys.readouterr().out


def log_so_far(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Callable[[], str]:
    """Like :func:`logged`, to call repeatedly: capsys hands out each piece of output only once."""
    out: list[str] = []

    def text() -> str:
        out.append(capsys.readouterr().out)
        return caplog.text + "".join(out)

    return text


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeSupervisor]:
    task_runner = pytest.importorskip(
        "airflow.sdk.execution_time.task_runner", reason="task states are read through the Airflow 3 task SDK"
    )

    def install(
        task_states: dict[str, Any] | None = None,
        error: Exception | None = None,
        answer_when: asyncio.Event | None = None,
    ) -> FakeSupervisor:
        fake = FakeSupervisor(task_states, error, answer_when)
        monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
        return fake

    return install


@respx.mock
async def test_on_kill_never_cancels_a_sensors_run(respx_mock: respx.MockRouter) -> None:
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    await make_trigger().on_kill()
    assert not cancel.called, "a sensor's trigger never cancels someone else's run"


@pytest.mark.parametrize("state", ["failed", "success", "skipped", "removed"])
@respx.mock
async def test_on_kill_cancels_when_the_task_was_ended_for_good(
    respx_mock: respx.MockRouter, supervisor: Callable[..., FakeSupervisor], state: str
) -> None:
    fake = supervisor({"manual__1": {"create_run": state}})
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    await killed_trigger().on_kill()
    assert cancel.call_count == 1
    (request,) = fake.requests
    assert (request.dag_id, request.task_ids, request.run_ids, request.map_index) == (
        "dag",
        ["create_run"],
        ["manual__1"],
        -1,
    )


@respx.mock
async def test_on_kill_leaves_the_run_alone_when_the_trigger_only_moved(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    supervisor({"manual__1": {"create_run": "deferred"}})
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with caplog.at_level(logging.INFO):
        await killed_trigger().on_kill()
    assert not cancel.called
    text = logged(caplog, capsys)
    assert "its task is still deferred" in text and "apache/airflow#73454" in text


@respx.mock
async def test_on_kill_reads_a_mapped_task_instance_by_its_map_index(
    respx_mock: respx.MockRouter, supervisor: Callable[..., FakeSupervisor]
) -> None:
    fake = supervisor({"manual__1": {"create_run_3": "deferred", "create_run_4": "failed"}})
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    await killed_trigger(map_index=3).on_kill()
    assert not cancel.called and fake.requests[0].map_index == 3
    await killed_trigger(map_index=4).on_kill()
    assert cancel.call_count == 1


@respx.mock
async def test_on_kill_cancels_when_the_task_instance_is_gone(
    respx_mock: respx.MockRouter, supervisor: Callable[..., FakeSupervisor]
) -> None:
    supervisor({})  # its DAG run was deleted
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    await killed_trigger().on_kill()
    assert cancel.call_count == 1


@respx.mock
async def test_on_kill_does_not_cancel_when_the_state_cannot_be_read(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    supervisor(error=ConnectionResetError("supervisor gone"))
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with caplog.at_level(logging.INFO):
        await killed_trigger().on_kill()
    assert not cancel.called
    text = logged(caplog, capsys)
    assert f"Not canceling Dataframer run {RUN_ID}: could not tell" in text
    assert "supervisor gone" in text and "cancel the run in Dataframer" in text


@respx.mock
async def test_on_kill_outside_a_triggerer_does_not_cancel(
    respx_mock: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    task_runner = pytest.importorskip("airflow.sdk.execution_time.task_runner")
    monkeypatch.delattr(task_runner, "SUPERVISOR_COMMS", raising=False)
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with caplog.at_level(logging.INFO):
        await killed_trigger().on_kill()
        trigger_without_ti = make_trigger(cancel_on_kill=True)
        await trigger_without_ti.on_kill()
    text = logged(caplog, capsys)
    assert not cancel.called
    assert "not running in an Airflow 3 triggerer" in text and "no task instance" in text


@respx.mock
async def test_on_kill_reports_a_run_that_cannot_be_canceled_any_more(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    supervisor({"manual__1": {"create_run": "success"}})
    respx_mock.post(f"{RUN_URL}cancel/").respond(
        400, json={"detail": f"Run '{RUN_ID}' is already SUCCEEDED and cannot be canceled."}
    )
    with caplog.at_level(logging.INFO):
        await killed_trigger().on_kill()  # no exception: Airflow would only log it less clearly
    text = logged(caplog, capsys)
    assert f"Could not cancel Dataframer run {RUN_ID}" in text and "already SUCCEEDED" in text


async def airflow_3_3_cancels_on_kill_again(trigger: RunStatusTrigger, fake: FakeSupervisor) -> int:
    """
    What Airflow 3.3's triggerer does to a trigger killed by a user while ``on_kill`` waits: its
    ``run_trigger`` awaits ``wait_for(on_kill(), 30)``, and the next passes of the trigger loop
    cancel the trigger's task again; Airflow swallows the cancellation of ``on_kill`` and moves on.

    :return: how many cancellations it took until the trigger's task ended.
    """

    async def run_trigger() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # "on_kill() was itself cancelled": moves on
            await asyncio.wait_for(trigger.on_kill(), timeout=30)

    task = asyncio.create_task(run_trigger())
    await fake.asked.wait()  # on_kill is waiting for the supervisor
    cancellations = 0
    # Bounded: on_kill once absorbed every cancellation, which on Python 3.12+ (where wait_for runs
    # on_kill in the trigger's own task) kept the trigger's task alive until the supervisor answered.
    while not task.done() and cancellations < 100:
        task.cancel()
        cancellations += 1
        await asyncio.sleep(0)
    assert task.done(), f"the trigger's task outlived {cancellations} cancellations"
    await task
    return cancellations


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout=10)


@respx.mock
async def test_on_kill_cancels_the_run_although_airflow_cancels_on_kill_again(
    respx_mock: respx.MockRouter, supervisor: Callable[..., FakeSupervisor]
) -> None:
    answer = asyncio.Event()
    fake = supervisor({"manual__1": {"create_run": "failed"}}, answer_when=answer)
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    cancellations = await airflow_3_3_cancels_on_kill_again(killed_trigger(), fake)
    # 1 on Python 3.12+; 2 on 3.11, whose wait_for runs on_kill in a task of its own and waits a
    # loop pass for it to take the cancellation it passes on.
    assert cancellations <= 2, "on_kill lets the cancellation of the trigger's task through"
    assert not cancel.called
    gc.collect()  # the event loop holds tasks weakly: the work must be referenced elsewhere
    answer.set()  # the supervisor answers only after Airflow gave up on on_kill
    await until(lambda: cancel.called)
    assert cancel.call_count == 1


@respx.mock
async def test_on_kill_leaves_a_moved_run_alone_although_airflow_cancels_on_kill_again(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer = asyncio.Event()
    fake = supervisor({"manual__1": {"create_run": "deferred"}}, answer_when=answer)
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with caplog.at_level(logging.INFO):
        await airflow_3_3_cancels_on_kill_again(killed_trigger(), fake)
        answer.set()
        await until(lambda: "its task is still deferred" in logged(caplog, capsys))
    assert not cancel.called


@respx.mock
async def test_on_kill_does_not_cancel_when_the_supervisor_never_answers(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from airflow_provider_dataframer.triggers import task_state

    monkeypatch.setattr(task_state, "STATE_READ_TIMEOUT", 0.05)
    supervisor({"manual__1": {"create_run": "failed"}}, answer_when=asyncio.Event())  # never set
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with caplog.at_level(logging.INFO):
        await killed_trigger().on_kill()
    assert not cancel.called
    assert "did not answer within 0.05 s" in logged(caplog, capsys)


@pytest.mark.parametrize(
    "state", ["scheduled", "queued", "running", "up_for_retry", "up_for_reschedule", "restarting"]
)
@respx.mock
async def test_on_kill_leaves_the_run_to_the_next_try(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    state: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Cleared, or resumed by the triggerer the trigger moved to: the next try reconnects to the run."""
    supervisor({"manual__1": {"create_run": state}})
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with caplog.at_level(logging.INFO):
        await killed_trigger().on_kill()
    assert not cancel.called
    assert f"its task is {state}, so it was cleared or resumed" in logged(caplog, capsys)


@respx.mock
async def test_on_kill_after_a_clear_decides_the_same_whichever_state_it_reads(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """
    A clear sets the task instance's state to None, and the scheduler then schedules it: which of
    the two ``on_kill`` reads depends on timing, so both must lead to the same decision.
    """
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with caplog.at_level(logging.INFO):
        supervisor({"manual__1": {"create_run": None}})  # read before the scheduler got to it
        await killed_trigger().on_kill()
        before = logged(caplog, capsys)
        supervisor({"manual__1": {"create_run": "scheduled"}})  # read after
        await killed_trigger().on_kill()
        after = logged(caplog, capsys)
    assert not cancel.called
    assert "its task is without a state, so it was cleared or resumed" in before
    assert "its task is scheduled, so it was cleared or resumed" in after


@respx.mock
async def test_airflow_s_bound_on_on_kill_ends_the_wait_but_not_the_cancel(
    respx_mock: respx.MockRouter, supervisor: Callable[..., FakeSupervisor]
) -> None:
    """Airflow waits ``on_kill_timeout`` for on_kill; its timeout fires on every Python, the work goes on."""
    answer = asyncio.Event()
    supervisor({"manual__1": {"create_run": "failed"}}, answer_when=answer)
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    with pytest.raises(asyncio.TimeoutError):  # the supervisor has not answered by then
        await asyncio.wait_for(killed_trigger().on_kill(), timeout=0.01)
    assert not cancel.called
    answer.set()
    await until(lambda: cancel.called)


@respx.mock
async def test_on_kill_logs_a_failure_that_comes_after_airflow_stopped_waiting(
    respx_mock: respx.MockRouter,
    supervisor: Callable[..., FakeSupervisor],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook

    async def broken_cancel(self: DataframerHook, run_id: str) -> None:
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(DataframerHook, "acancel_run", broken_cancel)
    answer = asyncio.Event()
    fake = supervisor({"manual__1": {"create_run": "failed"}}, answer_when=answer)
    text = log_so_far(caplog, capsys)
    with caplog.at_level(logging.INFO):
        await airflow_3_3_cancels_on_kill_again(killed_trigger(), fake)
        answer.set()
        await until(lambda: "on_kill failed after Airflow stopped waiting" in text())
    assert "RuntimeError: unforeseen" in text()
