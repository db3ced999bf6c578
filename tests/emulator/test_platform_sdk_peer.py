"""
The official SDK as a client of the emulator's platform endpoints: evaluations, anonymization,
red teaming, spec versions and run deletion.

Every JSON answer is also checked against the SDK's response type: it must parse, and hold no
field the type does not declare (at any depth).
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections import Counter
from typing import Any

import httpx
import pytest

dataframer = pytest.importorskip("dataframer")
types = pytest.importorskip("dataframer.types.dataframer")
from dataframer.types.dataframer.anonymization_run_list_response import (  # noqa: E402
    AnonymizationRunListResponseItem,
)
from dataframer.types.dataframer.anonymization_runs import (  # noqa: E402
    FileDownloadAllResponse,
    FileDownloadResponse,
)
from dataframer.types.dataframer.red_team_run_list_response import RedTeamRunListResponseItem  # noqa: E402
from dataframer.types.dataframer.red_team_spec_list_response import RedTeamSpecListResponseItem  # noqa: E402
from dataframer.types.dataframer.runs.evaluation_list_response import EvaluationListResponseItem  # noqa: E402
from pydantic import BaseModel  # noqa: E402

PII_CSV = (
    b"customer,email,phone,ssn,note\n"
    b"Mary Smith,mary.smith@example.com,(415) 555-0132,123-45-6789,Called about billing\n"
    b"John Garcia,jgarcia@example.org,415-555-0199,987-65-4321,Asked for a refund\n"
    b"Priya Patel,priya@example.net,+1 212 555 0101,111-22-3333,Moved to Boston\n"
)


def no_extra_fields(model: Any, where: str = "") -> None:
    """Fail if ``model`` (or anything inside it) holds a field its SDK type does not declare."""
    if isinstance(model, BaseModel):
        extra = model.model_extra or {}
        assert not extra, f"{where or type(model).__name__}: undeclared fields {sorted(extra)}"
        for name in type(model).model_fields:
            no_extra_fields(getattr(model, name), f"{where}.{name}")
    elif isinstance(model, list):
        for index, item in enumerate(model):
            no_extra_fields(item, f"{where}[{index}]")
    elif isinstance(model, dict):
        for key, item in model.items():
            no_extra_fields(item, f"{where}[{key!r}]")


def conforms(response_type: type[BaseModel], payload: Any) -> None:
    """``payload`` (one object, or a list of them) is exactly of ``response_type``."""
    for item in payload if isinstance(payload, list) else [payload]:
        no_extra_fields(response_type.model_validate(item), response_type.__name__)


@pytest.fixture
def sdk(emulator):
    client = dataframer.Dataframer(api_key=emulator.api_key, base_url=emulator.url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def sdk_with(api_with):
    clients = []

    def factory(**config):
        api = api_with(**config)
        client = dataframer.Dataframer(api_key=api.server.api_key, base_url=api.server.url, max_retries=0)
        clients.append(client)
        return client, api

    yield factory
    for client in clients:
        client.close()


def _wait(fetch, running=frozenset({"PENDING", "PROCESSING"}), timeout=5.0):
    deadline = time.monotonic() + timeout
    while (item := fetch()).status in running:
        assert time.monotonic() < deadline, f"still {item.status}"
        time.sleep(0.03)
    return item


def _succeeded_run(api, spec_name="customers", samples=40):
    spec = api.ready_spec(name=spec_name)
    run = api.wait_run(api.create_run(spec["id"], samples))
    assert run["status"] == "SUCCEEDED", run
    return run


def _rows(api, run):
    ready = api.wait_download(f"/runs/{run['id']}/files/download/")
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(ready["download_url"]).content))
    return list(csv.DictReader(io.StringIO(archive.read("generated_samples.csv").decode())))


# ----------------------------------------------------------------------------- evaluations


def test_evaluation_lifecycle_and_types(sdk_with):
    sdk, api = sdk_with(spec_seconds=1.0)
    run = _succeeded_run(api)
    raw = sdk.dataframer.evaluations.with_raw_response.create(
        run_id=run["id"], evaluation_model="anthropic/claude-sonnet-5-5-thinking"
    )
    conforms(types.EvaluationCreateResponse, raw.http_response.json())
    created = raw.parse()
    assert created.status in ("PENDING", "PROCESSING")
    assert created.distribution_analysis is None
    assert created.sample_classifications == []

    done = _wait(lambda: sdk.dataframer.evaluations.retrieve(created.id))
    assert done.status == "SUCCEEDED"
    assert done.completed_at is not None
    conforms(types.EvaluationRetrieveResponse, api.get(f"/evaluations/{created.id}/").json())
    by_name = {a.property_name: a for a in done.distribution_analysis}
    assert {"region", "plan", "monthly_spend"} <= set(by_name)
    for analysis in done.distribution_analysis:
        assert analysis.total_samples == 40
        assert sum(analysis.expected_distributions.values()) == pytest.approx(100, abs=0.05)
        assert set(analysis.evaluated_distributions) == set(analysis.requested_distributions)
    assert len(done.sample_classifications) == 40
    assert done.sample_classifications[0].evaluation_id == created.id

    listed = sdk.dataframer.runs.evaluations.list(run["id"])
    assert [(e.id, e.status) for e in listed] == [(created.id, "SUCCEEDED")]
    conforms(EvaluationListResponseItem, api.get(f"/runs/{run['id']}/evaluations/").json())


def test_evaluated_distributions_are_counted_from_the_generated_rows(sdk, api):
    run = _succeeded_run(api, samples=60)
    evaluation = sdk.dataframer.evaluations.create(run_id=run["id"])
    done = _wait(lambda: sdk.dataframer.evaluations.retrieve(evaluation.id))
    counts = Counter(row["plan"] for row in _rows(api, run))
    [plan] = [a for a in done.distribution_analysis if a.property_name == "plan"]
    assert plan.total_samples_analyzed == 60
    assert plan.evaluated_distributions == {
        value: round(counts[value] / 60 * 100, 2) for value in plan.requested_distributions
    }
    # The seed has 6 basic, 4 pro, 2 enterprise of 12 customers; 60 samples can hit those shares.
    assert plan.requested_distributions == {"basic": 50.0, "pro": 33.33, "enterprise": 16.67}
    assert plan.expected_distributions == {"basic": 50.0, "pro": 33.33, "enterprise": 16.67}


def test_a_poor_run_is_evaluated_as_a_mode_collapse(sdk, api):
    run = _succeeded_run(api, spec_name="customers [poor-run]", samples=50)
    evaluation = sdk.dataframer.evaluations.create(run_id=run["id"])
    done = _wait(lambda: sdk.dataframer.evaluations.retrieve(evaluation.id))
    assert done.status == "SUCCEEDED"
    [region] = [a for a in done.distribution_analysis if a.property_name == "region"]
    favourite = max(region.requested_distributions, key=region.requested_distributions.get)
    assert favourite == "north"
    assert region.evaluated_distributions["north"] >= 70
    assert region.evaluated_distributions["north"] - region.expected_distributions["north"] > 20


def test_evaluation_failures_on_demand_and_refusals(sdk, api):
    run = _succeeded_run(api, spec_name="customers [fail-eval]", samples=5)
    evaluation = sdk.dataframer.evaluations.create(run_id=run["id"])
    failed = _wait(lambda: sdk.dataframer.evaluations.retrieve(evaluation.id))
    assert failed.status == "FAILED"
    assert "[fail-eval]" in failed.error_message
    assert failed.distribution_analysis is None

    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.evaluations.create(run_id="8a5c3a0e-0000-4000-8000-000000000000")
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.evaluations.retrieve("missing")
    spec = api.ready_spec(name="slow")
    api_run = api.create_run(spec["id"], 5)
    api.post(f"/runs/{api_run}/cancel/")
    with pytest.raises(dataframer.BadRequestError, match="must be SUCCEEDED"):
        sdk.dataframer.evaluations.create(run_id=api_run)
    with pytest.raises(dataframer.BadRequestError, match="provider/model"):
        sdk.dataframer.evaluations.create(run_id=run["id"], evaluation_model="sonnet")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- anonymization


def test_anonymization_masks_the_pii_it_finds(sdk_with):
    sdk, api = sdk_with(download_seconds=0.5)
    dataset = api.dataset(name="crm extract", files=[("crm.csv", PII_CSV)])
    raw = sdk.dataframer.anonymization_runs.with_raw_response.create(
        dataset_id=dataset["id"],
        detection_method="pii_m1",
        pii_types=["email", "phone_number", "ssn", "first_name", "last_name"],
        mask_config={"email": "<EMAIL>"},
    )
    conforms(types.AnonymizationRunCreateResponse, raw.http_response.json())
    created = raw.parse()
    assert created.status in ("PENDING", "PROCESSING")

    done = _wait(lambda: sdk.dataframer.anonymization_runs.retrieve(created.id))
    assert done.status == "SUCCEEDED"
    conforms(types.AnonymizationRunRetrieveResponse, api.get(f"/anonymization-runs/{created.id}/").json())
    assert done.results.samples_processed == 3
    assert done.results.entity_summary == {
        "email": 3,
        "phone_number": 3,
        "ssn": 3,
        "first_name": 3,
        "last_name": 3,
    }
    first = done.results.entities_found[0]
    assert (first.label, PII_CSV.decode()[first.start : first.end]) == ("first_name", "Mary")
    [masked_file] = done.anonymized_files
    assert masked_file.path == "crm.csv"

    one = sdk.dataframer.anonymization_runs.files.download(masked_file.id, run_id=created.id)
    conforms(
        FileDownloadResponse,
        api.get(f"/anonymization-runs/{created.id}/files/{masked_file.id}/download/").json(),
    )
    assert one.file_name == "crm.csv"
    masked = httpx.get(one.download_url).text
    assert masked.splitlines()[0] == "customer,email,phone,ssn,note"
    assert (
        masked.splitlines()[1] == "[REDACTED] [REDACTED],<EMAIL>,[REDACTED],[REDACTED],Called about billing"
    )
    for secret in ("mary.smith@example.com", "555-0132", "123-45-6789", "Priya", "Patel"):
        assert secret not in masked
    assert "Boston" in masked and "refund" in masked
    assert masked_file.size_in_bytes == len(masked.encode())

    first_zip = sdk.dataframer.anonymization_runs.files.download_all(created.id)
    assert (first_zip.status, first_zip.download_url) == ("generating", None)
    conforms(FileDownloadAllResponse, first_zip.model_dump())
    ready = _wait(lambda: sdk.dataframer.anonymization_runs.files.download_all(created.id), {"generating"})
    assert ready.status == "ready"
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(ready.download_url).content))
    assert archive.read("crm.csv").decode() == masked

    listed = sdk.dataframer.anonymization_runs.list()
    assert [r.id for r in listed] == [created.id]
    conforms(AnonymizationRunListResponseItem, api.get("/anonymization-runs/").json())
    sdk.dataframer.anonymization_runs.delete(created.id)
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.anonymization_runs.retrieve(created.id)
    assert httpx.get(one.download_url).status_code == 404  # the masked files went with the run


def test_anonymization_threshold_filters_low_confidence_entities(sdk, api):
    dataset = api.dataset(name="crm", files=[("crm.csv", PII_CSV)])
    run = sdk.dataframer.anonymization_runs.create(
        dataset_id=dataset["id"], detection_method="pii_m1", pii_types=["email", "first_name"], threshold=0.9
    )
    done = _wait(lambda: sdk.dataframer.anonymization_runs.retrieve(run.id))
    assert done.results.entity_summary == {"email": 3}  # names score 0.85 without an LLM


def test_anonymization_refusals_and_failure_on_demand(sdk, api):
    dataset = api.dataset(name="crm", files=[("crm.csv", PII_CSV)])
    with pytest.raises(dataframer.BadRequestError, match="llm_model_name is required"):
        sdk.dataframer.anonymization_runs.create(
            dataset_id=dataset["id"], detection_method="llm", pii_types=["email"]
        )
    with pytest.raises(dataframer.BadRequestError, match="lowercase"):
        sdk.dataframer.anonymization_runs.create(
            dataset_id=dataset["id"], detection_method="pii_m1", pii_types=["EMAIL"]
        )
    with pytest.raises(dataframer.BadRequestError, match="threshold"):
        sdk.dataframer.anonymization_runs.create(
            dataset_id=dataset["id"], detection_method="pii_m1", pii_types=["email"], threshold=1.5
        )
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.anonymization_runs.create(
            dataset_id="8a5c3a0e-0000-4000-8000-000000000000", detection_method="pii_m1", pii_types=["email"]
        )
    doomed = api.dataset(name="crm [fail-anon]", files=[("crm.csv", PII_CSV)])
    run = sdk.dataframer.anonymization_runs.create(
        dataset_id=doomed["id"],
        detection_method="all",
        pii_types=["email"],
        llm_model_name="openai/gpt-6-astra",
    )
    failed = _wait(lambda: sdk.dataframer.anonymization_runs.retrieve(run.id))
    assert failed.status == "FAILED"
    assert "[fail-anon]" in failed.results.error
    assert failed.anonymized_files == []
    with pytest.raises(dataframer.BadRequestError, match="FAILED"):
        sdk.dataframer.anonymization_runs.files.download_all(run.id)


# ----------------------------------------------------------------------------- red teaming


def test_red_team_specs_crud(sdk, api):
    raw = sdk.dataframer.red_team_specs.with_raw_response.create(
        name="Support Bot",
        app_description="A customer support chatbot for a bank",
        domain_description="Financial services",
        concerns="Should not reveal account balances. Should not give investment advice.",
    )
    conforms(types.RedTeamSpecCreateResponse, raw.http_response.json())
    spec = raw.parse()
    assert spec.name == "support_bot"
    assert spec.created_by_email
    with pytest.raises(dataframer.BadRequestError, match="already exists"):
        sdk.dataframer.red_team_specs.create(name="support bot", app_description="x", domain_description="y")
    updated = sdk.dataframer.red_team_specs.update(spec.id, concerns="Should not reveal balances.")
    assert (updated.name, updated.concerns) == ("support_bot", "Should not reveal balances.")
    conforms(types.RedTeamSpecRetrieveResponse, api.get(f"/red-team-specs/{spec.id}/").json())
    assert sdk.dataframer.red_team_specs.retrieve(spec.id).concerns == "Should not reveal balances."
    assert [s.id for s in sdk.dataframer.red_team_specs.list()] == [spec.id]
    conforms(RedTeamSpecListResponseItem, api.get("/red-team-specs/").json())
    sdk.dataframer.red_team_specs.delete(spec.id)
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.red_team_specs.retrieve(spec.id)


def test_red_team_run_lifecycle_status_and_prompts(sdk_with):
    sdk, api = sdk_with(run_seconds=1.0)
    spec = sdk.dataframer.red_team_specs.create(
        name="support bot",
        app_description="A customer support chatbot for a bank",
        domain_description="Banking",
        concerns="Should not reveal account balances",
    )
    raw = sdk.dataframer.red_team_runs.with_raw_response.create(
        red_team_spec_id=spec.id,
        model_name="openai/gpt-oss-120b",
        number_of_behaviors=3,
        number_of_prompts_per_behavior=2,
    )
    conforms(types.RedTeamRunCreateResponse, raw.http_response.json())
    run = raw.parse()
    assert run.status in ("PENDING", "PROCESSING")
    assert run.api_model_name == "openai/gpt-oss-120b"
    assert run.results_json is None

    status = _wait(lambda: sdk.dataframer.red_team_runs.retrieve_status(run.id))
    assert status.status == "SUCCEEDED"
    assert status.results_json is None  # the light endpoint leaves the prompts out
    conforms(types.RedTeamRunRetrieveStatusResponse, api.get(f"/red-team-runs/{run.id}/status/").json())
    full = sdk.dataframer.red_team_runs.retrieve(run.id)
    conforms(types.RedTeamRunRetrieveResponse, api.get(f"/red-team-runs/{run.id}/").json())
    behaviors = full.results_json.behavior_to_enhanced_queries
    assert len(behaviors) == 3
    assert "Should not reveal account balances" in behaviors
    assert all(len(prompts) == 2 for prompts in behaviors.values())
    assert all(
        p.query[1:] in p.adversarial_prompt and p.adversarial_prompt != p.query
        for p in next(iter(behaviors.values()))
    )
    assert sdk.dataframer.red_team_runs.retrieve(run.id).results_json == full.results_json  # deterministic

    assert [r.id for r in sdk.dataframer.red_team_runs.list(spec_id=spec.id)] == [run.id]
    assert sdk.dataframer.red_team_runs.list(spec_id="other") == []
    conforms(RedTeamRunListResponseItem, api.get("/red-team-runs/").json())
    sdk.dataframer.red_team_runs.delete(run.id)
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.red_team_runs.retrieve_status(run.id)


def test_red_team_run_failure_on_demand_and_refusals(sdk):
    spec = sdk.dataframer.red_team_specs.create(
        name="doomed", app_description="A bot [fail-run]", domain_description="Retail"
    )
    run = sdk.dataframer.red_team_runs.create(
        red_team_spec_id=spec.id,
        model_name="moonshotai/Kimi-K3",
        number_of_behaviors=1,
        number_of_prompts_per_behavior=1,
    )
    failed = _wait(lambda: sdk.dataframer.red_team_runs.retrieve_status(run.id))
    assert failed.status == "FAILED"
    assert "[fail-run]" in failed.error_message
    with pytest.raises(dataframer.BadRequestError, match="at least 1"):
        sdk.dataframer.red_team_runs.create(
            red_team_spec_id=spec.id,
            model_name="moonshotai/Kimi-K3",
            number_of_behaviors=0,
            number_of_prompts_per_behavior=1,
        )
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.red_team_runs.create(
            red_team_spec_id="missing",
            model_name="moonshotai/Kimi-K3",
            number_of_behaviors=1,
            number_of_prompts_per_behavior=1,
        )


# ----------------------------------------------------------------------------- spec versions, run deletion


def test_spec_versions_pin_a_run_and_runs_can_be_deleted(sdk, api):
    spec = api.ready_spec(name="customers")
    edited = spec["content_yaml"].replace("Records shaped", "Rows shaped")
    sdk.dataframer.specs.update(spec["id"], content_yaml=edited)
    versions = sdk.dataframer.specs.retrieve(spec["id"], include_versions=True).versions
    assert len(versions) == 2
    assert "Rows shaped" in versions[-1].content_yaml
    pinned = sdk.dataframer.runs.create(spec_id=spec["id"], number_of_samples=3, spec_version=1)
    assert sdk.dataframer.runs.retrieve(pinned.id).spec_version == 1
    done = _wait(lambda: sdk.dataframer.runs.retrieve(pinned.id))
    evaluation = sdk.dataframer.evaluations.create(run_id=done.id)
    sdk.dataframer.runs.delete(done.id)
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.runs.retrieve(done.id)
    with pytest.raises(dataframer.NotFoundError):
        sdk.dataframer.runs.evaluations.list(done.id)
    assert sdk.dataframer.evaluations.retrieve(evaluation.id).run_id == done.id
