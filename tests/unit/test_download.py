from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import respx

from airflow_provider_dataframer.exceptions import (
    DataframerDownloadError,
    DataframerNotFoundError,
    DataframerValidationError,
)
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.models import DownloadLink
from airflow_provider_dataframer.operators.run import DownloadRunFilesOperator
from tests.conftest import TEST_API_KEY, TEST_BASE_URL

RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
FILE_ID = "0a7e4b1c-2d3f-4e5a-8b9c-1d2e3f4a5b6c"
DOWNLOAD_URL = f"{TEST_BASE_URL}/api/dataframer/runs/{RUN_ID}/files/download/"
PRESIGNED = "https://bucket.storage.test/runs/r1.zip?X-Signature=s3cr3t-signature"


@pytest.fixture(autouse=True)
def no_sleep(mocker):  # type: ignore[no-untyped-def]
    mocker.patch("airflow_provider_dataframer.hooks.dataframer.time.sleep")
    mocker.patch("airflow_provider_dataframer.hooks.presigned.time.sleep")
    return mocker.patch("dataframer._base_client.time.sleep")


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


FILES = {"samples/sample_001.txt": b"first sample", "samples/sample_002.txt": b"second sample"}
ZIP = zip_bytes(FILES)


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


@respx.mock
def test_wait_for_link_polls_202_until_200() -> None:
    route = respx.get(DOWNLOAD_URL).mock(
        side_effect=[
            httpx.Response(202, json={"status": "PENDING"}),
            httpx.Response(202, json={"status": "PENDING"}),
            httpx.Response(200, json={"download_url": PRESIGNED, "size_bytes": 10}),
        ]
    )
    sleeps: list[float] = []
    link = DataframerHook().wait_for_download_link(RUN_ID, poll_interval=1.5, sleep=sleeps.append)
    assert link.download_url == PRESIGNED and link.size_bytes == 10
    assert route.call_count == 3 and sleeps == [1.5, 1.5]
    assert "s3cr3t" not in repr(link), "the presigned URL never reaches a log through repr"


@respx.mock
def test_wait_for_link_is_bounded() -> None:
    respx.get(DOWNLOAD_URL).respond(202, json={"status": "PENDING"})
    with pytest.raises(DataframerDownloadError, match=r"still preparing .* after 0 s"):
        DataframerHook().wait_for_download_link(RUN_ID, timeout=0.0, sleep=lambda _: None)


@respx.mock
def test_one_file_download_path() -> None:
    route = respx.get(f"{TEST_BASE_URL}/api/dataframer/runs/{RUN_ID}/files/{FILE_ID}/download/").respond(
        json={"download_url": PRESIGNED, "size_bytes": 3, "filename": "a.txt"}
    )
    link = DataframerHook().get_download_link(RUN_ID, FILE_ID)
    assert link is not None and link.filename == "a.txt" and route.called
    # A customer-hosted data plane answers 501 without it: the SDK's download sends it.
    assert route.calls.last.request.headers["X-Data-Plane-Follow"] == "1"


@respx.mock
def test_the_download_of_all_files_says_it_can_follow_a_data_plane() -> None:
    route = respx.get(f"{TEST_BASE_URL}/api/dataframer/runs/{RUN_ID}/files/download/").respond(
        202, json={"status": "PENDING"}
    )
    assert DataframerHook().get_download_link(RUN_ID) is None, "no URL yet: still prepared"
    assert route.calls.last.request.headers["X-Data-Plane-Follow"] == "1"


@respx.mock
def test_presigned_url_is_fetched_without_the_api_key() -> None:
    storage = respx.get(PRESIGNED).respond(content=ZIP)
    out = io.BytesIO()
    written = DataframerHook().download(DownloadLink(download_url=PRESIGNED, size_bytes=len(ZIP)), out)
    assert written == len(ZIP) and out.getvalue() == ZIP
    request = storage.calls.last.request
    assert "authorization" not in request.headers
    assert TEST_API_KEY not in str(request.headers)


@respx.mock
def test_size_mismatch_is_an_error() -> None:
    respx.get(PRESIGNED).respond(content=ZIP[:-5])
    with pytest.raises(
        DataframerDownloadError, match=rf"{len(ZIP) - 5} bytes received, {len(ZIP)} announced"
    ):
        DataframerHook().download(DownloadLink(download_url=PRESIGNED, size_bytes=len(ZIP)), io.BytesIO())


@respx.mock
def test_expired_url_says_so_without_leaking_the_signature() -> None:
    respx.get(PRESIGNED).respond(403, text="<Error><Code>AccessDenied</Code></Error>")
    with pytest.raises(DataframerDownloadError, match="expires one hour after") as excinfo:
        DataframerHook().download(DownloadLink(download_url=PRESIGNED), io.BytesIO())
    assert "s3cr3t" not in str(excinfo.value)
    assert "bucket.storage.test/runs/r1.zip" in str(excinfo.value)


@respx.mock
def test_connection_errors_before_the_first_byte_are_retried() -> None:
    route = respx.get(PRESIGNED).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, content=ZIP)]
    )
    out = io.BytesIO()
    assert DataframerHook().download(DownloadLink(download_url=PRESIGNED), out) == len(ZIP)
    assert route.call_count == 2 and out.getvalue() == ZIP


def mock_download(size: int | None = len(ZIP)) -> None:
    respx.get(DOWNLOAD_URL).mock(
        side_effect=[
            httpx.Response(202, json={}),
            httpx.Response(200, json={"download_url": PRESIGNED, "size_bytes": size}),
        ]
    )
    respx.get(PRESIGNED).respond(content=ZIP)


@respx.mock
def test_operator_unzips_into_a_local_folder(tmp_path: Path) -> None:
    mock_download()
    destination = tmp_path / "out" / "nested"
    op = DownloadRunFilesOperator(
        task_id="download", run_id=RUN_ID, destination=str(destination), poll_interval=0.01
    )
    ctx = context()
    result = op.execute(ctx)
    assert result == {
        "folder": str(destination),
        "count": 2,
        "bytes": sum(len(content) for content in FILES.values()),
        "files": [str(destination / name) for name in FILES],
        "truncated": False,
    }
    for name, content in FILES.items():
        assert (destination / name).read_bytes() == content
    ctx["ti"].xcom_push.assert_called_once_with(key="run_id", value=RUN_ID)


@respx.mock
def test_operator_accepts_the_run_summary_and_keeps_the_zip(tmp_path: Path) -> None:
    mock_download()
    summary = {"run_id": RUN_ID, "status": "SUCCEEDED", "files": []}
    op = DownloadRunFilesOperator(
        task_id="download", run_id=summary, destination=str(tmp_path), unzip=False, poll_interval=0.01
    )
    result = op.execute(context())
    (written,) = result["files"]
    assert result["count"] == 1 and result["bytes"] == len(ZIP)
    assert written == str(tmp_path / f"dataframer-run-{RUN_ID}.zip")
    assert Path(written).read_bytes() == ZIP


@respx.mock
def test_operator_writes_to_an_object_storage_uri(tmp_path: Path) -> None:
    mock_download()
    op = DownloadRunFilesOperator(
        task_id="download", run_id=RUN_ID, destination=f"file://{tmp_path}/lake", poll_interval=0.01
    )
    result = op.execute(context())
    assert result["folder"] == f"file://{tmp_path}/lake"
    assert result["files"] == [f"file://{tmp_path}/lake/{name}" for name in FILES]
    assert (tmp_path / "lake" / "samples" / "sample_002.txt").read_bytes() == b"second sample"


@respx.mock
def test_operator_removes_a_partial_zip(tmp_path: Path) -> None:
    mock_download(size=len(ZIP) + 1)
    op = DownloadRunFilesOperator(
        task_id="download", run_id=RUN_ID, destination=str(tmp_path), unzip=False, poll_interval=0.01
    )
    with pytest.raises(DataframerDownloadError, match="incomplete"):
        op.execute(context())
    assert list(tmp_path.iterdir()) == []


@respx.mock
def test_operator_reports_a_missing_run(tmp_path: Path) -> None:
    respx.get(DOWNLOAD_URL).respond(404, json={"detail": "Run not found."})
    op = DownloadRunFilesOperator(task_id="download", run_id=RUN_ID, destination=str(tmp_path))
    with pytest.raises(DataframerNotFoundError, match="Run not found"):
        op.execute(context())


def test_operator_rejects_an_unusable_run_id() -> None:
    with pytest.raises(DataframerValidationError, match="run_id must be a run id or the summary"):
        DownloadRunFilesOperator(task_id="download", run_id="", destination="/tmp/x")
    op = DownloadRunFilesOperator(task_id="download", run_id={"status": "SUCCEEDED"}, destination="/tmp/x")
    with pytest.raises(DataframerValidationError, match="run_id must be"):
        op.execute(context())


def test_template_fields() -> None:
    assert set(DownloadRunFilesOperator.template_fields) == {"run_id", "destination"}


@respx.mock
def test_the_anonymized_zip_is_waited_for_by_the_same_loop() -> None:
    anonymization_id = "7c3e1f0a-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
    route = respx.get(f"{TEST_BASE_URL}/api/dataframer/anonymization-runs/{anonymization_id}/download/")
    route.side_effect = [
        httpx.Response(200, json={"status": "generating"}),
        httpx.Response(200, json={"download_url": "https://bucket.storage.test/masked.zip", "size_bytes": 7}),
    ]
    sleeps: list[float] = []
    link = DataframerHook().wait_for_anonymized_download_link(
        anonymization_id, poll_interval=1.5, sleep=sleeps.append
    )
    assert link.download_url == "https://bucket.storage.test/masked.zip" and sleeps == [1.5]
    route.side_effect = None
    route.return_value = httpx.Response(200, json={"status": "generating"})
    with pytest.raises(
        DataframerDownloadError, match=r"masked files of anonymization run .* after 0 s .*download_timeout"
    ):
        DataframerHook().wait_for_anonymized_download_link(
            anonymization_id, timeout=0.0, sleep=lambda _: None
        )
