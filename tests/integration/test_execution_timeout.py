"""
A deferred run whose task's ``execution_timeout`` passes, against the emulator over HTTP.

The operator defers for real, its trigger is rebuilt from its serialized form and run to its event
against the emulator, and the task is resumed through Airflow's own ``_run_execute_callable`` (the
``execution_timeout`` guard that calls ``on_kill``), as the task runner does after a deferral.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from unittest import mock

import httpx
import pytest
from airflow.providers.common.compat.sdk import AirflowTaskTimeout, TaskDeferred

from airflow_provider_dataframer.operators.run import CreateRunOperator
from tests.integration.conftest import point_connection_at
from tests.integration.task_runner import rebuild_trigger, run_trigger

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorFactory, EmulatorServer

pytestmark = pytest.mark.integration
task_runner = pytest.importorskip(
    "airflow.sdk.execution_time.task_runner", reason="Airflow 3's task runner resumes the task"
)


def succeeded_spec(server: EmulatorServer) -> str:
    response = httpx.post(
        f"{server.url}/api/dataframer/specs/",
        headers=server.headers,
        json={"name": "timeout-spec", "generation_objectives": "Short notes."},
    )
    response.raise_for_status()
    return str(response.json()["id"])


def api(server: EmulatorServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/api/dataframer/{path}", headers=server.headers)
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_execution_timeout_ends_the_deferred_wait_and_cancels_the_run(
    dataframer_emulator_factory: EmulatorFactory, monkeypatch: pytest.MonkeyPatch, cancel_on_kill: bool
) -> None:
    server = dataframer_emulator_factory(spec_seconds=0.0, run_seconds=120.0)  # far past the 2 s allowed
    point_connection_at(monkeypatch, server)
    operator = CreateRunOperator(
        task_id="create_run",
        spec_id=succeeded_spec(server),
        number_of_samples=5,
        deferrable=True,
        poll_interval=0.2,
        timeout=3600,
        cancel_on_kill=cancel_on_kill,
        execution_timeout=timedelta(seconds=2),
    )
    context: Any = {"ti": mock.MagicMock(start_date=datetime.now(timezone.utc))}

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    classpath, trigger_kwargs = deferred.value.trigger.serialize()
    assert trigger_kwargs["deadline"] <= context["ti"].start_date.timestamp() + 2
    event = run_trigger(rebuild_trigger(classpath, trigger_kwargs))
    assert event["status"] == "timeout"

    resumed = CreateRunOperator(**{**operator_kwargs(operator), "cancel_on_kill": cancel_on_kill})
    resume = functools.partial(
        resumed.resume_execution,
        next_method=deferred.value.method_name,
        next_kwargs={**(deferred.value.kwargs or {}), "event": event},
    )
    with pytest.raises(AirflowTaskTimeout) as timed_out:
        task_runner._run_execute_callable(context, resume, resumed)

    (run,) = api(server, "runs/")
    assert str(timed_out.value) == (
        f"Timed out: the task's execution_timeout (0:00:02) passed while it was deferred, waiting for "
        f"Dataframer run {run['id']} (last status PROCESSING). The run is "
        + ("canceled (cancel_on_kill=True)." if cancel_on_kill else "left running (cancel_on_kill=False).")
    )
    assert run["status"] == ("CANCELED" if cancel_on_kill else "PROCESSING")


def operator_kwargs(operator: CreateRunOperator) -> dict[str, Any]:
    """What the DAG file gave the operator: a resumed task is a fresh copy of it."""
    return {
        "task_id": operator.task_id,
        "spec_id": operator.spec_id,
        "number_of_samples": operator.number_of_samples,
        "deferrable": True,
        "poll_interval": operator.poll_interval,
        "timeout": operator.timeout,
        "execution_timeout": operator.execution_timeout,
    }
