"""Quality gate arithmetic, the new kinds' statuses and their triggers' serialization."""

from __future__ import annotations

import pytest

from airflow_provider_dataframer.kinds import ANONYMIZATION, EVALUATION, RED_TEAM_RUN, RESOURCE_KINDS
from airflow_provider_dataframer.models import AnonymizationStatus, Evaluation, RedTeamRunStatus
from airflow_provider_dataframer.operators.evaluation import QualityGate, evaluation_summary
from airflow_provider_dataframer.status import Phase
from airflow_provider_dataframer.triggers.anonymization import AnonymizationStatusTrigger
from airflow_provider_dataframer.triggers.evaluation import EvaluationStatusTrigger
from airflow_provider_dataframer.triggers.red_team import RedTeamRunStatusTrigger
from airflow_provider_dataframer.wording import describe, failure_message

EVALUATION_BODY = {
    "id": "e1",
    "run_id": "r1",
    "status": "SUCCEEDED",
    "distribution_analysis": [
        {
            "property_name": "plan",
            "expected_distributions": {"basic": 50.0, "pro": 50.0},
            "evaluated_distributions": {"basic": 80.0, "pro": 20.0},
            "total_samples": 10,
            "total_samples_analyzed": 10,
        },
        {
            "property_name": "channel",
            "expected_distributions": {"email": 50.0, "chat": 50.0},
            "evaluated_distributions": {"email": 55.0, "chat": 45.0},
            "total_samples": 10,
            "total_samples_analyzed": 7,
        },
    ],
}


def test_gate_lists_every_number_that_missed() -> None:
    evaluation = Evaluation.model_validate(EVALUATION_BODY)
    gate = QualityGate(
        max_deviation=10, min_analyzed_ratio=0.8, property_max_deviation={"channel": 3, "tone": 5}
    )
    assert gate.failures(evaluation) == [
        "property 'tone': not in the evaluation (properties: ['channel', 'plan'])",
        "property 'plan': deviation 30 pp > 10 pp ('basic' came out at 80 %, expected 50 %)",
        "property 'channel': deviation 5 pp > 3 pp ('chat' came out at 45 %, expected 50 %)",
        "property 'channel': 7 of 10 samples classified (70%) < 80%",
    ]
    summary = evaluation_summary(evaluation, QualityGate(max_deviation=30))
    assert summary["gate"] == {"checked": True, "passed": True, "failures": []}
    assert [p["max_deviation"] for p in summary["properties"]] == [30.0, 5.0]
    assert not QualityGate().enabled


def test_new_kinds_read_their_failures_and_paths() -> None:
    failed = Evaluation.model_validate({"id": "e", "status": "FAILED", "error_message": "model down"})
    assert failure_message(EVALUATION.name, failed) == "Dataframer evaluation e ended FAILED: model down"
    anonymization = AnonymizationStatus.model_validate(
        {"id": "a", "status": "FAILED", "results": {"error": "bad file"}}
    )
    assert "bad file" in failure_message(ANONYMIZATION.name, anonymization)
    red = RedTeamRunStatus.model_validate(
        {"id": "x", "status": "PROCESSING", "number_of_behaviors": 2, "number_of_prompts_per_behavior": 3}
    )
    assert (
        describe(RED_TEAM_RUN.name, red)
        == "Dataframer red-team run x is PROCESSING (2 behaviors x 3 prompts)"
    )
    assert RED_TEAM_RUN.item_path("x") == "/api/dataframer/red-team-runs/x/status/"
    assert RED_TEAM_RUN.phase("CANCELED") is Phase.FAILED
    assert {kind.name for kind in (EVALUATION, ANONYMIZATION, RED_TEAM_RUN)} <= set(RESOURCE_KINDS)


@pytest.mark.parametrize(
    ("trigger_class", "id_field"),
    [
        (EvaluationStatusTrigger, "evaluation_id"),
        (AnonymizationStatusTrigger, "anonymization_run_id"),
        (RedTeamRunStatusTrigger, "red_team_run_id"),
    ],
)
def test_triggers_serialize_to_their_own_class(trigger_class: type, id_field: str) -> None:
    trigger = trigger_class(**{id_field: "abc"}, poll_interval=5, deadline=123.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == f"{trigger_class.__module__}.{trigger_class.__qualname__}"
    assert kwargs == {
        id_field: "abc",
        "dataframer_conn_id": "dataframer_default",
        "poll_interval": 5.0,
        "deadline": 123.0,
    }
    assert trigger_class(**kwargs).serialize() == (classpath, kwargs)
