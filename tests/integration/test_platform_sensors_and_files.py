"""The platform sensors and the one-file downloads through the real stack, against the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_dataframer.operators.anonymization import AnonymizeSeedDatasetOperator
from airflow_provider_dataframer.operators.evaluation import CreateEvaluationOperator
from airflow_provider_dataframer.operators.file_download import (
    DownloadAnonymizedFileOperator,
    DownloadRunFileOperator,
    DownloadSeedFileOperator,
)
from airflow_provider_dataframer.operators.red_team import CreateRedTeamRunOperator, CreateRedTeamSpecOperator
from airflow_provider_dataframer.sensors.anonymization import AnonymizationStatusSensor
from airflow_provider_dataframer.sensors.evaluation import EvaluationStatusSensor
from airflow_provider_dataframer.sensors.red_team import RedTeamRunStatusSensor
from tests.integration.conftest import upload_csv_seed
from tests.integration.task_runner import run_task
from tests.integration.test_platform_operators import FAST, SEED, api, ready_run

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

SENSOR = {"poke_interval": 0.05, "timeout": 30}


def still_working_at_first_look(server: EmulatorServer, path: str) -> None:
    """The sensor's first read answers PROCESSING, however fast the job ran: it waits, deterministically."""
    server.add_fault(method="GET", path=path, action="status_override", status="PROCESSING", times=1)


@pytest.mark.parametrize("deferrable", [False, True])
def test_evaluation_sensor_waits_and_gates(emulator: EmulatorServer, deferrable: bool) -> None:
    ids = ready_run(emulator, spec_name="customers [poor-run]")
    started = run_task(
        CreateEvaluationOperator(task_id="start", run_id=ids["run_id"], wait_for_completion=False, **FAST)
    )
    assert started.state == "success", started.message
    still_working_at_first_look(emulator, "evaluations/*/")
    passing = run_task(
        EvaluationStatusSensor(task_id="wait", evaluation_id=started.result, deferrable=deferrable, **SENSOR)
    )
    assert passing.state == "success", passing.message
    assert passing.result["evaluation_id"] == started.result["evaluation_id"]
    assert passing.result["status"] == "SUCCEEDED" and passing.result["properties"]
    assert bool(passing.deferrals) is deferrable
    gated = run_task(
        EvaluationStatusSensor(
            task_id="gate",
            evaluation_id=started.result["evaluation_id"],
            property_max_deviation={"channel": 20.0},
            deferrable=deferrable,
            **SENSOR,
        )
    )
    assert gated.state == "failed" and "property 'channel': deviation" in gated.message


@pytest.mark.parametrize("deferrable", [False, True])
def test_anonymization_sensor_then_one_masked_file(
    emulator: EmulatorServer, tmp_path: Path, deferrable: bool
) -> None:
    dataset_id = upload_csv_seed(emulator, "crm", "crm.csv", SEED)
    started = run_task(
        AnonymizeSeedDatasetOperator(
            task_id="start", dataset_id=dataset_id, pii_types=["email"], wait_for_completion=False, **FAST
        )
    )
    assert started.state == "success", started.message
    still_working_at_first_look(emulator, "anonymization-runs/*/")
    waited = run_task(
        AnonymizationStatusSensor(
            task_id="wait", anonymization_run_id=started.result, deferrable=deferrable, **SENSOR
        )
    )
    assert waited.state == "success", waited.message
    assert waited.result["entity_summary"] == {"email": 4}
    assert bool(waited.deferrals) is deferrable
    (masked,) = waited.result["files"]
    landed = run_task(
        DownloadAnonymizedFileOperator(
            task_id="one",
            anonymization_run_id=waited.result,
            file_id=masked["id"],
            destination=str(tmp_path),
        )
    )
    assert landed.state == "success", landed.message
    assert landed.result["path"] == str(tmp_path / "crm.csv")
    assert (tmp_path / "crm.csv").read_text().splitlines()[1] == "Mary Smith,[REDACTED],basic,email"


@pytest.mark.parametrize("deferrable", [False, True])
def test_red_team_run_sensor_polls_the_status_endpoint(emulator: EmulatorServer, deferrable: bool) -> None:
    spec_id = run_task(
        CreateRedTeamSpecOperator(
            task_id="spec", name="Support Bot", app_description="A bank chatbot", domain_description="Banking"
        )
    ).result
    started = run_task(
        CreateRedTeamRunOperator(
            task_id="start",
            red_team_spec_id=spec_id,
            model_name="openai/gpt-oss-120b",
            number_of_behaviors=2,
            number_of_prompts_per_behavior=2,
            wait_for_completion=False,
            **FAST,
        )
    )
    assert started.state == "success", started.message
    emulator.clear_requests()
    still_working_at_first_look(emulator, "red-team-runs/*/status/")
    waited = run_task(
        RedTeamRunStatusSensor(
            task_id="wait", red_team_run_id=started.result, deferrable=deferrable, **SENSOR
        )
    )
    assert waited.state == "success", waited.message
    assert waited.result["red_team_run_id"] == started.result["red_team_run_id"]
    assert waited.result["behaviors"] == 2 and len(waited.result["prompts"]) == 4
    assert bool(waited.deferrals) is deferrable
    polls = [r.path for r in emulator.requests(method="GET", path="red-team-runs/**")]
    assert polls[-1].endswith(f"/{started.result['red_team_run_id']}/")  # the prompts, read once
    assert polls[:-1] and all(p.endswith("/status/") for p in polls[:-1])


def test_one_generated_file_and_one_seed_file(emulator: EmulatorServer, tmp_path: Path) -> None:
    ids = ready_run(emulator, samples=3)
    run = api(emulator, "GET", f"runs/{ids['run_id']}/")
    generated = run["generated_files"][0]
    landed = run_task(
        DownloadRunFileOperator(
            task_id="one",
            run_id={"run_id": ids["run_id"]},
            file_id=generated["id"],
            destination=f"file://{tmp_path / 'lake'}",
            poll_interval=0.05,
        )
    )
    assert landed.state == "success", landed.message
    name = generated["path"].rsplit("/", 1)[-1]
    assert landed.result["path"] == f"file://{tmp_path / 'lake' / name}"
    assert (tmp_path / "lake" / name).stat().st_size == landed.result["bytes"] > 0
    assert [r.status for r in emulator.requests(method="GET", path="runs/*/files/*/download/")][-1] == 200

    dataset = api(emulator, "GET", "seed-datasets/")[0]
    seed_file = api(emulator, "GET", f"seed-datasets/{dataset['id']}/")["files"][0]
    copied = run_task(
        DownloadSeedFileOperator(
            task_id="seed", dataset_id=dataset["id"], file_id=seed_file["id"], destination=str(tmp_path)
        )
    )
    assert copied.state == "success", copied.message
    assert Path(copied.result["path"]).read_bytes() == SEED
