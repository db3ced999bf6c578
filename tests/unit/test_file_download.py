"""One-file downloads: a run's generated file, a seed file, a masked file (respx)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import respx

from airflow_provider_dataframer.exceptions import (
    DataframerDownloadError,
    DataframerResponseError,
    DataframerValidationError,
)
from airflow_provider_dataframer.operators.file_download import (
    DownloadAnonymizedFileOperator,
    DownloadRunFileOperator,
    DownloadSeedFileOperator,
    name_from_server,
)
from tests.conftest import TEST_API_KEY, TEST_BASE_URL

RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
DATASET_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
FILE_ID = "0a7e4b1c-2d3f-4e5a-8b9c-1d2e3f4a5b6c"
API = f"{TEST_BASE_URL}/api/dataframer"
RUN_FILE_URL = f"{API}/runs/{RUN_ID}/files/{FILE_ID}/download/"
SEED_FILE_URL = f"{API}/seed-datasets/{DATASET_ID}/files/{FILE_ID}/"
MASKED_FILE_URL = f"{API}/anonymization-runs/{RUN_ID}/files/{FILE_ID}/download/"
PRESIGNED = "https://bucket.storage.test/one?X-Signature=s3cr3t-signature"
CONTENT = b"ticket_id,channel\nT-1,email\n"


@pytest.fixture(autouse=True)
def no_sleep(mocker):  # type: ignore[no-untyped-def]
    mocker.patch("airflow_provider_dataframer.hooks.dataframer.time.sleep")
    mocker.patch("airflow_provider_dataframer.hooks.presigned.time.sleep")
    return mocker.patch("dataframer._base_client.time.sleep")


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


@respx.mock
def test_run_file_waits_for_202_then_lands_under_the_servers_name(tmp_path: Path) -> None:
    respx.get(RUN_FILE_URL).mock(
        side_effect=[
            httpx.Response(202, json={"download_url": None, "filename": None, "content_type": None}),
            httpx.Response(
                200,
                json={"download_url": PRESIGNED, "filename": "samples/t_001.csv", "content_type": "text/csv"},
            ),
        ]
    )
    fetched = respx.get(PRESIGNED).respond(content=CONTENT)
    ctx = context()
    result = DownloadRunFileOperator(
        task_id="one", run_id={"run_id": RUN_ID}, file_id=FILE_ID, destination=str(tmp_path / "out")
    ).execute(ctx)
    written = tmp_path / "out" / "t_001.csv"
    assert result == {"path": str(written), "bytes": len(CONTENT), "file_id": FILE_ID, "run_id": RUN_ID}
    assert written.read_bytes() == CONTENT
    assert "authorization" not in fetched.calls.last.request.headers  # presigned: no API key
    ctx["ti"].xcom_push.assert_called_once_with(key="run_id", value=RUN_ID)


@respx.mock
def test_seed_file_through_the_sdk_with_a_chosen_name(tmp_path: Path) -> None:
    route = respx.get(SEED_FILE_URL).respond(
        json={"download_url": PRESIGNED, "filename": "tickets.csv", "content_type": "text/csv"}
    )
    respx.get(PRESIGNED).respond(content=CONTENT)
    result = DownloadSeedFileOperator(
        task_id="seed",
        dataset_id={"id": DATASET_ID},
        file_id=FILE_ID,
        destination=str(tmp_path),
        filename="seed-copy.csv",
    ).execute(context())
    assert result["path"] == str(tmp_path / "seed-copy.csv") and result["dataset_id"] == DATASET_ID
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TEST_API_KEY}"
    assert route.calls.last.request.headers["x-data-plane-follow"] == "1"


@respx.mock
def test_masked_file_reads_file_name(tmp_path: Path) -> None:
    respx.get(MASKED_FILE_URL).respond(
        json={"download_url": PRESIGNED, "file_name": "crm.csv", "content_type": "text/csv"}
    )
    respx.get(PRESIGNED).respond(content=CONTENT)
    result = DownloadAnonymizedFileOperator(
        task_id="masked",
        anonymization_run_id={"anonymization_run_id": RUN_ID},
        file_id=FILE_ID,
        destination=str(tmp_path),
    ).execute(context())
    assert result["path"] == str(tmp_path / "crm.csv") and result["anonymization_run_id"] == RUN_ID


@respx.mock
def test_bad_arguments_are_refused_before_any_request(tmp_path: Path) -> None:
    common = {"destination": str(tmp_path)}
    with pytest.raises(DataframerValidationError, match="run_id must be a UUID"):
        DownloadRunFileOperator(task_id="x", run_id="run-1", file_id=FILE_ID, **common)
    with pytest.raises(DataframerValidationError, match="file_id must be a UUID"):
        DownloadSeedFileOperator(task_id="x", dataset_id=DATASET_ID, file_id="../../etc", **common)
    with pytest.raises(DataframerValidationError, match="filename must be a plain file name"):
        DownloadRunFileOperator(task_id="x", run_id=RUN_ID, file_id=FILE_ID, filename="../x", **common)
    with pytest.raises(DataframerValidationError, match="destination must be a folder"):
        DownloadRunFileOperator(task_id="x", run_id=RUN_ID, file_id=FILE_ID, destination=" ")
    with pytest.raises(DataframerValidationError, match="download_timeout"):
        DownloadRunFileOperator(task_id="x", run_id=RUN_ID, file_id=FILE_ID, download_timeout=0, **common)
    with pytest.raises(DataframerValidationError, match="max_download_bytes"):
        DownloadSeedFileOperator(
            task_id="x", dataset_id=DATASET_ID, file_id=FILE_ID, max_download_bytes=0, **common
        )
    # Templates are checked once rendered, still before any request.
    operator = DownloadRunFileOperator(task_id="x", run_id="{{ r }}", file_id="{{ f }}", **common)
    operator.run_id, operator.file_id = RUN_ID, "not-an-id"
    with pytest.raises(DataframerValidationError, match="file_id must be a UUID"):
        operator.execute(context())
    afile = tmp_path / "a-file"
    afile.write_text("x")
    with pytest.raises(DataframerValidationError, match="is a file, not a folder"):
        DownloadSeedFileOperator(
            task_id="x", dataset_id=DATASET_ID, file_id=FILE_ID, destination=str(afile)
        ).execute(context())
    assert not respx.calls


@respx.mock
def test_the_download_is_bounded_and_leaves_nothing_behind(tmp_path: Path) -> None:
    respx.get(SEED_FILE_URL).respond(json={"download_url": PRESIGNED, "filename": "big.csv"})
    respx.get(PRESIGNED).respond(content=b"x" * 1000)
    operator = DownloadSeedFileOperator(
        task_id="x", dataset_id=DATASET_ID, file_id=FILE_ID, destination=str(tmp_path), max_download_bytes=100
    )
    with pytest.raises(DataframerDownloadError):
        operator.execute(context())
    assert os.listdir(tmp_path) == []


@respx.mock
def test_never_written_through_a_link_in_the_destination(tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(b"keep me")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "t.csv").symlink_to(outside)
    respx.get(SEED_FILE_URL).respond(json={"download_url": PRESIGNED, "filename": "t.csv"})
    respx.get(PRESIGNED).respond(content=CONTENT)
    DownloadSeedFileOperator(
        task_id="x", dataset_id=DATASET_ID, file_id=FILE_ID, destination=str(folder)
    ).execute(context())
    assert outside.read_bytes() == b"keep me"
    assert not (folder / "t.csv").is_symlink() and (folder / "t.csv").read_bytes() == CONTENT


@respx.mock
def test_an_answer_without_url_is_an_error(tmp_path: Path) -> None:
    respx.get(SEED_FILE_URL).respond(json={"download_url": None, "filename": "t.csv"})
    with pytest.raises(DataframerResponseError, match="no download_url"):
        DownloadSeedFileOperator(
            task_id="x", dataset_id=DATASET_ID, file_id=FILE_ID, destination=str(tmp_path)
        ).execute(context())


@pytest.mark.parametrize(
    ("announced", "expected"),
    [
        ("samples/a.txt", "a.txt"),
        ("..\\..\\evil.txt", "evil.txt"),
        ("..", FILE_ID),
        ("", FILE_ID),
        (None, FILE_ID),
        ("a/", "a"),
    ],
)
def test_the_servers_name_never_leaves_the_folder(announced: str | None, expected: str) -> None:
    assert name_from_server(announced, FILE_ID) == expected


def test_template_fields() -> None:
    assert DownloadRunFileOperator.template_fields == ("run_id", "file_id", "destination", "filename")
    assert DownloadSeedFileOperator.template_fields == ("dataset_id", "file_id", "destination", "filename")
    assert DownloadAnonymizedFileOperator.template_fields[0] == "anonymization_run_id"
