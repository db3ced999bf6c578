"""Status sensors that start in the triggerer: what the scheduler is given, and what the trigger does."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.sensors.anonymization import AnonymizationStatusSensor
from airflow_provider_dataframer.sensors.evaluation import EvaluationStatusSensor
from airflow_provider_dataframer.sensors.red_team import RedTeamRunStatusSensor
from airflow_provider_dataframer.sensors.run import RunStatusSensor
from airflow_provider_dataframer.sensors.spec import SpecStatusSensor
from airflow_provider_dataframer.triggers.base import task_trigger_timeout
from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger

SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
SENSORS = [
    (SpecStatusSensor, "spec_id", "triggers.spec.SpecStatusTrigger"),
    (RunStatusSensor, "run_id", "triggers.run.RunStatusTrigger"),
    (EvaluationStatusSensor, "evaluation_id", "triggers.evaluation.EvaluationStatusTrigger"),
    (AnonymizationStatusSensor, "anonymization_run_id", "triggers.anonymization.AnonymizationStatusTrigger"),
    (RedTeamRunStatusSensor, "red_team_run_id", "triggers.red_team.RedTeamRunStatusTrigger"),
]


@pytest.mark.parametrize(("sensor_class", "id_field", "trigger_path"), SENSORS)
def test_each_status_sensor_hands_the_scheduler_its_trigger(
    sensor_class: Any, id_field: str, trigger_path: str
) -> None:
    sensor = sensor_class(
        task_id="wait",
        start_from_trigger=True,
        poke_interval=12,
        timeout=3600,
        dataframer_conn_id="df",
        **{id_field: SPEC_ID},
    )
    args = sensor.start_trigger_args
    assert sensor.start_from_trigger and sensor.deferrable, "start_from_trigger implies deferrable"
    assert args.trigger_cls == f"airflow_provider_dataframer.{trigger_path}"
    assert args.trigger_kwargs == {id_field: SPEC_ID, "dataframer_conn_id": "df", "poll_interval": 12.0}
    assert args.next_method == "execute_complete" and args.next_kwargs is None
    assert args.timeout == timedelta(hours=1)
    # The scheduler builds the trigger from these kwargs alone: they must make a trigger.
    trigger = sensor.trigger_class()(**args.trigger_kwargs)
    assert trigger.rendered_id() == SPEC_ID and trigger.poll_interval == 12.0


def test_off_by_default_and_no_start_trigger_args() -> None:
    sensor = SpecStatusSensor(task_id="wait", spec_id=SPEC_ID)
    assert not sensor.start_from_trigger and sensor.start_trigger_args is None


def test_a_literal_summary_gives_its_run_id() -> None:
    sensor = RunStatusSensor(
        task_id="wait", run_id={"run_id": RUN_ID, "status": "PENDING"}, start_from_trigger=True
    )
    assert sensor.start_trigger_args.trigger_kwargs["run_id"] == RUN_ID


def test_an_xcomarg_id_is_refused_with_the_template_to_use() -> None:
    xcom_arg = mock.MagicMock(spec=["resolve", "operator"])
    with pytest.raises(DataframerValidationError, match=r"run_id as an id or a Jinja template.*xcom_pull"):
        RunStatusSensor(task_id="wait", run_id=xcom_arg, start_from_trigger=True)


def test_a_templated_id_needs_airflow_3_3(monkeypatch: pytest.MonkeyPatch) -> None:
    template = "{{ ti.xcom_pull(task_ids='create_run')['run_id'] }}"
    monkeypatch.setattr("airflow_provider_dataframer.sensors.base.AIRFLOW_V_3_3_PLUS", False)
    with pytest.raises(DataframerValidationError, match=r"needs Airflow 3\.3 or later"):
        RunStatusSensor(task_id="wait", run_id=template, start_from_trigger=True)
    monkeypatch.setattr("airflow_provider_dataframer.sensors.base.AIRFLOW_V_3_3_PLUS", True)
    sensor = RunStatusSensor(task_id="wait", run_id=template, start_from_trigger=True)
    assert sensor.start_trigger_args.trigger_kwargs["run_id"] == template  # rendered by the triggerer


def test_a_worker_that_runs_it_anyway_checks_then_defers() -> None:
    """dag.test() and executors that ignore the flag run execute(): it waits as deferrable=True."""
    sensor = SpecStatusSensor(task_id="wait", spec_id=SPEC_ID, start_from_trigger=True, timeout=60)
    with (
        mock.patch.object(type(sensor), "_observe", return_value=None),
        pytest.raises(TaskDeferred) as deferred,
    ):
        sensor.execute({"ti": mock.MagicMock()})
    assert isinstance(deferred.value.trigger, SpecStatusTrigger)


def test_execute_complete_pushes_the_id_for_the_links_when_nothing_was_poked() -> None:
    sensor = SpecStatusSensor(task_id="wait", spec_id=SPEC_ID, start_from_trigger=True)
    ti = mock.MagicMock()
    event = {"status": "success", "kind": "spec", "id": SPEC_ID, "message": "ok", "resource": None}
    assert sensor.execute_complete({"ti": ti}, event) == SPEC_ID
    ti.xcom_push.assert_called_once_with(key="spec_id", value=SPEC_ID)


def test_the_trigger_takes_its_deadline_from_the_task_trigger_timeout() -> None:
    trigger = SpecStatusTrigger(SPEC_ID)  # as the scheduler makes it: no deadline
    ends = datetime(2030, 1, 1, tzinfo=timezone.utc)
    trigger.timeout_after = ends  # type: ignore[attr-defined]  # Airflow 3's triggerer sets it
    assert task_trigger_timeout(trigger) == ends.timestamp()
    trigger.timeout_after = None  # type: ignore[attr-defined]
    trigger.task_instance = mock.MagicMock(trigger_timeout=ends.replace(tzinfo=None))  # Airflow 2's row
    assert task_trigger_timeout(trigger) == ends.timestamp()
    trigger.task_instance = None  # type: ignore[assignment]
    assert task_trigger_timeout(trigger) is None


def test_a_given_deadline_wins_and_a_rendered_summary_gives_its_id() -> None:
    seen: dict[str, Any] = {}

    async def fake_wait(fetch: Any, watch: Any, poll_interval: float) -> dict[str, Any]:
        seen.update(id=watch.resource_id, deadline=watch.deadline)
        return {"status": "success", "id": watch.resource_id}

    trigger = RunStatusTrigger(RUN_ID, deadline=1234.0)
    trigger.timeout_after = datetime(2030, 1, 1, tzinfo=timezone.utc)  # type: ignore[attr-defined]
    trigger.run_id = {"run_id": RUN_ID, "status": "PENDING"}  # type: ignore[assignment]  # native rendering
    client = mock.MagicMock()
    client.__aenter__ = mock.AsyncMock(return_value=client)
    client.__aexit__ = mock.AsyncMock(return_value=None)
    with (
        mock.patch("airflow_provider_dataframer.triggers.shared_client.shared_client", return_value=client),
        mock.patch("airflow_provider_dataframer.waiting.wait_async", fake_wait),
    ):

        async def first() -> Any:
            async for event in trigger.run():
                return event

        asyncio.run(first())
    assert seen == {"id": RUN_ID, "deadline": 1234.0}
