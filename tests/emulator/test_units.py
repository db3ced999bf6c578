"""Pure pieces without HTTP: lifecycle arithmetic, seed profiling, generation determinism."""

from __future__ import annotations

import pytest

from dataframer_emulator.generator import (
    SeedMaterial,
    SpecOptions,
    build_spec_yaml,
    generate_files,
    merge_spec_yaml,
)
from dataframer_emulator.lifecycle import run_progress, spec_status
from dataframer_emulator.profiles import keywords, profile_column
from dataframer_emulator.records import RunRecord, SpecRecord
from dataframer_emulator.seeds import Upload


def _run(**fields) -> RunRecord:
    defaults = {
        "id": "r",
        "spec_id": "s",
        "spec_name": "n",
        "spec_version": 1,
        "number_of_samples": 100,
        "created_at": 0.0,
        "started_at": 10.0,
        "finishes_at": 20.0,
        "cost_per_sample": 0.002,
        "created_by_email": "e",
    }
    return RunRecord(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (5.0, ("PENDING", 0, 0, None)),
        (10.0, ("PROCESSING", 0, 0, None)),
        (15.0, ("PROCESSING", 50, 0, None)),
        (19.99, ("PROCESSING", 99, 0, None)),
        (20.0, ("SUCCEEDED", 100, 0, 20.0)),
        (1e9, ("SUCCEEDED", 100, 0, 20.0)),
    ],
)
def test_run_progress_over_time(now, expected):
    progress = run_progress(_run(), now)
    assert (
        progress.status,
        progress.samples_completed,
        progress.samples_failed,
        progress.completed_at,
    ) == expected


def test_run_progress_with_failures_and_cancel():
    partial = run_progress(_run(planned_failed=10), 15.0)
    assert (partial.samples_completed, partial.samples_failed) == (45, 5)
    failed = run_progress(_run(outcome="FAILED", error="boom"), 25.0)
    assert (failed.status, failed.samples_completed, failed.samples_failed) == ("FAILED", 50, 50)
    canceled = run_progress(_run(canceled_at=12.0), 30.0)
    assert (canceled.status, canceled.samples_completed, canceled.completed_at) == ("CANCELED", 20, 12.0)
    assert canceled.terminal


def test_run_without_processing_time_finishes_at_start():
    assert run_progress(_run(finishes_at=10.0), 10.0).status == "SUCCEEDED"


def test_spec_status():
    spec = SpecRecord(id="s", name="n", created_at=0.0, ready_at=3.0, created_by_email="e")
    assert spec_status(spec, 2.9) == "PROCESSING"
    assert spec_status(spec, 3.0) == "SUCCEEDED"
    assert spec_status(spec.model_copy(update={"error": "x"}), 3.0) == "FAILED"


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1", "2", "3"], "integer"),
        ([1, 2.5, "3"], "number"),
        (["a", "b", "a", "b", "c"], "category"),
        ([True, False, True], "category"),
        ([f"name {i}" for i in range(30)], "text"),
        (["", None], "text"),
    ],
)
def test_profile_column_kinds(values, kind):
    assert profile_column("c", values).kind == kind


def test_keywords_skip_stopwords():
    assert keywords("Generate samples about routers and routers with firmware") == ["routers", "firmware"]


def _options(**fields) -> SpecOptions:
    return SpecOptions(
        **{
            "spec_id": "s",
            "name": "n",
            "model": "a/b",
            "dataset_name": "d",
            "generation_objectives": None,
            **fields,
        }
    )


def test_generation_is_deterministic_per_run():
    seed = SeedMaterial("SINGLE_FILE", [Upload("t.csv", b"k,v\na,1\nb,2\na,3\n")])
    content = build_spec_yaml(_options(), seed)
    first = generate_files("run-1", content, seed, 50)
    assert first == generate_files("run-1", content, seed, 50)
    assert first != generate_files("run-2", content, seed, 50)


def test_merge_keeps_metadata():
    current = build_spec_yaml(_options(generation_objectives="o", dataset_name=None), None)
    merged = merge_spec_yaml(current, "metadata: {spec_name: other}\nspec: {description: new}\n")
    assert "spec_name: n" in merged
    assert "description: new" in merged
