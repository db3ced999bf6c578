from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.models import Run, RunCreateRequest
from airflow_provider_dataframer.run_results import partial_failure_message, run_summary

SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"


def test_minimal_body_sends_only_what_is_set() -> None:
    assert RunCreateRequest.build(spec_id=SPEC_ID, number_of_samples=10).to_body() == {
        "spec_id": SPEC_ID,
        "number_of_samples": 10,
    }


def test_every_documented_field_is_sent() -> None:
    fields: dict[str, Any] = {
        "spec_id": SPEC_ID,
        "number_of_samples": 20000,
        "spec_version": 2,
        "generation_model": "anthropic/claude-sonnet-4-6-thinking",
        "outline_model": "anthropic/claude-haiku-4-5",
        "revision_model": "anthropic/claude-haiku-4-5",
        "revision_types": ["consistency", "conformance"],
        "filtering_types": ["structural"],
        "max_revision_cycles": 3,
        "seed_shuffling_level": "field",
        "max_examples_in_prompt": 5,
        "unified_multifield": True,
        "skip_outline": False,
        "generation_thinking_budget": 4096,
        "outline_thinking_budget": 2048,
        "revision_thinking_budget": 1024,
        "tools": ["calculator"],
    }
    request = RunCreateRequest.build(**fields)
    assert request.to_body() == fields
    assert request.advice() == [
        "outline_thinking_budget only applies to a '-thinking' model, and outline_model is "
        "'anthropic/claude-haiku-4-5'.",
        "revision_thinking_budget only applies to a '-thinking' model, and revision_model is "
        "'anthropic/claude-haiku-4-5'.",
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"number_of_samples": 0}, "number_of_samples: must be between 1 and 20000, got 0"),
        ({"number_of_samples": 20001}, "number_of_samples: must be between 1 and 20000, got 20001"),
        ({"number_of_samples": True}, "number_of_samples: must be a whole number"),
        ({"number_of_samples": "ten"}, "number_of_samples"),
        ({"spec_id": "spec-1"}, "spec_id: must be a spec UUID, got 'spec-1'"),
        ({"spec_version": 0}, "spec_version: must be at least 1"),
        ({"max_revision_cycles": -1}, "max_revision_cycles: must be at least 1"),
        ({"generation_model": "claude"}, "generation_model: must look like 'provider/model'"),
        ({"revision_types": ["consistency", "consistency"]}, "revision_types: lists a name more than once"),
        ({"tools": [""]}, "tools: must be a list of non-empty names"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_invalid_fields_are_named_with_their_fix(fields: dict[str, Any], expected: str) -> None:
    base: dict[str, Any] = {"spec_id": SPEC_ID, "number_of_samples": 10}
    with pytest.raises(DataframerValidationError, match="Invalid Dataframer run") as excinfo:
        RunCreateRequest.build(**{**base, **fields})
    assert expected in str(excinfo.value)


def test_rendered_templates_are_accepted() -> None:
    request = RunCreateRequest.build(
        spec_id=SPEC_ID, number_of_samples="25", spec_version=" 3 ", revision_types="consistency, conformance"
    )
    assert request.number_of_samples == 25 and request.spec_version == 3
    assert request.revision_types == ["consistency", "conformance"]


def test_unknown_values_are_sent_with_advice() -> None:
    request = RunCreateRequest.build(
        spec_id=SPEC_ID,
        number_of_samples=5,
        generation_model="acme/next-model",
        revision_types=["polish"],
        seed_shuffling_level="chaos",
        max_revision_cycles=2,
    )
    body = request.to_body()
    assert body["generation_model"] == "acme/next-model" and body["revision_types"] == ["polish"]
    advice = "\n".join(request.advice())
    assert "generation_model 'acme/next-model' is not in the list" in advice
    assert "revision_types ['polish'] not among the documented" in advice
    assert "seed_shuffling_level 'chaos'" in advice
    assert "max_revision_cycles has no effect without revision_types" not in advice  # polish counts


def test_revision_settings_without_revisions_are_flagged() -> None:
    request = RunCreateRequest.build(
        spec_id=SPEC_ID,
        number_of_samples=5,
        revision_model="anthropic/claude-haiku-4-5",
        max_revision_cycles=2,
    )
    assert request.advice() == [
        "revision_model has no effect without revision_types or filtering_types.",
        "max_revision_cycles has no effect without revision_types or filtering_types.",
    ]


def test_summary_is_json_safe_and_partial_failure_is_reported() -> None:
    run = Run.model_validate(
        {
            "id": "r1",
            "status": "SUCCEEDED",
            "number_of_samples": 10,
            "samples_completed": 9,
            "samples_failed": 1,
            "total_cost": 0.02,
            "generated_files": [{"id": "f1", "path": "samples.jsonl", "file_type": "x", "size_bytes": 12}],
            "brand_new_field": {"ignored": True},
        }
    )
    assert run_summary(run) == {
        "run_id": "r1",
        "status": "SUCCEEDED",
        "samples_completed": 9,
        "samples_failed": 1,
        "total_cost": 0.02,
        "files": [{"id": "f1", "path": "samples.jsonl", "size_bytes": 12}],
    }
    assert partial_failure_message(run) == (
        "Partial failure: Dataframer run r1 succeeded with 9 samples completed and 1 failed of 10 requested."
    )
    assert partial_failure_message(run.model_copy(update={"samples_failed": 0})) is None
