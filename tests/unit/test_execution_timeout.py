"""The deferred wait's deadline and ``execution_timeout`` (operators/base.py), for specs and runs."""

from __future__ import annotations

import importlib
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

import pytest
import respx
from airflow.providers.common.compat.sdk import AirflowTaskTimeout, TaskDeferred

from airflow_provider_dataframer.operators.base import EXECUTION_DEADLINE_KWARG, is_deferral_timeout
from airflow_provider_dataframer.operators.run import CreateRunOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.conftest import TEST_BASE_URL

SPECS_URL = f"{TEST_BASE_URL}/api/dataframer/specs/"
RUNS_URL = f"{TEST_BASE_URL}/api/dataframer/runs/"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"


def context(started_seconds_ago: float = 0.0) -> Any:
    start = datetime.now(timezone.utc) - timedelta(seconds=started_seconds_ago)
    return {"ti": mock.MagicMock(start_date=start)}


def run_operator(**kwargs: Any) -> CreateRunOperator:
    defaults: dict[str, Any] = {"task_id": "generate", "spec_id": SPEC_ID, "number_of_samples": 10}
    return CreateRunOperator(**{**defaults, "deferrable": True, "poll_interval": 1, **kwargs})


def spec_operator(**kwargs: Any) -> CreateSpecOperator:
    defaults: dict[str, Any] = {"task_id": "spec", "name": "notes", "generation_objectives": "Notes."}
    return CreateSpecOperator(**{**defaults, "deferrable": True, "poll_interval": 1, **kwargs})


def deferral(operator: Any, ctx: Any) -> TaskDeferred:
    with respx.mock:
        respx.get(RUNS_URL).respond(json=[])
        respx.post(RUNS_URL).respond(201, json={"id": RUN_ID, "spec_id": SPEC_ID, "status": "PENDING"})
        respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
        with pytest.raises(TaskDeferred) as excinfo:
            operator.execute(ctx)
    return excinfo.value


def timeout_event(kind: str, resource_id: str) -> dict[str, Any]:
    return {
        "status": "timeout",
        "kind": kind,
        "id": resource_id,
        "message": "Timed out waiting",
        "resource_status": "PROCESSING",
        "resource": None,
    }


def test_without_execution_timeout_the_deadline_is_the_operator_timeout() -> None:
    before = time.time()
    deferred = deferral(run_operator(timeout=600), context())
    assert before + 600 <= deferred.trigger.deadline <= time.time() + 600  # type: ignore[attr-defined]
    assert not deferred.kwargs, "an ordinary deferral resumes execute_complete with the event alone"
    assert deferred.method_name == "execute_complete"


@pytest.mark.parametrize("make", [run_operator, spec_operator])
def test_an_earlier_execution_timeout_counted_from_the_start_of_the_try_is_the_deadline(make: Any) -> None:
    ctx = context(started_seconds_ago=40)
    deferred = deferral(make(timeout=600, execution_timeout=timedelta(seconds=60)), ctx)
    expected = ctx["ti"].start_date.timestamp() + 60
    assert deferred.trigger.deadline == pytest.approx(expected)  # type: ignore[attr-defined]
    assert deferred.kwargs == {EXECUTION_DEADLINE_KWARG: pytest.approx(expected)}


def test_a_later_execution_timeout_leaves_the_operator_timeout_in_charge() -> None:
    deferred = deferral(run_operator(timeout=60, execution_timeout=timedelta(hours=2)), context())
    assert deferred.trigger.deadline <= time.time() + 60  # type: ignore[attr-defined]
    assert not deferred.kwargs


def test_a_wait_ended_by_execution_timeout_raises_the_task_timeout_with_a_clear_message() -> None:
    operator = run_operator(execution_timeout=timedelta(seconds=15))
    with pytest.raises(AirflowTaskTimeout) as excinfo:
        operator.resume_execution(
            "execute_complete",
            {"event": timeout_event("run", RUN_ID), EXECUTION_DEADLINE_KWARG: time.time()},
            context(),
        )
    assert str(excinfo.value) == (
        f"Timed out: the task's execution_timeout (0:00:15) passed while it was deferred, waiting for "
        f"Dataframer run {RUN_ID} (last status PROCESSING). The run is canceled (cancel_on_kill=True)."
    )
    assert operator.run_id == RUN_ID, "on_kill, which Airflow calls next, knows which run to cancel"


def test_a_spec_timeout_message_says_nothing_about_canceling() -> None:
    with pytest.raises(
        AirflowTaskTimeout, match=rf"waiting for Dataframer spec {SPEC_ID} \(last status PROCESSING\)\.$"
    ):
        spec_operator(execution_timeout=timedelta(seconds=15)).resume_execution(
            "execute_complete",
            {"event": timeout_event("spec", SPEC_ID), EXECUTION_DEADLINE_KWARG: time.time()},
            context(),
        )


def test_other_events_resume_execute_complete_without_the_deadline_keyword() -> None:
    operator = spec_operator(execution_timeout=timedelta(seconds=15))
    event = {**timeout_event("spec", SPEC_ID), "status": "success", "message": "SUCCEEDED"}
    result = operator.resume_execution(
        "execute_complete", {"event": event, EXECUTION_DEADLINE_KWARG: time.time()}, context()
    )
    assert result == SPEC_ID


def trigger_timeout_error() -> str:
    """What Airflow puts in ``next_kwargs["error"]`` when it ends a deferral at its timeout."""
    for module in ("airflow.sdk.bases.operator", "airflow.triggers.base", "airflow.models.baseoperator"):
        try:
            reason = getattr(importlib.import_module(module), "TriggerFailureReason", None)
        except ImportError:
            continue
        if reason is not None:
            return str(reason.TRIGGER_TIMEOUT.value)
    return "Trigger/execution timeout"  # older Airflow 2


def test_airflow_ending_the_deferral_at_execution_timeout_is_the_same_task_timeout() -> None:
    """Airflow 2 fails a deferral at execution_timeout itself: resumed with ``__fail__``."""
    operator = run_operator(execution_timeout=timedelta(seconds=15))
    ctx = context()
    ctx["ti"].xcom_pull.return_value = RUN_ID
    with pytest.raises(AirflowTaskTimeout, match=f"waiting for Dataframer run {RUN_ID}. The run is canceled"):
        operator.resume_execution("__fail__", {"error": trigger_timeout_error()}, ctx)
    ctx["ti"].xcom_pull.assert_called_once_with(task_ids="generate", key="run_id")
    assert operator.run_id == RUN_ID
    with pytest.raises(Exception) as airflows_own:  # without execution_timeout: Airflow's own error
        run_operator().resume_execution("__fail__", {"error": trigger_timeout_error()}, ctx)
    assert is_deferral_timeout(airflows_own.value), airflows_own.value
