"""Runs: validation, lifecycle, failure markers, cancel, list, generated files."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
import yaml


def _detail(response):
    return response.json()["detail"]


def _csv_rows(api, run):
    [generated] = run["generated_files"]
    content = api.server.service.generated_files(api.server.service._run(run["id"]))[0].content
    assert len(content) == generated["size_bytes"]
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_run_lifecycle(api_with):
    api = api_with(run_pending_seconds=0.3, run_seconds=0.8)
    spec = api.ready_spec()
    response = api.post(
        "/runs/", json={"spec_id": spec["id"], "number_of_samples": 40, "generation_model": "acme/m"}
    )
    assert response.status_code == 201
    assert set(response.json()) == {"id"}
    run_id = response.json()["id"]
    seen = []
    while True:
        run = api.get(f"/runs/{run_id}/").json()
        seen.append((run["status"], run["samples_completed"], run["total_cost"]))
        if run["status"] == "SUCCEEDED":
            break
        assert run["status"] in {"PENDING", "PROCESSING"}
        assert run["generated_files"] is None  # "populated when run completes"
        assert run["completed_at"] is None
        time.sleep(0.02)
    statuses = [s for s, _, _ in seen]
    assert statuses[0] == "PENDING"
    assert "PROCESSING" in statuses
    completed = [c for _, c, _ in seen]
    assert completed == sorted(completed)
    assert any(0 < c < 40 for c in completed), completed  # samples rise while PROCESSING
    costs = [c for _, _, c in seen]
    assert costs == sorted(costs)
    assert run["samples_completed"] == 40
    assert run["samples_failed"] == 0
    assert run["total_cost"] == pytest.approx(0.08)
    assert run["completed_at"] > run["created_at"]
    assert "error" not in run and "number_of_samples" not in run
    assert run["spec_id"] == spec["id"]
    assert run["spec_name"] == spec["name"]
    assert run["spec_version"] == 1
    assert run["dataset_id"] == spec["dataset_id"]
    assert run["runtime_params"] == {"number_of_samples": 40, "generation_model": "acme/m"}
    [generated] = run["generated_files"]
    assert generated["path"] == "generated_samples.csv"
    assert generated["file_type"] == "text/csv"
    assert generated["size_bytes"] > 0
    assert generated["id"]


def test_generated_csv_is_shaped_like_the_seed(api):
    spec = api.ready_spec()
    run = api.wait_run(api.create_run(spec["id"], 60))
    rows = _csv_rows(api, run)
    assert len(rows) == 60
    assert list(rows[0]) == api.SEED_COLUMNS
    assert {r["region"] for r in rows} <= {"north", "south", "east"}
    assert {r["plan"] for r in rows} <= {"basic", "pro", "enterprise"}
    assert all(17.8 <= float(r["monthly_spend"]) <= 120.0 for r in rows)
    assert all(2018 <= int(r["signup_year"]) <= 2023 for r in rows)
    assert len({r["region"] for r in rows}) > 1


def test_runs_follow_the_spec_version(api):
    spec = api.ready_spec()
    edited = yaml.safe_load(spec["content_yaml"])
    for variation in edited["spec"]["data_property_variations"]:
        if variation["property_name"] == "region":
            variation["base_probabilities"] = {"north": 0, "south": 0, "east": 1}
    assert (
        api.http.put(f"/specs/{spec['id']}/", json={"content_yaml": yaml.safe_dump(edited)}).status_code
        == 200
    )
    latest = api.wait_run(api.create_run(spec["id"], 30))
    assert latest["spec_version"] == 2
    assert {r["region"] for r in _csv_rows(api, latest)} == {"east"}
    first = api.wait_run(api.create_run(spec["id"], 30, spec_version=1))
    assert first["spec_version"] == 1
    assert len({r["region"] for r in _csv_rows(api, first)}) > 1


def test_unknown_spec_version_is_400(api):
    spec = api.ready_spec()
    response = api.post("/runs/", json={"spec_id": spec["id"], "number_of_samples": 1, "spec_version": 3})
    assert response.status_code == 400
    assert "spec_version 3 does not exist" in _detail(response)


def test_run_needs_a_succeeded_spec(api_with):
    api = api_with()
    failed = api.wait_spec(api.create_spec(name="bad [fail]", generation_objectives="o"))
    response = api.post("/runs/", json={"spec_id": failed["id"], "number_of_samples": 1})
    assert response.status_code == 400
    assert "status is FAILED" in _detail(response)
    api.server.config.spec_seconds = 30  # the next spec stays PROCESSING
    processing = api.create_spec(name="slow", generation_objectives="o")
    response = api.post("/runs/", json={"spec_id": processing, "number_of_samples": 1})
    assert response.status_code == 400
    assert "status is PROCESSING" in _detail(response)


@pytest.mark.parametrize("samples", [0, -1, 20001])
def test_number_of_samples_range(api, samples):
    spec = api.ready_spec()
    response = api.post("/runs/", json={"spec_id": spec["id"], "number_of_samples": samples})
    assert response.status_code == 400
    assert "number_of_samples must be between 1 and 20000" in _detail(response)


def test_number_of_samples_bounds_are_accepted(api):
    spec = api.ready_spec()
    for samples in (1, 20000):
        assert (
            api.post("/runs/", json={"spec_id": spec["id"], "number_of_samples": samples}).status_code == 201
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number_of_samples": "5"}, "number_of_samples"),
        ({"number_of_samples": 5, "spec_id": None}, "spec_id"),
        ({"number_of_samples": 5, "max_revision_cycles": "3"}, "max_revision_cycles"),
        ({"number_of_samples": 5, "revision_types": ["polish"]}, "revision_types"),
        ({"number_of_samples": 5, "seed_shuffling_level": "all"}, "seed_shuffling_level"),
    ],
)
def test_malformed_run_body_is_422(api, body, field):
    response = api.post("/runs/", json={"spec_id": "x", **body})
    assert response.status_code == 422
    assert _detail(response).startswith(field)


def test_unknown_spec_and_run_are_404(api):
    response = api.post("/runs/", json={"spec_id": "nope", "number_of_samples": 1})
    assert response.status_code == 404
    assert response.json() == {"detail": "Spec 'nope' not found."}
    assert api.get("/runs/nope/").json() == {"detail": "Run 'nope' not found."}
    assert api.post("/runs/nope/cancel/").status_code == 404


def test_fail_run_marker(api):
    spec = api.ready_spec(name="flaky [fail-run]")
    run = api.wait_run(api.create_run(spec["id"], 10))
    assert run["status"] == "FAILED"
    assert "error" not in run  # today's runs have none: the counters tell the failure
    assert run["samples_completed"] == 5
    assert run["samples_failed"] == 5
    assert run["generated_files"] is None
    assert run["completed_at"] is not None


def test_partial_marker(api):
    spec = api.ready_spec(name="lossy [partial]")
    run = api.wait_run(api.create_run(spec["id"], 30))
    assert run["status"] == "SUCCEEDED"
    assert run["samples_failed"] == 3
    assert run["samples_completed"] == 27
    assert run["total_cost"] == pytest.approx(0.06)
    assert len(_csv_rows(api, run)) == 27


def test_cancel_pending_run(api_with):
    api = api_with(run_pending_seconds=30)
    spec = api.ready_spec()
    run_id = api.create_run(spec["id"], 10)
    response = api.post(f"/runs/{run_id}/cancel/")
    assert response.status_code == 204
    assert response.content == b""
    run = api.get(f"/runs/{run_id}/").json()
    assert run["status"] == "CANCELED"
    assert run["samples_completed"] == 0
    assert run["total_cost"] == 0
    assert run["generated_files"] is None
    assert run["completed_at"] is not None
    again = api.post(f"/runs/{run_id}/cancel/")
    assert again.status_code == 400
    assert "already CANCELED" in _detail(again)


def test_cancel_while_processing_keeps_progress(api_with):
    api = api_with(run_pending_seconds=0, run_seconds=1.0)
    spec = api.ready_spec()
    run_id = api.create_run(spec["id"], 100)
    time.sleep(0.3)
    assert api.post(f"/runs/{run_id}/cancel/").status_code == 204
    canceled = api.get(f"/runs/{run_id}/").json()
    assert canceled["status"] == "CANCELED"
    assert 0 < canceled["samples_completed"] < 100
    assert canceled["total_cost"] > 0
    time.sleep(0.2)
    assert api.get(f"/runs/{run_id}/").json()["samples_completed"] == canceled["samples_completed"]


def test_cancel_finished_run_is_refused(api):
    spec = api.ready_spec()
    run = api.wait_run(api.create_run(spec["id"], 1))
    response = api.post(f"/runs/{run['id']}/cancel/")
    assert response.status_code == 400
    assert "already SUCCEEDED" in _detail(response)


def test_list_runs(api):
    spec = api.ready_spec()
    first = api.create_run(spec["id"], 1)
    second = api.create_run(spec["id"], 2)
    third = api.create_run(spec["id"], 3)
    listed = api.get("/runs/").json()
    assert [r["id"] for r in listed] == [third, second, first]  # newest first
    assert "generated_files" not in listed[0] and "runtime_params" not in listed[0]
    assert "number_of_samples" not in listed[0]


def test_delete_run(api):
    spec = api.ready_spec()
    run_id = api.create_run(spec["id"], 1)
    assert api.http.delete(f"/runs/{run_id}/").status_code == 204
    assert api.get(f"/runs/{run_id}/").status_code == 404


def test_in_progress_variant(api_with):
    api = api_with(run_processing_status="IN_PROGRESS", run_pending_seconds=0, run_seconds=0.6)
    spec = api.ready_spec()
    run_id = api.create_run(spec["id"], 5)
    assert api.get(f"/runs/{run_id}/").json()["status"] == "IN_PROGRESS"
    assert api.wait_run(run_id)["status"] == "SUCCEEDED"


def test_jsonl_seed_generates_jsonl_records(api):
    records = [{"question": f"q{i}", "answer": f"a{i}", "score": i % 3} for i in range(6)]
    jsonl = "".join(json.dumps(r) + "\n" for r in records).encode()
    spec = api.ready_spec(dataset_id=api.dataset(name="qa", files=[("qa.jsonl", jsonl)])["id"])
    run = api.wait_run(api.create_run(spec["id"], 8))
    [generated] = run["generated_files"]
    assert generated["path"] == "generated_samples.jsonl"
    content = api.server.service.generated_files(api.server.service._run(run["id"]))[0].content.decode()
    lines = [json.loads(line) for line in content.splitlines()]
    assert len(lines) == 8
    assert all(set(line) == {"question", "answer", "score"} for line in lines)
    assert all(line["question"] in {f"q{i}" for i in range(6)} for line in lines)
    assert all(isinstance(line["score"], int) and 0 <= line["score"] <= 2 for line in lines)


def test_multi_file_seed_generates_one_document_per_sample(api):
    files = [
        ("a.md", b"# Invoice\n\nTotal due: 40 EUR\nPay within 30 days\n"),
        ("b.md", b"# Receipt\n\nPaid: 12 EUR\n"),
    ]
    dataset = api.dataset(name="docs", dataset_type="MULTI_FILE", files=files)
    spec = api.ready_spec(dataset_id=dataset["id"])
    run = api.wait_run(api.create_run(spec["id"], 4))
    assert [f["path"] for f in run["generated_files"]] == [f"sample_0000{i}.md" for i in range(1, 5)]
    assert {f["file_type"] for f in run["generated_files"]} == {"text/markdown"}


def test_multi_folder_seed_generates_folders(api):
    files = [("summary.txt", b"Summary line\n"), ("details.txt", b"Detail line\n")] * 2
    dataset = api.dataset(
        name="folders", dataset_type="MULTI_FOLDER", files=files, folder_names=["x", "x", "y", "y"]
    )
    spec = api.ready_spec(dataset_id=dataset["id"])
    run = api.wait_run(api.create_run(spec["id"], 2))
    paths = [f["path"] for f in run["generated_files"]]
    assert paths == [
        "sample_00001/summary.txt",
        "sample_00001/details.txt",
        "sample_00002/summary.txt",
        "sample_00002/details.txt",
    ]


def test_seedless_runs_generate_text_files(api):
    spec_id = api.create_spec(name="emails", generation_objectives="Polite emails about late deliveries")
    api.wait_spec(spec_id)
    run = api.wait_run(api.create_run(spec_id, 3))
    assert [f["path"] for f in run["generated_files"]] == [
        "sample_00001.txt",
        "sample_00002.txt",
        "sample_00003.txt",
    ]
    assert {f["file_type"] for f in run["generated_files"]} == {"text/plain"}


def test_runtime_params_report_the_generation_settings(api):
    spec = api.ready_spec()
    body = {
        "generation_model": "anthropic/claude-haiku-4-5",
        "revision_types": ["consistency"],
        "max_revision_cycles": 2,
        "seed_shuffling_level": "field",
        "tools": ["calculator"],
        "skip_outline": True,
        "unknown_setting": 1,
    }
    run = api.get(f"/runs/{api.create_run(spec['id'], 4, **body)}/").json()
    del body["unknown_setting"]
    assert run["runtime_params"] == {"number_of_samples": 4, **body}


def test_enable_revisions_means_every_revision_type_and_structural_filtering(api):
    spec_id = api.create_spec(name="seedless", generation_objectives="o")
    api.wait_spec(spec_id)
    run = api.get(f"/runs/{api.create_run(spec_id, 1, enable_revisions=True)}/").json()
    assert run["runtime_params"]["revision_types"] == ["coherence_flow", "consistency", "conformance"]
    assert run["runtime_params"]["filtering_types"] == ["structural"]
