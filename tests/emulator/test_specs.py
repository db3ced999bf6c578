"""Specs: validation rules, lifecycle, generated YAML, versions, list, delete."""

from __future__ import annotations

import time

import pytest
import yaml

from dataframer_emulator.schemas import OLDER_SPEC_MODELS, SPEC_MODELS


def _detail(response):
    return response.json()["detail"]


def _variations(spec):
    document = yaml.safe_load(spec["content_yaml"])
    return {v["property_name"]: v for v in document["spec"]["data_property_variations"]}


def test_seeded_spec_lifecycle(api_with):
    api = api_with(spec_seconds=0.5)
    dataset = api.dataset()
    started = time.monotonic()
    response = api.post(
        "/specs/", json={"name": "customers v1", "dataset_id": dataset["id"], "description": "d"}
    )
    assert response.status_code == 201
    assert set(response.json()) == {"id"}
    spec_id = response.json()["id"]
    first = api.get(f"/specs/{spec_id}/").json()
    assert first["status"] == "PROCESSING"
    assert first["content_yaml"] is None
    assert first["error"] is None
    spec = api.wait_spec(spec_id)
    assert time.monotonic() - started >= 0.45
    assert spec["status"] == "SUCCEEDED"
    assert spec["name"] == "customers v1"
    assert spec["description"] == "d"
    assert spec["dataset_id"] == dataset["id"]
    assert spec["dataset_name"] == "customers"
    assert spec["dataset_type"] == "SINGLE_FILE"
    # No model sent: the server's own default, one of today's models.
    assert spec["runtime_params"]["spec_generation_model_name"] == "anthropic/claude-sonnet-5-5-thinking"
    assert spec["created_by_email"]
    assert spec["updated_at"] >= spec["created_at"]
    assert "versions" not in spec


def test_yaml_reflects_seed_columns_and_frequencies(api):
    spec = api.ready_spec()
    document = yaml.safe_load(spec["content_yaml"])
    assert document["metadata"]["dataset_name"] == "customers spec seed"
    assert [c["name"] for c in document["spec"]["columns"]] == api.SEED_COLUMNS
    variations = _variations(spec)
    # region: north 6, south 4, east 2 of 12 rows
    assert variations["region"]["base_probabilities"] == {"north": 0.5, "south": 0.3333, "east": 0.1667}
    assert variations["plan"]["property_values"] == ["basic", "pro", "enterprise"]
    assert variations["monthly_spend"]["value_range"] == {"min": "17.80", "max": "120.00"}
    assert variations["signup_year"]["value_range"] == {"min": "2018", "max": "2023"}
    assert "customer_id" in variations  # integers get a range too
    assert "conditional_probabilities" not in variations["plan"]


def test_uniform_distributions_without_generate_distributions(api):
    spec = api.ready_spec(generate_distributions=False)
    assert set(_variations(spec)["region"]["base_probabilities"].values()) == {0.3333}


def test_conditional_distributions(api):
    spec = api.ready_spec(generate_conditional_distributions=True)
    conditional = _variations(spec)["plan"]["conditional_probabilities"]
    assert conditional["given"] == "region"
    assert conditional["table"]["east"] == {"pro": 0.5, "basic": 0.5}


def test_conditional_requires_distributions(api):
    response = api.post(
        "/specs/",
        json={
            "name": "x",
            "generation_objectives": "o",
            "generate_distributions": False,
            "generate_conditional_distributions": True,
        },
    )
    assert response.status_code == 400
    assert "generate_conditional_distributions requires generate_distributions" in _detail(response)


def test_seedless_spec(api):
    objectives = "Customer support emails about billing disputes and refunds for a telecom company"
    spec = api.wait_spec(api.create_spec(name="emails", generation_objectives=objectives))
    assert spec["status"] == "SUCCEEDED"
    assert spec["dataset_id"] is None
    assert spec["dataset_name"] is None
    assert spec["dataset_type"] == "MULTI_FILE"
    document = yaml.safe_load(spec["content_yaml"])
    assert document["spec"]["description"] == objectives
    topics = _variations(spec)["topic"]["property_values"]
    assert {"billing", "refunds", "telecom"} <= set(topics)
    assert spec["runtime_params"]["extrapolate_values"] is False


@pytest.mark.parametrize("objectives", [None, "", "   "])
def test_seedless_spec_needs_objectives(api, objectives):
    body = {"name": "x"} if objectives is None else {"name": "x", "generation_objectives": objectives}
    response = api.post("/specs/", json=body)
    assert response.status_code == 400
    assert "generation_objectives is required" in _detail(response)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "broken [fail]", "generation_objectives": "fine"},
        {"name": "fine", "generation_objectives": "please [fail] now"},
    ],
)
def test_fail_marker_ends_failed_with_error(api, body):
    spec = api.wait_spec(api.create_spec(**body))
    assert spec["status"] == "FAILED"
    assert "[fail]" in spec["error"]
    assert spec["content_yaml"] is None
    versions = api.get(f"/specs/{spec['id']}/", params={"include_versions": "true"}).json()["versions"]
    assert versions == []


@pytest.mark.parametrize(
    ("dataset_type", "files", "folders", "reason"),
    [
        ("MULTI_FILE", [("a.md", b""), ("b.md", b" \n\t\n")], None, "'a.md' is empty; 'b.md' is empty"),
        ("MULTI_FILE", [("a.csv", b"id,name\n"), ("b.csv", b"\n")], None, "'a.csv' has no data rows"),
        # A MULTI_FILE dataset has one extension; folders may mix them.
        (
            "MULTI_FOLDER",
            [("a.json", b"[]"), ("b.pdf", b"")],
            ["one", "two"],
            "'one/a.json' has no data rows; 'two/b.pdf' is empty",
        ),
        ("MULTI_FOLDER", [("a.txt", b""), ("b.txt", b"")], ["one", "two"], "'one/a.txt' is empty"),
        (
            "SINGLE_FILE",
            [("rows.json", b"[{}, {}]")],
            None,
            "'rows.json' has 2 data row(s), all without a value",
        ),
        ("SINGLE_FILE", [("rows.jsonl", b'{"a": ""}\n{"a": null}\n')], None, "all without a value"),
    ],
)
def test_seed_without_usable_rows_ends_failed_with_error(api, dataset_type, files, folders, reason):
    dataset = api.dataset(name="hollow", dataset_type=dataset_type, files=files, folder_names=folders)
    spec_id = api.create_spec(name="from hollow", dataset_id=dataset["id"])
    spec = api.wait_spec(spec_id)
    assert spec["status"] == "FAILED"
    assert spec["error"].startswith("Seed dataset 'hollow' has no usable rows: ")
    assert reason in spec["error"]
    assert spec["content_yaml"] is None
    response = api.post("/runs/", json={"spec_id": spec_id, "number_of_samples": 1})
    assert response.status_code == 400


def test_seed_failure_names_a_few_files_then_sums_up(api):
    files = [(f"f{i}.txt", b"") for i in range(6)]
    dataset = api.dataset(name="hollow", dataset_type="MULTI_FILE", files=files)
    spec = api.wait_spec(api.create_spec(name="s", dataset_id=dataset["id"]))
    assert spec["error"] == (
        "Seed dataset 'hollow' has no usable rows: 'f0.txt' is empty; 'f1.txt' is empty; "
        "'f2.txt' is empty; 3 more file(s) likewise."
    )


@pytest.mark.parametrize(
    "files",
    [
        [("a.txt", b""), ("b.txt", b"one line of text")],
        [("a.csv", b"id,name\n"), ("b.csv", b"id,name\n1,x\n")],
        [("a.json", b'{"not": "a table"}'), ("b.txt", b"")],
        [("a.pdf", b"%PDF-1.4 ..."), ("b.txt", b"")],
    ],
)
def test_one_usable_file_is_enough(api, files):
    dataset = api.dataset(name="partly", dataset_type="MULTI_FOLDER", files=files, folder_names=["x", "y"])
    spec = api.wait_spec(api.create_spec(name="s", dataset_id=dataset["id"]))
    assert spec["status"] == "SUCCEEDED", spec["error"]
    assert spec["error"] is None


def test_spec_names_are_unique_within_dataset(api):
    first = api.dataset(name="one")
    second = api.dataset(name="two")
    api.create_spec(name="same", dataset_id=first["id"])
    clash = api.post("/specs/", json={"name": "same", "dataset_id": first["id"]})
    assert clash.status_code == 400
    assert "'same' already exists" in _detail(clash)
    assert api.post("/specs/", json={"name": "same", "dataset_id": second["id"]}).status_code == 201
    assert api.post("/specs/", json={"name": "same", "generation_objectives": "o"}).status_code == 201
    seedless_clash = api.post("/specs/", json={"name": "same", "generation_objectives": "o"})
    assert seedless_clash.status_code == 400
    assert "already exists among seedless specs" in _detail(seedless_clash)


def test_unknown_dataset_is_404(api):
    response = api.post("/specs/", json={"name": "x", "dataset_id": "0000"})
    assert response.status_code == 404
    assert "'0000' not found" in _detail(response)


@pytest.mark.parametrize(
    "model", ["databricks/system.ai.claude-opus-5-thinking", "databricks/databricks-gpt-5"]
)
def test_databricks_models_need_no_credentials(api, model):
    """Today's databricks/system.ai.* models take none; an older deployment's fields are optional."""
    spec_id = api.create_spec(name="db", generation_objectives="o", spec_generation_model_name=model)
    assert api.wait_spec(spec_id)["runtime_params"]["spec_generation_model_name"] == model


def test_older_databricks_fields_are_accepted_and_the_secret_never_returned(api):
    body = {
        "name": "db",
        "generation_objectives": "o",
        "spec_generation_model_name": "databricks/databricks-gpt-5",
    }
    secret = "dapi-very-secret-value"
    complete = {
        **body,
        "databricks_client_id": "cid",
        "databricks_client_secret": secret,
        "databricks_api_base": "https://adb.example/serving-endpoints",
    }
    spec_id = api.create_spec(**complete)
    spec = api.wait_spec(spec_id)
    assert spec["runtime_params"]["databricks_api_base"] == "https://adb.example/serving-endpoints"
    for response in (
        api.get(f"/specs/{spec_id}/", params={"include_versions": "true"}),
        api.get("/specs/"),
        api.post("/specs/", json={**complete, "generate_distributions": "no"}),
    ):
        assert secret not in response.text


@pytest.mark.parametrize("model", SPEC_MODELS + OLDER_SPEC_MODELS)
def test_both_generations_of_models_are_accepted(api, model):
    body = {"name": f"x {model}", "generation_objectives": "o", "spec_generation_model_name": model}
    assert api.post("/specs/", json=body).status_code == 201


def test_today_s_model_list_is_the_sdk_s():
    from typing import get_args, get_type_hints

    from dataframer.types.dataframer.spec_create_params import SpecCreateParams

    hint = get_type_hints(SpecCreateParams)["spec_generation_model_name"]
    assert set(get_args(hint)) == set(SPEC_MODELS)


def test_an_unknown_model_is_refused_by_the_server_with_the_list(api):
    unknown = api.post(
        "/specs/",
        json={"name": "x", "generation_objectives": "o", "spec_generation_model_name": "acme/brand-new-9"},
    )
    assert unknown.status_code == 400
    detail = _detail(unknown)
    assert "'acme/brand-new-9' is not an available model" in detail
    assert SPEC_MODELS[0] in detail


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"generation_objectives": "o"}, "name"),
        ({"name": 3, "generation_objectives": "o"}, "name"),
        (
            {"name": "x", "generation_objectives": "o", "generate_distributions": "yes"},
            "generate_distributions",
        ),
    ],
)
def test_malformed_body_is_422_naming_the_field(api, body, field):
    response = api.post("/specs/", json=body)
    assert response.status_code == 422
    assert _detail(response).startswith(field)


def test_invalid_json_is_422(api):
    response = api.post("/specs/", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert isinstance(_detail(response), str)


def test_list_has_summary_fields_only(api_with):
    api = api_with(spec_seconds=0.1)
    spec = api.ready_spec()
    api.server.config.spec_seconds = 30  # the next spec stays PROCESSING
    seedless = api.create_spec(name="seedless", generation_objectives="o", description="about o")
    listed = api.get("/specs/").json()
    assert [s["id"] for s in listed] == [spec["id"], seedless]
    assert set(listed[0]) == {
        "id",
        "name",
        "status",
        "dataset_id",
        "dataset_name",
        "dataset_type",
        "description",
        "created_at",
    }
    assert listed[0]["status"] == "SUCCEEDED"
    assert listed[1]["status"] == "PROCESSING"
    assert listed[1]["description"] == "about o"


def test_versions_and_update(api):
    spec = api.ready_spec()
    with_versions = api.get(f"/specs/{spec['id']}/", params={"include_versions": "true"}).json()
    assert len(with_versions["versions"]) == 1
    assert set(with_versions["versions"][0]) == {"content_yaml", "created_at"}
    assert with_versions["versions"][0]["content_yaml"] == spec["content_yaml"]
    edited = yaml.safe_load(spec["content_yaml"])
    edited["spec"]["description"] = "Edited by a human"
    edited["metadata"] = {"spec_name": "tampered"}
    response = api.http.put(f"/specs/{spec['id']}/", json={"content_yaml": yaml.safe_dump(edited)})
    assert response.status_code == 200, response.text
    assert len(response.json()["versions"]) == 2
    latest = api.get(f"/specs/{spec['id']}/", params={"include_versions": True}).json()
    document = yaml.safe_load(latest["content_yaml"])
    assert document["spec"]["description"] == "Edited by a human"
    assert document["metadata"]["spec_name"] == "customers spec"  # metadata is read-only
    assert len(latest["versions"]) == 2
    assert latest["versions"][0]["content_yaml"] == spec["content_yaml"]
    assert latest["updated_at"] > spec["updated_at"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("spec: [unclosed", "not valid YAML"),
        ("just text", "'spec' root key"),
        ("metadata: {}", "'spec' root key"),
    ],
)
def test_update_rejects_bad_yaml(api, content, fragment):
    spec = api.ready_spec()
    response = api.http.put(f"/specs/{spec['id']}/", json={"content_yaml": content})
    assert response.status_code == 400
    assert fragment in _detail(response)


def test_update_while_processing_is_refused(api_with):
    api = api_with(spec_seconds=30)
    spec_id = api.create_spec(name="x", generation_objectives="o")
    response = api.http.put(f"/specs/{spec_id}/", json={"content_yaml": "spec: {}"})
    assert response.status_code == 400
    assert "PROCESSING" in _detail(response)


def test_update_unknown_spec_is_404(api):
    response = api.http.put("/specs/missing/", json={"content_yaml": "spec: {}"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Spec 'missing' not found."}


def test_delete_spec_with_runs_needs_force(api):
    spec = api.ready_spec()
    run_id = api.create_run(spec["id"], 2)
    refused = api.http.delete(f"/specs/{spec['id']}/")
    assert refused.status_code == 400
    assert "force=true" in _detail(refused)
    assert api.get(f"/specs/{spec['id']}/").status_code == 200
    assert api.http.delete(f"/specs/{spec['id']}/", params={"force": "true"}).status_code == 204
    assert api.get(f"/specs/{spec['id']}/").status_code == 404
    assert api.get(f"/runs/{run_id}/").status_code == 404


def test_delete_spec_without_runs(api):
    spec_id = api.create_spec(name="x", generation_objectives="o")
    assert api.http.delete(f"/specs/{spec_id}/").status_code == 204
    assert api.http.delete(f"/specs/{spec_id}/").status_code == 404


def test_paths_need_their_trailing_slash(api):
    assert api.get("/specs").status_code == 404
    assert api.get("/specs/").status_code == 200


def test_create_can_answer_the_whole_object(api_with):
    api = api_with(spec_create_returns_object=True)
    response = api.post("/specs/", json={"name": "x", "generation_objectives": "o"})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "PROCESSING"
    assert body["name"] == "x"
    assert body["id"]


def test_legacy_ready_status(api_with):
    api = api_with(spec_success_status="READY")
    spec_id = api.create_spec(name="x", generation_objectives="o")
    spec = api.wait_spec(spec_id)
    assert spec["status"] == "READY"
    assert spec["content_yaml"]
    assert api.get("/specs/").json()[0]["status"] == "READY"
    assert api.post("/runs/", json={"spec_id": spec_id, "number_of_samples": 1}).status_code == 201
