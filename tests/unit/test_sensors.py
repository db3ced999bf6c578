from __future__ import annotations

import time
from typing import Any
from unittest import mock

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import AirflowSensorTimeout, PokeReturnValue, TaskDeferred

from airflow_provider_dataframer.exceptions import DataframerValidationError, DataframerWaitError
from airflow_provider_dataframer.links import DataframerRunLink, DataframerSpecLink
from airflow_provider_dataframer.sensors.run import RunStatusSensor
from airflow_provider_dataframer.sensors.spec import SpecStatusSensor
from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger
from tests.conftest import TEST_BASE_URL

SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
SPEC_URL = f"{TEST_BASE_URL}/api/dataframer/specs/{SPEC_ID}/"
RUN_URL = f"{TEST_BASE_URL}/api/dataframer/runs/{RUN_ID}/"


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


def spec_sensor(**kwargs: Any) -> SpecStatusSensor:
    return SpecStatusSensor(task_id="wait_spec", spec_id=SPEC_ID, poke_interval=0.01, **kwargs)


def run_sensor(**kwargs: Any) -> RunStatusSensor:
    kwargs.setdefault("run_id", RUN_ID)
    kwargs.setdefault("poke_interval", 0.01)
    return RunStatusSensor(task_id="wait_run", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"poke_interval": 0}, "poke_interval"), ({"timeout": float("inf")}, "timeout")],
)
def test_a_deferred_sensor_needs_a_real_interval_and_timeout(kwargs: dict[str, Any], field: str) -> None:
    """poke_interval=0 would poll in a tight loop in the triggerer; timeout=inf has no deadline."""
    with pytest.raises(DataframerValidationError, match=f"{field} must be a positive number of seconds"):
        SpecStatusSensor(task_id="wait_spec", spec_id=SPEC_ID, deferrable=True, **kwargs)


def test_a_poking_sensor_leaves_poke_interval_to_airflow() -> None:
    assert SpecStatusSensor(task_id="wait_spec", spec_id=SPEC_ID, poke_interval=0).poke_interval == 0


def test_links_and_template_fields() -> None:
    assert SpecStatusSensor.template_fields == ("spec_id",)
    assert RunStatusSensor.template_fields == ("run_id",)
    assert isinstance(SpecStatusSensor.operator_extra_links[0], DataframerSpecLink)
    assert isinstance(RunStatusSensor.operator_extra_links[0], DataframerRunLink)


@respx.mock
def test_poke_is_false_while_working_and_true_with_the_id_on_success() -> None:
    get = respx.get(SPEC_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": SPEC_ID, "status": "PROCESSING"}),
            httpx.Response(503, json={"detail": "busy"}),  # a transient error: poke again later
            httpx.Response(200, json={"id": SPEC_ID, "status": "READY"}),
        ]
    )
    sensor = spec_sensor()
    ctx = context()
    assert sensor.poke(ctx) is False
    assert sensor.poke(ctx) is False
    assert get.call_count == 2, "a poke is one attempt, as a poll of the trigger: no retry inside it"
    done = sensor.poke(ctx)
    assert isinstance(done, PokeReturnValue) and done.is_done and done.xcom_value == SPEC_ID
    ctx["ti"].xcom_push.assert_called_once_with(key="spec_id", value=SPEC_ID)


@respx.mock
def test_failed_spec_raises_the_server_message() -> None:
    respx.get(SPEC_URL).respond(json={"id": SPEC_ID, "status": "FAILED", "error": "seed has one row"})
    with pytest.raises(DataframerWaitError, match="ended FAILED: seed has one row"):
        spec_sensor().poke(context())


@respx.mock
def test_deleted_spec_ends_the_wait() -> None:
    respx.get(SPEC_URL).respond(404, json={"detail": "Not found."})
    with pytest.raises(DataframerWaitError, match="no longer exists"):
        spec_sensor().poke(context())


@respx.mock
def test_run_sensor_returns_the_summary_and_reports_partial_failure(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    respx.get(RUN_URL).respond(
        json={
            "id": RUN_ID,
            "status": "SUCCEEDED",
            "samples_completed": 9,
            "samples_failed": 1,
            "total_cost": 0.5,
        }
    )
    summary = {"run_id": RUN_ID, "status": "PENDING"}  # create_run.output, not waited for
    done = run_sensor(run_id=summary).poke(context())
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value["samples_failed"] == 1 and done.xcom_value["run_id"] == RUN_ID
    assert "Partial failure" in caplog.text + capsys.readouterr().out


@respx.mock
def test_canceled_run_fails_the_sensor_and_is_not_canceled_again() -> None:
    respx.get(RUN_URL).respond(json={"id": RUN_ID, "status": "CANCELED"})
    cancel = respx.post(f"{RUN_URL}cancel/")
    sensor = run_sensor()
    with pytest.raises(DataframerWaitError, match="ended CANCELED"):
        sensor.poke(context())
    sensor.on_kill()
    assert not cancel.called


@respx.mock
def test_blocking_execute_pokes_until_done() -> None:
    respx.get(RUN_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": RUN_ID, "status": "PENDING"}),
            httpx.Response(200, json={"id": RUN_ID, "status": "SUCCEEDED", "samples_completed": 2}),
        ]
    )
    result = run_sensor(deferrable=False).execute(context())
    assert result["status"] == "SUCCEEDED" and result["samples_completed"] == 2


@respx.mock
def test_deferrable_checks_once_then_defers_with_an_absolute_deadline() -> None:
    get = respx.get(RUN_URL).respond(json={"id": RUN_ID, "status": "PROCESSING"})
    before = time.time()
    with pytest.raises(TaskDeferred) as excinfo:
        run_sensor(deferrable=True, timeout=600, poke_interval=7).execute(context())
    trigger = excinfo.value.trigger
    assert isinstance(trigger, RunStatusTrigger) and not trigger.cancel_on_kill
    assert trigger.poll_interval == 7 and before + 600 <= trigger.deadline <= time.time() + 600
    assert get.call_count == 1


@respx.mock
def test_deferrable_finishes_at_once_when_already_done() -> None:
    respx.get(SPEC_URL).respond(json={"id": SPEC_ID, "status": "SUCCEEDED"})
    assert spec_sensor(deferrable=True).execute(context()) == SPEC_ID


@respx.mock
def test_deferrable_spec_sensor_uses_the_spec_trigger() -> None:
    respx.get(SPEC_URL).respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    with pytest.raises(TaskDeferred) as excinfo:
        spec_sensor(deferrable=True).execute(context())
    assert isinstance(excinfo.value.trigger, SpecStatusTrigger)


def test_execute_complete_of_both_sensors() -> None:
    event = {
        "status": "success",
        "kind": "run",
        "id": RUN_ID,
        "message": "ok",
        "resource_status": "SUCCEEDED",
        "resource": {"id": RUN_ID, "status": "SUCCEEDED", "samples_completed": 1},
    }
    assert run_sensor().execute_complete(context(), event)["samples_completed"] == 1
    # A deferred sensor's timeout is the sensor timeout Airflow does not retry, as when poking.
    with pytest.raises(AirflowSensorTimeout, match="Timed out"):
        spec_sensor().execute_complete(
            context(), {**event, "kind": "spec", "status": "timeout", "message": "Timed out"}
        )
    with pytest.raises(DataframerWaitError, match="ended FAILED"):
        spec_sensor().execute_complete(
            context(), {**event, "kind": "spec", "status": "failed", "message": "spec s ended FAILED: x"}
        )


def test_unrendered_id_is_refused() -> None:
    with pytest.raises(DataframerValidationError, match="spec_id must be a spec id"):
        SpecStatusSensor(task_id="s", spec_id="").poke(context())
