"""The platform operators through the real stack: hook, SDK and triggers against the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.operators.anonymization import AnonymizeSeedDatasetOperator
from airflow_provider_dataframer.operators.evaluation import (
    CreateEvaluationOperator,
    DataframerQualityGateError,
)
from airflow_provider_dataframer.operators.red_team import CreateRedTeamRunOperator, CreateRedTeamSpecOperator
from airflow_provider_dataframer.operators.run import DeleteRunOperator
from airflow_provider_dataframer.operators.spec import UpdateSpecOperator
from tests.integration.conftest import upload_csv_seed
from tests.integration.task_runner import run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

FAST = {"poll_interval": 0.05, "timeout": 30}
SEED = (
    b"name,email,plan,channel\n"
    b"Mary Smith,mary@example.com,basic,email\n"
    b"John Lee,john@example.com,pro,chat\n"
    b"Emma Chen,emma@example.com,basic,phone\n"
    b"Noah Kim,noah@example.com,basic,email\n"
)


def api(server: EmulatorServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{server.url}/api/dataframer/{path}", headers=server.headers, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def ready_run(server: EmulatorServer, spec_name: str = "customers", samples: int = 60) -> dict[str, Any]:
    """A SUCCEEDED run of a fresh spec, made through the hook."""
    from airflow_provider_dataframer.models import RunCreateRequest, SpecCreateRequest

    hook = DataframerHook()
    dataset_id = upload_csv_seed(server, f"{spec_name} seed", "seed.csv", SEED)
    spec = hook.create_spec(SpecCreateRequest.build(name=spec_name, dataset_id=dataset_id))
    spec_id = spec if isinstance(spec, str) else spec.id
    _until(lambda: hook.get_spec(spec_id).status != "PROCESSING")
    run = hook.create_run(RunCreateRequest.build(spec_id=spec_id, number_of_samples=samples))
    run_id = run if isinstance(run, str) else run.id
    _until(lambda: hook.get_run(run_id).status == "SUCCEEDED")
    return {"spec_id": spec_id, "run_id": run_id}


def _until(check: Any, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("deferrable", [False, True])
def test_evaluation_passes_a_gate_a_good_run_meets(emulator: EmulatorServer, deferrable: bool) -> None:
    ids = ready_run(emulator)
    outcome = run_task(
        CreateEvaluationOperator(
            task_id="evaluate",
            run_id={"run_id": ids["run_id"]},
            max_deviation=25,
            deferrable=deferrable,
            **FAST,
        )
    )
    assert outcome.state == "success", outcome.message
    summary = outcome.result
    assert summary["run_id"] == ids["run_id"]
    assert summary["gate"] == {"checked": True, "passed": True, "failures": []}
    assert {p["property"] for p in summary["properties"]} >= {"plan", "channel"}
    assert bool(outcome.deferrals) is deferrable
    [listed] = api(emulator, "GET", f"runs/{ids['run_id']}/evaluations/")
    assert listed["id"] == summary["evaluation_id"]


def test_a_poor_run_fails_the_gate_with_the_numbers(emulator: EmulatorServer) -> None:
    ids = ready_run(emulator, spec_name="customers [poor-run]")
    outcome = run_task(
        CreateEvaluationOperator(
            task_id="evaluate", run_id=ids["run_id"], property_max_deviation={"channel": 20.0}, **FAST
        )
    )
    assert outcome.state == "failed"
    assert isinstance(outcome.error, DataframerQualityGateError)
    assert "property 'channel': deviation" in outcome.message
    assert "> 20 pp ('email' came out at" in outcome.message


def test_a_failed_evaluation_fails_the_task_with_the_servers_message(emulator: EmulatorServer) -> None:
    ids = ready_run(emulator, spec_name="customers [fail-eval]", samples=3)
    outcome = run_task(CreateEvaluationOperator(task_id="evaluate", run_id=ids["run_id"], **FAST))
    assert outcome.state == "failed"
    assert "ended FAILED" in outcome.message and "[fail-eval]" in outcome.message


def refused(operator: Any, match: str) -> None:
    """``operator`` fails its try with a validation error naming ``match``."""
    outcome = run_task(operator)
    assert outcome.state == "failed" and isinstance(outcome.error, DataframerValidationError), outcome
    assert match in outcome.message, outcome.message


def test_gate_and_request_validation_before_any_request(emulator: EmulatorServer) -> None:
    """Arguments that are not templated fail at construction; templated ones once rendered."""
    with pytest.raises(DataframerValidationError, match="max_deviation"):
        CreateEvaluationOperator(
            task_id="e", run_id="8a5c3a0e-0000-4000-8000-000000000000", max_deviation=150
        )
    refused(CreateEvaluationOperator(task_id="e", run_id="not-a-uuid"), "run_id")
    with pytest.raises(DataframerValidationError, match="wait_for_completion"):
        CreateEvaluationOperator(
            task_id="e", run_id="{{ ti.xcom_pull('g') }}", max_deviation=5, wait_for_completion=False
        )
    refused(
        AnonymizeSeedDatasetOperator(
            task_id="a",
            dataset_id="8a5c3a0e-0000-4000-8000-000000000000",
            pii_types=["email"],
            detection_method="llm",
        ),
        "llm_model_name",
    )
    refused(
        AnonymizeSeedDatasetOperator(
            task_id="a", dataset_id="8a5c3a0e-0000-4000-8000-000000000000", pii_types=["EMAIL"]
        ),
        "lowercase",
    )
    refused(
        CreateRedTeamRunOperator(
            task_id="r",
            red_team_spec_id="8a5c3a0e-0000-4000-8000-000000000000",
            model_name="openai/gpt-oss-120b",
            number_of_behaviors=0,
            number_of_prompts_per_behavior=1,
        ),
        "at least 1",
    )
    with pytest.raises(DataframerValidationError, match="exactly one"):
        UpdateSpecOperator(task_id="u", spec_id="s")
    refused(UpdateSpecOperator(task_id="u", spec_id="s", content_yaml="- just a list"), "'spec' root key")
    with pytest.raises(DataframerValidationError, match="keep_latest is required"):
        DeleteRunOperator(task_id="d", spec_id="s")
    assert emulator.requests() == []


def test_anonymization_lands_masked_files(emulator: EmulatorServer, tmp_path: Path) -> None:
    dataset_id = upload_csv_seed(emulator, "crm", "crm.csv", SEED)
    ti = recording_ti()
    outcome = run_task(
        AnonymizeSeedDatasetOperator(
            task_id="anonymize",
            dataset_id=dataset_id,
            pii_types="first_name,last_name,email",
            mask_config={"email": "<EMAIL>"},
            destination=str(tmp_path / "masked"),
            deferrable=True,
            **FAST,
        ),
        context={"ti": ti},
    )
    assert outcome.state == "success", outcome.message
    summary = outcome.result
    assert summary["entity_summary"] == {"first_name": 4, "last_name": 4, "email": 4}
    assert summary["masked_files"] == [str(tmp_path / "masked" / "crm.csv")]
    assert ti.pushed["masked_files"] == summary["masked_files"]
    assert ti.pushed["anonymization_run_id"] == summary["anonymization_run_id"]
    masked = (tmp_path / "masked" / "crm.csv").read_text()
    assert masked.splitlines()[1] == "[REDACTED] [REDACTED],<EMAIL>,basic,email"


def test_anonymization_failure_on_demand(emulator: EmulatorServer) -> None:
    dataset_id = upload_csv_seed(emulator, "crm [fail-anon]", "crm.csv", SEED)
    outcome = run_task(
        AnonymizeSeedDatasetOperator(task_id="a", dataset_id=dataset_id, pii_types=["email"], **FAST)
    )
    assert outcome.state == "failed"
    assert "[fail-anon]" in outcome.message


def test_update_spec_adds_a_version_once(emulator: EmulatorServer, tmp_path: Path) -> None:
    ids = ready_run(emulator, samples=2)
    current = DataframerHook().get_spec(ids["spec_id"]).content_yaml
    assert current
    reviewed = tmp_path / "spec.yaml"
    reviewed.write_text(current.replace("Records shaped", "Reviewed records shaped"))
    ti = recording_ti()
    operator = UpdateSpecOperator(task_id="u", spec_id=ids["spec_id"], yaml_path=str(reviewed))
    assert run_task(operator, {"ti": ti}).result == 2
    assert run_task(operator, {"ti": ti}).result == 2  # the same YAML again: no new version
    versions = api(emulator, "GET", f"specs/{ids['spec_id']}/", params={"include_versions": "true"})[
        "versions"
    ]
    assert len(versions) == 2
    assert ti.pushed["spec_id"] == ids["spec_id"]
    unreadable = UpdateSpecOperator(
        task_id="u", spec_id=ids["spec_id"], yaml_path=str(tmp_path / "missing.yaml")
    )
    assert "cannot be read" in run_task(unreadable).message


def test_delete_runs_keeps_the_newest_and_never_a_working_one(emulator: EmulatorServer) -> None:
    from airflow_provider_dataframer.models import RunCreateRequest

    ids = ready_run(emulator, samples=2)
    hook = DataframerHook()
    more = []
    for _ in range(3):
        created = hook.create_run(RunCreateRequest.build(spec_id=ids["spec_id"], number_of_samples=2))
        more.append(created if isinstance(created, str) else created.id)
    _until(lambda: all(hook.get_run(r).status == "SUCCEEDED" for r in more))
    outcome = run_task(DeleteRunOperator(task_id="d", spec_id=ids["spec_id"], keep_latest=2))
    assert outcome.state == "success", outcome.message
    assert sorted(outcome.result) == sorted([ids["run_id"], more[0]])
    assert sorted(r["id"] for r in api(emulator, "GET", "runs/")) == sorted(more[1:])

    emulator.app.service.config.run_seconds = 30  # the next run stays PROCESSING
    working = hook.create_run(RunCreateRequest.build(spec_id=ids["spec_id"], number_of_samples=2))
    working_id = working if isinstance(working, str) else working.id
    refused = run_task(DeleteRunOperator(task_id="d", run_id=working_id))
    assert refused.state == "failed" and "still" in refused.message
    swept = run_task(DeleteRunOperator(task_id="d", spec_id=ids["spec_id"], keep_latest=0))
    assert sorted(swept.result) == sorted(more[1:])
    assert working_id in [r["id"] for r in api(emulator, "GET", "runs/")]
    forced = run_task(DeleteRunOperator(task_id="d", run_id=working_id, include_working=True))
    assert forced.result == [working_id]
    assert run_task(DeleteRunOperator(task_id="d", run_id=working_id)).result == [working_id]  # already gone


@pytest.mark.parametrize("deferrable", [False, True])
def test_red_team_spec_and_run(emulator: EmulatorServer, deferrable: bool) -> None:
    spec_op = CreateRedTeamSpecOperator(
        task_id="spec",
        name="Support Bot",
        app_description="A support chatbot for a bank",
        domain_description="Banking",
        concerns="Should not reveal account balances",
    )
    ti = recording_ti()
    spec_id = run_task(spec_op, {"ti": ti}).result
    assert run_task(spec_op, {"ti": ti}).result == spec_id  # reused: same name, same descriptions
    outcome = run_task(
        CreateRedTeamRunOperator(
            task_id="run",
            red_team_spec_id=spec_id,
            model_name="openai/gpt-oss-120b",
            number_of_behaviors=2,
            number_of_prompts_per_behavior=3,
            deferrable=deferrable,
            **FAST,
        )
    )
    assert outcome.state == "success", outcome.message
    assert outcome.result["behaviors"] == 2
    assert len(outcome.result["prompts"]) == 6
    assert outcome.result["prompts"][0]["behavior"] == "Should not reveal account balances"
    polls = [
        r
        for r in emulator.requests(method="GET", path="red-team-runs/**")
        if not r.path.endswith("/red-team-runs/")  # the lookup list of an exactly-once create
    ]
    assert polls and all(r.path.endswith("/status/") for r in polls[:-1])  # waits poll the light endpoint
    if deferrable:
        assert outcome.deferrals[0][0].endswith("RedTeamRunStatusTrigger")


def recording_ti() -> Any:
    """A task instance that remembers what was pushed to XCom (in ``pushed``)."""
    from unittest import mock

    ti = mock.MagicMock()
    ti.pushed = {}
    ti.xcom_push.side_effect = lambda key, value: ti.pushed.__setitem__(key, value)
    return ti
