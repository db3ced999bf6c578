"""Each downstream operator and sensor against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import httpx
import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from airflow_provider_dataframer.sensors.run import RunStatusSensor
from airflow_provider_dataframer.sensors.spec import SpecStatusSensor
from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from tests.integration.conftest import EXAMPLE_DAGS, point_connection_at
from tests.integration.task_runner import rebuild_trigger, run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

SEED_CSV = EXAMPLE_DAGS / "data" / "support_tickets.csv"
DATASET_CREATES = "seed-datasets/create*/"
FAST = {"poll_interval": 0.05, "timeout": 60}


def api(server: EmulatorServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/api/dataframer/{path}", headers=server.headers)
    response.raise_for_status()
    return response.json()


def upload(name: str, paths: Any, **kwargs: Any) -> str:
    outcome = run_task(UploadSeedDatasetOperator(task_id="upload", name=name, paths=paths, **kwargs))
    assert outcome.state == "success", outcome.message
    return str(outcome.result)


def ready_spec(name: str = "chain-spec", dataset_id: str | None = None) -> str:
    if dataset_id is None:
        dataset_id = upload(f"{name}-seed", str(SEED_CSV))
    outcome = run_task(CreateSpecOperator(task_id="spec", name=name, dataset_id=dataset_id, **FAST))
    assert outcome.state == "success", outcome.message
    return str(outcome.result)


def write(path: Path, content: bytes = b"some text\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# Seed datasets


def test_upload_single_csv(emulator: EmulatorServer) -> None:
    dataset_id = upload("tickets", str(SEED_CSV), description="help desk export")
    dataset = api(emulator, f"seed-datasets/{dataset_id}/")
    assert dataset["dataset_type"] == "SINGLE_FILE" and dataset["description"] == "help desk export"
    assert [f["path"] for f in dataset["files"]] == ["support_tickets.csv"]
    assert dataset["files"][0]["size_bytes"] == SEED_CSV.stat().st_size


def test_upload_folder_of_folders_from_an_object_storage_uri(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    for case in ("case-a", "case-b"):
        write(tmp_path / "cases" / case / "intake.txt", f"intake of {case}\n".encode())
        write(tmp_path / "cases" / case / "notes.md", f"# notes of {case}\n".encode())
    dataset_id = upload("cases", f"file://{tmp_path}/cases")
    dataset = api(emulator, f"seed-datasets/{dataset_id}/")
    assert dataset["dataset_type"] == "MULTI_FOLDER" and dataset["folder_count"] == 2
    assert sorted(f["path"] for f in dataset["files"]) == [
        "case-a/intake.txt",
        "case-a/notes.md",
        "case-b/intake.txt",
        "case-b/notes.md",
    ]


def test_upload_zip(emulator: EmulatorServer, tmp_path: Path) -> None:
    archive = tmp_path / "docs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for n in range(3):
            z.writestr(f"docs/doc{n}.txt", f"document {n}\n")
    dataset_id = upload("zipped-docs", str(archive))
    dataset = api(emulator, f"seed-datasets/{dataset_id}/")
    assert dataset["dataset_type"] == "MULTI_FILE" and dataset["file_count"] == 3
    assert len(emulator.requests(method="POST", path="seed-datasets/create-from-zip/")) == 1


def test_rerun_reuses_the_same_dataset(emulator: EmulatorServer) -> None:
    first = upload("tickets-weekly", str(SEED_CSV))
    assert upload("tickets-weekly", str(SEED_CSV)) == first
    assert [d["id"] for d in api(emulator, "seed-datasets/")] == [first]


def too_many_files(tmp_path: Path) -> tuple[list[str], str]:
    return [
        str(write(tmp_path / "many" / f"{n:04}.txt")) for n in range(1001)
    ], "takes 2-1000 files, got 1001"


def file_too_big(tmp_path: Path) -> tuple[list[str], str]:
    big = write(tmp_path / "big.md", b"x" * (1024 * 1024 + 1))
    return [str(write(tmp_path / "small.md")), str(big)], f"File {big} is 1.0 MB; a MULTI_FILE dataset allows"


def wrong_type(tmp_path: Path) -> tuple[list[str], str]:
    image = write(tmp_path / "scan.png", b"\x89PNG")
    return [str(write(tmp_path / "a.txt")), str(image)], f"File {image}: type '.png' is not allowed"


def too_few_rows(tmp_path: Path) -> tuple[list[str], str]:
    table = write(tmp_path / "one_row.csv", b"a,b\n1,2\n")
    return [str(table)], f"File {table} has 1 data row(s)"


@pytest.mark.parametrize("case", [too_many_files, file_too_big, wrong_type, too_few_rows])
def test_limit_violations_name_the_file_and_upload_nothing(
    emulator: EmulatorServer, tmp_path: Path, case: Any
) -> None:
    paths, message = case(tmp_path)
    outcome = run_task(UploadSeedDatasetOperator(task_id="upload", name="bad-seed", paths=paths))
    assert outcome.state == "failed"
    assert isinstance(outcome.error, DataframerValidationError)
    assert "nothing was uploaded" in outcome.message and message in outcome.message
    assert emulator.requests(path=DATASET_CREATES) == []
    assert api(emulator, "seed-datasets/") == []


# Runs


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_run_returns_its_summary_and_pushes_its_id(emulator: EmulatorServer, deferrable: bool) -> None:
    spec_id = ready_spec()
    op = CreateRunOperator(
        task_id="generate",
        spec_id=spec_id,
        number_of_samples=6,
        generation_model="anthropic/claude-haiku-4-5",
        deferrable=deferrable,
        **FAST,
    )
    outcome = run_task(op)
    assert outcome.state == "success", outcome.message
    summary = outcome.result
    run = api(emulator, f"runs/{summary['run_id']}/")
    assert summary["status"] == run["status"] == "SUCCEEDED"
    assert summary["samples_completed"] == 6 and summary["samples_failed"] == 0
    assert summary["total_cost"] == run["total_cost"] > 0
    assert summary["files"] == [
        {"id": f["id"], "path": f["path"], "size_bytes": f["size_bytes"]} for f in run["generated_files"]
    ]
    assert run["runtime_params"]["generation_model"] == "anthropic/claude-haiku-4-5"
    assert [c[0] for c in outcome.deferrals] == (
        ["airflow_provider_dataframer.triggers.run.RunStatusTrigger"] if deferrable else []
    )


def test_partial_failure_succeeds_with_the_counts(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_id = ready_spec("tickets [partial]")
    outcome = run_task(CreateRunOperator(task_id="generate", spec_id=spec_id, number_of_samples=20, **FAST))
    assert outcome.state == "success", outcome.message
    assert outcome.result["samples_completed"] == 18 and outcome.result["samples_failed"] == 2
    logs = caplog.text + capsys.readouterr().out
    assert "Partial failure" in logs and "18 samples completed and 2 failed of 20 requested" in logs


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_failed_run_fails_the_task_with_what_the_run_says(emulator: EmulatorServer, deferrable: bool) -> None:
    """Today's API gives a run no error text: the message says so and carries the counts."""
    spec_id = ready_spec("tickets [fail-run]")
    op = CreateRunOperator(
        task_id="generate", spec_id=spec_id, number_of_samples=8, deferrable=deferrable, **FAST
    )
    outcome = run_task(op)
    assert outcome.state == "failed"
    assert "ended FAILED" in outcome.message and "samples 4/8, 4 failed" in outcome.message
    assert "see the run in Dataframer" in outcome.message


def test_run_of_an_unready_spec_is_refused_with_the_reason(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The spec stays PROCESSING far longer than the test can take: no race with a 300 ms lifecycle.
    server = dataframer_emulator_factory(spec_seconds=3600)
    point_connection_at(monkeypatch, server)
    spec = CreateSpecOperator(
        task_id="spec", name="slow", generation_objectives="tickets", wait_for_completion=False
    )
    spec_id = run_task(spec).result
    outcome = run_task(CreateRunOperator(task_id="generate", spec_id=spec_id, number_of_samples=1, **FAST))
    assert outcome.state == "failed" and "is not ready for a run" in outcome.message


def test_killed_task_cancels_its_run(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dataframer_emulator_factory(run_seconds=60)
    point_connection_at(monkeypatch, server)
    spec_id = ready_spec()
    op = CreateRunOperator(task_id="generate", spec_id=spec_id, number_of_samples=100, **FAST)

    def kill_once_running() -> None:  # Airflow calls on_kill from a signal handler, beside the wait
        deadline = time.time() + 10
        while op.run_id is None and time.time() < deadline:
            time.sleep(0.02)
        assert api(server, f"runs/{op.run_id}/")["status"] in ("PENDING", "PROCESSING")
        op.on_kill()

    killer = threading.Thread(target=kill_once_running)
    killer.start()
    outcome = run_task(op)  # the worker's wait sees the run end CANCELED
    killer.join(timeout=10)
    assert op.run_id is not None
    assert api(server, f"runs/{op.run_id}/")["status"] == "CANCELED"
    assert len(server.requests(method="POST", path=f"runs/{op.run_id}/cancel/")) == 1
    assert outcome.state == "failed" and "ended CANCELED" in outcome.message


def test_killed_deferred_task_cancels_its_run(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = dataframer_emulator_factory(run_seconds=60)
    point_connection_at(monkeypatch, server)
    spec_id = ready_spec()
    op = CreateRunOperator(
        task_id="generate", spec_id=spec_id, number_of_samples=100, deferrable=True, **FAST
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute({"ti": mock.MagicMock()})
    trigger = rebuild_trigger(*deferred.value.trigger.serialize())  # as the triggerer does
    assert isinstance(trigger, RunStatusTrigger) and trigger.cancel_on_kill
    # The task's state as the triggerer's supervisor reports it after a user marked it failed
    # (read over the supervisor channel: tests/unit/test_run_trigger.py, tests/deployment/scaleout).
    monkeypatch.setattr(
        "airflow_provider_dataframer.triggers.run.current_task_state", mock.AsyncMock(return_value="failed")
    )
    asyncio.run(trigger.on_kill())  # what the Airflow 3.3 triggerer calls on a user kill
    assert api(server, f"runs/{trigger.run_id}/")["status"] == "CANCELED"


# Downloads


@pytest.mark.parametrize("unzip", [True, False], ids=["unzip", "zip"])
def test_download_to_a_local_object_storage_path(
    emulator: EmulatorServer, tmp_path: Path, unzip: bool, mocker: Any
) -> None:
    spec_id = ready_spec()
    summary = run_task(
        CreateRunOperator(task_id="generate", spec_id=spec_id, number_of_samples=4, **FAST)
    ).result
    sent = mocker.spy(httpx.Client, "send")
    op = DownloadRunFilesOperator(
        task_id="download",
        run_id=summary,
        destination=f"file://{tmp_path}/lake/out",
        unzip=unzip,
        poll_interval=0.05,
    )
    outcome = run_task(op)
    assert outcome.state == "success", outcome.message
    out = tmp_path / "lake" / "out"
    assert outcome.result["folder"] == f"file://{out}" and outcome.result["truncated"] is False
    if unzip:
        assert sorted(outcome.result["files"]) == sorted(
            f"file://{out}/{f['path']}" for f in summary["files"]
        )
        for f in summary["files"]:
            assert (out / f["path"]).stat().st_size == f["size_bytes"]
    else:
        (written,) = outcome.result["files"]
        assert written == f"file://{out}/dataframer-run-{summary['run_id']}.zip"
        with zipfile.ZipFile(out / f"dataframer-run-{summary['run_id']}.zip") as archive:
            # The ZIP is kept as the service made it, sidecars included.
            generated = [name for name in archive.namelist() if not name.endswith(".metadata")]
            assert sorted(generated) == sorted(f["path"] for f in summary["files"])
    requests = [
        arg
        for call in sent.call_args_list
        for arg in (*call.args, *call.kwargs.values())
        if isinstance(arg, httpx.Request)
    ]
    downloads = [request for request in requests if "/_emulator/downloads/" in str(request.url)]
    assert downloads and all("authorization" not in request.headers for request in downloads)
    assert len(emulator.requests(method="GET", path="runs/*/files/download/")) >= 2, "202 first, then 200"


def test_download_of_a_failed_run_says_why(emulator: EmulatorServer, tmp_path: Path) -> None:
    spec_id = ready_spec("tickets [fail-run]")
    run = run_task(CreateRunOperator(task_id="generate", spec_id=spec_id, number_of_samples=2, **FAST))
    run_id = run.error.event["id"]  # type: ignore[union-attr]
    outcome = run_task(DownloadRunFilesOperator(task_id="download", run_id=run_id, destination=str(tmp_path)))
    assert outcome.state == "failed" and "has no files to download: its status is FAILED" in outcome.message


# Sensors


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
def test_sensors_wait_for_work_started_elsewhere(emulator: EmulatorServer, deferrable: bool) -> None:
    spec = CreateSpecOperator(
        task_id="spec", name="elsewhere", generation_objectives="tickets", wait_for_completion=False
    )
    spec_id = run_task(spec).result
    spec_wait = SpecStatusSensor(
        task_id="wait_spec", spec_id=spec_id, poke_interval=0.05, timeout=30, deferrable=deferrable
    )
    waited = run_task(spec_wait)
    assert waited.state == "success" and waited.result == spec_id
    start = CreateRunOperator(
        task_id="start", spec_id=spec_id, number_of_samples=3, wait_for_completion=False
    )
    started = run_task(start).result
    assert started["status"] in ("PENDING", "PROCESSING")
    run_wait = RunStatusSensor(
        task_id="wait_run", run_id=started, poke_interval=0.05, timeout=30, deferrable=deferrable
    )
    outcome = run_task(run_wait)
    assert outcome.state == "success", outcome.message
    assert outcome.result["status"] == "SUCCEEDED" and outcome.result["samples_completed"] == 3


def test_run_sensor_fails_on_a_canceled_run(emulator: EmulatorServer) -> None:
    spec_id = ready_spec()
    started = run_task(
        CreateRunOperator(task_id="start", spec_id=spec_id, number_of_samples=3, wait_for_completion=False)
    )
    httpx.post(
        f"{emulator.url}/api/dataframer/runs/{started.result['run_id']}/cancel/", headers=emulator.headers
    )
    outcome = run_task(
        RunStatusSensor(task_id="wait_run", run_id=started.result, poke_interval=0.05, timeout=30)
    )
    assert outcome.state == "failed" and "ended CANCELED" in outcome.message
