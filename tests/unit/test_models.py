from __future__ import annotations

import pytest

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.kinds import RUN, SPEC
from airflow_provider_dataframer.models import DATABRICKS_FIELDS, Run, Spec, SpecCreateRequest
from airflow_provider_dataframer.status import Phase
from airflow_provider_dataframer.wording import describe, failure_message

DATASET_ID = "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11"


def test_seeded_body_sends_documented_defaults_and_no_none() -> None:
    body = SpecCreateRequest.build(name="s", dataset_id=DATASET_ID).to_body()
    assert body == {
        "name": "s",
        "dataset_id": DATASET_ID,
        "generate_distributions": True,
        "generate_conditional_distributions": False,
        "extrapolate_values": True,
        "extrapolate_axes": False,
    }


def test_seedless_body_omits_extrapolate_flags() -> None:
    body = SpecCreateRequest.build(name="s", generation_objectives="support tickets").to_body()
    assert "extrapolate_values" not in body and "extrapolate_axes" not in body
    assert "dataset_id" not in body
    assert body["generation_objectives"] == "support tickets"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": ""}, "name: is required"),
        ({"name": "s"}, "generation_objectives is required for a seedless spec"),
        ({"name": "s", "generation_objectives": "   "}, "generation_objectives is required"),
        ({"name": "s", "dataset_id": "not-a-uuid"}, "dataset_id: must be a seed dataset UUID"),
        (
            {
                "name": "s",
                "dataset_id": DATASET_ID,
                "generate_distributions": False,
                "generate_conditional_distributions": True,
            },
            "generate_conditional_distributions=True requires generate_distributions=True",
        ),
        (
            {"name": "s", "generation_objectives": "x", "extrapolate_values": True},
            "extrapolate_values does not apply to a seedless spec",
        ),
        (
            {"name": "s", "generation_objectives": "x", "extrapolate_axes": True},
            "extrapolate_axes does not apply to a seedless spec",
        ),
        (
            {
                "name": "s",
                "generation_objectives": "x",
                "spec_generation_model_name": "databricks/databricks-gpt-5",
                "databricks_client_id": "id",
            },
            "databricks_client_id given without databricks_client_secret, databricks_api_base",
        ),
        (
            {"name": "s", "generation_objectives": "x", "spec_generation_model_name": "no slash"},
            "spec_generation_model_name: must look like 'provider/model'",
        ),
        ({"name": "s", "generation_objectives": "x", "colour": "red"}, "colour: Extra inputs"),
    ],
)
def test_validation_names_the_field_and_the_fix(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(DataframerValidationError, match="Invalid Dataframer spec") as excinfo:
        SpecCreateRequest.build(**fields)
    assert expected in str(excinfo.value)


def test_seedless_explicit_false_extrapolate_is_accepted_and_not_sent() -> None:
    body = SpecCreateRequest.build(name="s", generation_objectives="x", extrapolate_values=False).to_body()
    assert "extrapolate_values" not in body


def test_databricks_model_with_all_fields_is_valid_and_secret_not_in_errors() -> None:
    request = SpecCreateRequest.build(
        name="s",
        generation_objectives="x",
        spec_generation_model_name="databricks/databricks-gpt-5",
        databricks_client_id="cid",
        databricks_client_secret="super-secret-value",
        databricks_api_base="https://adb.example/serving-endpoints",
    )
    assert not set(DATABRICKS_FIELDS) & set(request.to_body()), "not in today's API: extra body fields"
    assert request.extra_body()["databricks_client_secret"] == "super-secret-value"
    with pytest.raises(DataframerValidationError) as excinfo:
        SpecCreateRequest.build(
            name="", generation_objectives="x", databricks_client_secret="super-secret-value"
        )
    assert "super-secret-value" not in str(excinfo.value)


@pytest.mark.parametrize(
    "model", ["databricks/system.ai.claude-sonnet-5-thinking", "databricks/databricks-gpt-5"]
)
def test_a_databricks_model_without_credentials_is_sent_and_the_server_decides(model: str) -> None:
    """Today's API (SDK 0.19.2) has no databricks credentials: never refuse a databricks model."""
    request = SpecCreateRequest.build(name="s", generation_objectives="x", spec_generation_model_name=model)
    assert request.to_body()["spec_generation_model_name"] == model
    assert request.extra_body() == {}


def test_no_model_is_sent_unless_one_is_named() -> None:
    body = SpecCreateRequest.build(name="s", generation_objectives="x").to_body()
    assert "spec_generation_model_name" not in body


def test_unknown_but_well_formed_model_is_accepted() -> None:
    request = SpecCreateRequest.build(
        name="s", generation_objectives="x", spec_generation_model_name="acme/m-9"
    )
    assert request.spec_generation_model_name == "acme/m-9"


def test_responses_ignore_unknown_fields_and_keep_unknown_status() -> None:
    spec = Spec.model_validate({"id": "1", "status": "QUEUED", "brand_new_field": [1, 2]})
    assert spec.status == "QUEUED"
    assert SPEC.phase(spec.status) is Phase.WORKING
    assert not SPEC.status.is_known("QUEUED")


@pytest.mark.parametrize(
    ("kind", "status", "phase"),
    [
        (SPEC, "SUCCEEDED", Phase.SUCCEEDED),
        (SPEC, "READY", Phase.SUCCEEDED),
        (SPEC, "FAILED", Phase.FAILED),
        (SPEC, "PROCESSING", Phase.WORKING),
        (SPEC, "", Phase.WORKING),
        (RUN, "PENDING", Phase.WORKING),
        (RUN, "IN_PROGRESS", Phase.WORKING),
        (RUN, "CANCELED", Phase.FAILED),
        (RUN, "succeeded", Phase.SUCCEEDED),
    ],
)
def test_status_phases(kind: object, status: str, phase: Phase) -> None:
    assert kind.phase(status) is phase  # type: ignore[attr-defined]


def test_run_progress_and_failure_message() -> None:
    run = Run.model_validate(
        {
            "id": "r1",
            "status": "FAILED",
            "error": "quota exceeded",
            "number_of_samples": 100,
            "samples_completed": 40,
            "samples_failed": 3,
            "total_cost": 0.5,
        }
    )
    assert (
        describe(RUN.name, run) == "Dataframer run r1 is FAILED (samples 40/100, 3 failed, cost so far $0.50)"
    )
    assert failure_message(RUN.name, run).startswith("Dataframer run r1 ended FAILED: quota exceeded")
