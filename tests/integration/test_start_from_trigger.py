"""A status sensor started in the triggerer, through Airflow's own DAG serialization, trigger
rendering and the emulator over HTTP (the scheduler and triggerer processes: tests/deployment)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from airflow_provider_dataframer.sensors.spec import SpecStatusSensor
from tests.integration.task_runner import rebuild_trigger, run_task, run_trigger

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not AIRFLOW_V_3_3_PLUS, reason="the triggerer renders a task's templates only on Airflow 3.3+"
    ),
]


def test_templated_spec_sensor_starts_in_the_triggerer_and_finishes(emulator: EmulatorServer) -> None:
    from airflow.sdk import DAG
    from airflow.serialization.decoders import smart_decode_trigger_kwargs
    from airflow.serialization.serialized_objects import DagSerialization

    spec_id = run_task(
        CreateSpecOperator(
            task_id="spec",
            name="started-elsewhere",
            generation_objectives="tickets",
            wait_for_completion=False,
        )
    ).result
    with DAG("start_from_trigger_sensor", schedule=None) as dag:
        SpecStatusSensor(
            task_id="wait_spec",
            spec_id="{{ params.spec_id }}",
            start_from_trigger=True,
            poke_interval=0.05,
            timeout=30,
        )

    # What the scheduler sees: the serialized task, with the trigger it creates from it.
    task: Any = DagSerialization.from_dict(DagSerialization.to_dict(dag)).get_task("wait_spec")
    assert task.start_from_trigger is True
    args = task.start_trigger_args
    assert args.trigger_cls == "airflow_provider_dataframer.triggers.spec.SpecStatusTrigger"
    kwargs = smart_decode_trigger_kwargs(args.trigger_kwargs)
    assert kwargs["spec_id"] == "{{ params.spec_id }}"

    # What the triggerer does: build the trigger, attach the task, render, run.
    trigger = rebuild_trigger(args.trigger_cls, kwargs)
    trigger.task_instance = SimpleNamespace(task=task, task_id=task.task_id)
    assert trigger.template_fields == ("spec_id",)
    trigger.render_template_fields(context={"params": {"spec_id": spec_id}})
    event = run_trigger(trigger)
    assert event["status"] == "success" and event["id"] == spec_id

    # A worker then only runs execute_complete: the spec id, and the id in XCom for the link.
    sensor = dag.get_task("wait_spec")
    ti = mock.MagicMock()
    assert sensor.execute_complete({"ti": ti}, event) == spec_id
    ti.xcom_push.assert_called_once_with(key="spec_id", value=spec_id)
