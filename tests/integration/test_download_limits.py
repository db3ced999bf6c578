"""The download bounds through the real stack: the emulator over loopback, real ZIPs, the task runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from airflow_provider_dataframer.operators.run import CreateRunOperator, DownloadRunFilesOperator
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.integration.task_runner import run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

FAST = {"poll_interval": 0.05, "timeout": 60}
SAMPLES = 6


@pytest.fixture
def finished_run(emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The summary of a SUCCEEDED run of a MULTI_FOLDER seed: its files sit in one folder per sample."""
    seed = tmp_path_factory.mktemp("seed")
    for folder, text in (
        ("claims", "A claim about a dented car door.\n"),
        ("replies", "We reply within a day.\n"),
    ):
        (seed / folder).mkdir()
        (seed / folder / "letter.txt").write_text(text * 20)
    dataset_id = succeeded(UploadSeedDatasetOperator(task_id="upload", name="limits-seed", paths=str(seed)))
    spec_id = succeeded(CreateSpecOperator(task_id="spec", name="limits-spec", dataset_id=dataset_id, **FAST))
    result = succeeded(CreateRunOperator(task_id="run", spec_id=spec_id, number_of_samples=SAMPLES, **FAST))
    assert len(result["files"]) >= SAMPLES
    return dict(result)


def succeeded(operator: Any) -> Any:
    outcome = run_task(operator)
    assert outcome.state == "success", outcome.message
    return outcome.result


def download_requests(server: EmulatorServer) -> list[Any]:
    return [record for record in server.requests() if "/files/download/" in record.path]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_bad_destination_fails_before_the_download_is_requested(
    emulator: EmulatorServer, finished_run: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    for destination, message in (
        (tmp_path / "a-file", "is a file, not a folder"),
        (tmp_path / "a-file" / "below", "cannot be created"),
    ):
        outcome = run_task(
            DownloadRunFilesOperator(task_id="download", run_id=finished_run, destination=str(destination))
        )
        assert outcome.state == "failed" and f"destination {destination} {message}" in outcome.message
    assert download_requests(emulator) == []


def test_a_zip_over_the_entry_limit_writes_nothing(
    emulator: EmulatorServer, finished_run: dict[str, Any], tmp_path: Path
) -> None:
    op = DownloadRunFilesOperator(
        task_id="download", run_id=finished_run, destination=str(tmp_path / "out"), max_zip_entries=3
    )
    outcome = run_task(op)
    assert outcome.state == "failed"
    assert "more than max_zip_entries (3)" in outcome.message and "nothing was written" in outcome.message
    assert files_under(tmp_path / "out") == []


def test_many_files_give_a_bounded_result_and_every_file_lands(
    emulator: EmulatorServer, finished_run: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    op = DownloadRunFilesOperator(
        task_id="download", run_id=finished_run, destination=str(out), max_listed_files=2
    )
    outcome = run_task(op)
    assert outcome.state == "success", outcome.message
    result = json.loads(json.dumps(outcome.result))  # what XCom stores
    paths = sorted(f["path"] for f in finished_run["files"])
    assert result["folder"] == str(out) and result["count"] == len(paths) and result["truncated"] is True
    assert len(result["files"]) == 2 and all(path.startswith(f"{out}/") for path in result["files"])
    assert result["bytes"] == sum(f["size_bytes"] for f in finished_run["files"])
    assert files_under(out) == paths


def test_a_symlinked_folder_in_the_destination_is_not_followed(
    emulator: EmulatorServer, finished_run: dict[str, Any], tmp_path: Path
) -> None:
    first = sorted(f["path"] for f in finished_run["files"])[0]
    folder = first.split("/")[0]
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    out.mkdir()
    (out / folder).symlink_to(outside, target_is_directory=True)
    outcome = run_task(
        DownloadRunFilesOperator(task_id="download", run_id=finished_run, destination=str(out))
    )
    assert (
        outcome.state == "failed" and f"'{folder}' in destination {out} is a symbolic link" in outcome.message
    )
    assert list(outside.iterdir()) == []
    assert files_under(out) == [], "what was written before the link was met is removed"
