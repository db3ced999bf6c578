"""The sensors of the platform kinds: evaluations, anonymization runs and red-team runs (respx)."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import PokeReturnValue, TaskDeferred

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.links import (
    DataframerAnonymizationLink,
    DataframerEvaluationLink,
    DataframerRedTeamRunLink,
)
from airflow_provider_dataframer.operators.evaluation import DataframerQualityGateError
from airflow_provider_dataframer.sensors.anonymization import AnonymizationStatusSensor
from airflow_provider_dataframer.sensors.evaluation import EvaluationStatusSensor
from airflow_provider_dataframer.sensors.red_team import RedTeamRunStatusSensor
from airflow_provider_dataframer.triggers.anonymization import AnonymizationStatusTrigger
from airflow_provider_dataframer.triggers.evaluation import EvaluationStatusTrigger
from airflow_provider_dataframer.triggers.red_team import RedTeamRunStatusTrigger
from airflow_provider_dataframer.waiting import DataframerWaitError
from tests.conftest import TEST_BASE_URL

EVALUATION_ID = "0c1f3d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f"
ANONYMIZATION_ID = "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"
RED_TEAM_RUN_ID = "2e3f4a5b-6c7d-4e8f-90a1-b2c3d4e5f6a7"
RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
API = f"{TEST_BASE_URL}/api/dataframer"
EVALUATION_URL = f"{API}/evaluations/{EVALUATION_ID}/"
ANONYMIZATION_URL = f"{API}/anonymization-runs/{ANONYMIZATION_ID}/"
RED_TEAM_STATUS_URL = f"{API}/red-team-runs/{RED_TEAM_RUN_ID}/status/"
RED_TEAM_URL = f"{API}/red-team-runs/{RED_TEAM_RUN_ID}/"

EVALUATED = {
    "id": EVALUATION_ID,
    "run_id": RUN_ID,
    "status": "SUCCEEDED",
    "distribution_analysis": [
        {
            "property_name": "plan",
            "expected_distributions": {"basic": 50.0, "pro": 50.0},
            "evaluated_distributions": {"basic": 80.0, "pro": 20.0},
            "total_samples": 10,
            "total_samples_analyzed": 10,
        }
    ],
}


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


def test_template_fields_links_and_triggers() -> None:
    assert EvaluationStatusSensor.template_fields == ("evaluation_id",)
    assert AnonymizationStatusSensor.template_fields == ("anonymization_run_id",)
    assert RedTeamRunStatusSensor.template_fields == ("red_team_run_id",)
    assert isinstance(EvaluationStatusSensor.operator_extra_links[0], DataframerEvaluationLink)
    assert isinstance(AnonymizationStatusSensor.operator_extra_links[0], DataframerAnonymizationLink)
    assert isinstance(RedTeamRunStatusSensor.operator_extra_links[0], DataframerRedTeamRunLink)
    assert EvaluationStatusSensor.trigger_class() is EvaluationStatusTrigger
    assert AnonymizationStatusSensor.trigger_class() is AnonymizationStatusTrigger
    assert RedTeamRunStatusSensor.trigger_class() is RedTeamRunStatusTrigger


@respx.mock
def test_ids_are_checked_before_any_request() -> None:
    with pytest.raises(DataframerValidationError, match="evaluation_id must be a UUID"):
        EvaluationStatusSensor(task_id="e", evaluation_id="eval-1")
    with pytest.raises(DataframerValidationError, match="anonymization_run_id must be a UUID"):
        AnonymizationStatusSensor(task_id="a", anonymization_run_id="../runs")
    with pytest.raises(DataframerValidationError, match="red_team_run_id must be a UUID"):
        RedTeamRunStatusSensor(task_id="r", red_team_run_id="x").poke(context())
    with pytest.raises(DataframerValidationError, match="max_deviation"):
        EvaluationStatusSensor(task_id="e", evaluation_id=EVALUATION_ID, max_deviation=-1)
    templated = EvaluationStatusSensor(task_id="e", evaluation_id="{{ ti.xcom_pull('x') }}")
    templated.evaluation_id = "not rendered to an id"
    with pytest.raises(DataframerValidationError, match="evaluation_id must be a UUID"):
        templated.poke(context())
    assert not respx.calls


@respx.mock
def test_evaluation_sensor_pokes_then_returns_the_summary() -> None:
    respx.get(EVALUATION_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": EVALUATION_ID, "status": "PROCESSING"}),
            httpx.Response(200, json=EVALUATED),  # the status poll
            httpx.Response(200, json=EVALUATED),  # the whole evaluation, read once at the end
        ]
    )
    sensor = EvaluationStatusSensor(task_id="e", evaluation_id={"evaluation_id": EVALUATION_ID})
    ctx = context()
    assert sensor.poke(ctx) is False
    done = sensor.poke(ctx)
    assert isinstance(done, PokeReturnValue) and done.is_done
    summary = done.xcom_value
    assert summary["evaluation_id"] == EVALUATION_ID and summary["run_id"] == RUN_ID
    assert summary["properties"][0]["max_deviation"] == 30.0
    assert summary["gate"] == {"checked": False, "passed": True, "failures": []}
    ctx["ti"].xcom_push.assert_called_once_with(key="evaluation_id", value=EVALUATION_ID)


@respx.mock
def test_evaluation_sensor_applies_the_gate() -> None:
    respx.get(EVALUATION_URL).respond(json=EVALUATED)
    sensor = EvaluationStatusSensor(task_id="e", evaluation_id=EVALUATION_ID, max_deviation=10)
    with pytest.raises(DataframerQualityGateError, match=r"property 'plan': deviation 30 pp > 10 pp"):
        sensor.poke(context())


@respx.mock
def test_failed_evaluation_fails_with_the_servers_message() -> None:
    respx.get(EVALUATION_URL).respond(
        json={"id": EVALUATION_ID, "status": "FAILED", "error_message": "judge unavailable"}
    )
    with pytest.raises(DataframerWaitError, match="judge unavailable"):
        EvaluationStatusSensor(task_id="e", evaluation_id=EVALUATION_ID).poke(context())


@respx.mock
def test_anonymization_sensor_returns_the_summary_and_fails_on_results_error() -> None:
    respx.get(ANONYMIZATION_URL).respond(
        json={
            "id": ANONYMIZATION_ID,
            "dataset_id": RUN_ID,
            "status": "SUCCEEDED",
            "results": {"entity_summary": {"email": 3}, "samples_processed": 4},
            "anonymized_files": [{"id": RUN_ID, "path": "crm.csv", "size_in_bytes": 120}],
        }
    )
    summary = AnonymizationStatusSensor(task_id="a", anonymization_run_id=ANONYMIZATION_ID).execute(context())
    assert summary["entity_summary"] == {"email": 3} and summary["masked_files"] == []
    assert summary["files"] == [{"id": RUN_ID, "path": "crm.csv", "size_in_bytes": 120}]
    respx.get(ANONYMIZATION_URL).respond(
        json={"id": ANONYMIZATION_ID, "status": "FAILED", "results": {"error": "unreadable file"}}
    )
    with pytest.raises(DataframerWaitError, match="unreadable file"):
        AnonymizationStatusSensor(task_id="a", anonymization_run_id=ANONYMIZATION_ID).poke(context())


@respx.mock
def test_red_team_sensor_polls_the_light_status_endpoint_then_reads_the_prompts_once() -> None:
    status = respx.get(RED_TEAM_STATUS_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": RED_TEAM_RUN_ID, "status": "PROCESSING"}),
            httpx.Response(200, json={"id": RED_TEAM_RUN_ID, "status": "SUCCEEDED"}),
        ]
    )
    whole = respx.get(RED_TEAM_URL).respond(
        json={
            "id": RED_TEAM_RUN_ID,
            "status": "SUCCEEDED",
            "results_json": {
                "behavior_to_enhanced_queries": {
                    "leaks balances": [{"query": "q", "adversarial_prompt": "p"}],
                }
            },
        }
    )
    sensor = RedTeamRunStatusSensor(task_id="r", red_team_run_id=RED_TEAM_RUN_ID, poke_interval=0.01)
    summary = sensor.execute(context())
    assert status.call_count == 2 and whole.call_count == 1
    assert summary["behaviors"] == 1
    assert summary["prompts"] == [{"behavior": "leaks balances", "query": "q", "adversarial_prompt": "p"}]


@respx.mock
def test_red_team_sensor_fails_on_a_canceled_run() -> None:
    respx.get(RED_TEAM_STATUS_URL).respond(json={"id": RED_TEAM_RUN_ID, "status": "CANCELED"})
    with pytest.raises(DataframerWaitError, match="ended CANCELED"):
        RedTeamRunStatusSensor(task_id="r", red_team_run_id=RED_TEAM_RUN_ID).poke(context())


@pytest.mark.parametrize(
    ("sensor", "url", "trigger_class", "id_field"),
    [
        (
            lambda: EvaluationStatusSensor(task_id="e", evaluation_id=EVALUATION_ID),
            EVALUATION_URL,
            EvaluationStatusTrigger,
            "evaluation_id",
        ),
        (
            lambda: AnonymizationStatusSensor(task_id="a", anonymization_run_id=ANONYMIZATION_ID),
            ANONYMIZATION_URL,
            AnonymizationStatusTrigger,
            "anonymization_run_id",
        ),
        (
            lambda: RedTeamRunStatusSensor(task_id="r", red_team_run_id=RED_TEAM_RUN_ID),
            RED_TEAM_STATUS_URL,
            RedTeamRunStatusTrigger,
            "red_team_run_id",
        ),
    ],
)
@respx.mock
def test_deferrable_checks_once_then_defers_with_an_absolute_deadline(
    sensor: Any, url: str, trigger_class: type, id_field: str
) -> None:
    get = respx.get(url).respond(json={"id": "x", "status": "PROCESSING"})
    built = sensor()
    built.deferrable, built.timeout, built.poke_interval = True, 600, 7
    before = time.time()
    with pytest.raises(TaskDeferred) as excinfo:
        built.execute(context())
    trigger = excinfo.value.trigger
    assert isinstance(trigger, trigger_class)
    assert trigger.poll_interval == 7 and before + 600 <= trigger.deadline <= time.time() + 600
    assert trigger.serialize()[1][id_field] == getattr(built, id_field)
    assert get.call_count == 1
