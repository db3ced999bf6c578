from __future__ import annotations

import email.parser
import email.policy
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import respx

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from tests.conftest import TEST_API_KEY, TEST_BASE_URL

DATASETS_URL = f"{TEST_BASE_URL}/api/dataframer/seed-datasets/"
DATASET_ID = "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11"
CSV = b"question,answer\nhow?,so\nwhy?,because\n"


@pytest.fixture(autouse=True)
def no_sleep(mocker):  # type: ignore[no-untyped-def]
    # A company without its own data plane: the SDK's upload asks once (POST /api/data-plane/token/).
    mocker.patch("dataframer.lib.data_plane._session.SyncSession.is_hybrid", return_value=False)
    mocker.patch("airflow_provider_dataframer.idempotency.time.sleep")
    return mocker.patch("dataframer._base_client.time.sleep")


def multipart(request: httpx.Request) -> list[tuple[str, str | None, bytes]]:
    """(field name, file name, content) of each part, in order."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


def write(path: Path, content: bytes = b"text") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def created(dataset_type: str, **fields: Any) -> dict[str, Any]:
    return {"id": DATASET_ID, "name": "tickets", "dataset_type": dataset_type, **fields}


@respx.mock
def test_single_file_upload_streams_the_file_as_multipart(tmp_path: Path) -> None:
    respx.get(DATASETS_URL).respond(json=[])
    route = respx.post(f"{DATASETS_URL}create/").respond(201, json=created("SINGLE_FILE", file_count=1))
    ctx = context()
    op = UploadSeedDatasetOperator(
        task_id="upload", name="tickets", paths=str(write(tmp_path / "t.csv", CSV)), description="support"
    )
    assert op.execute(ctx) == DATASET_ID
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TEST_API_KEY}"
    parts = multipart(request)
    assert sorted(part for part in parts if part[1] is None) == [
        ("dataset_type", None, b"SINGLE_FILE"),
        ("description", None, b"support"),
        ("name", None, b"tickets"),
    ]
    assert [part for part in parts if part[1]] == [("files[]", "t.csv", CSV)]
    ctx["ti"].xcom_push.assert_called_once_with(key="dataset_id", value=DATASET_ID)


@respx.mock
def test_multi_folder_upload_sends_parallel_folder_names(tmp_path: Path) -> None:
    route = respx.post(f"{DATASETS_URL}create/").respond(201, json=created("MULTI_FOLDER"))
    for folder in ("case1", "case2"):
        write(tmp_path / "cases" / folder / "a.txt", folder.encode())
        write(tmp_path / "cases" / folder / "b.md", b"# " + folder.encode())
    UploadSeedDatasetOperator(
        task_id="u", name="cases", paths=str(tmp_path / "cases"), if_exists="reuse"
    ).execute(context())
    parts = multipart(route.calls.last.request)
    fields = [(n, v) for n, f, v in parts if f is None]
    assert sorted(field for field in fields if field[0] != "folder_names[]") == [
        ("dataset_type", b"MULTI_FOLDER"),
        ("name", b"cases"),
    ]
    assert [field for field in fields if field[0] == "folder_names[]"] == [
        ("folder_names[]", b"case1"),
        ("folder_names[]", b"case1"),
        ("folder_names[]", b"case2"),
        ("folder_names[]", b"case2"),
    ]
    assert [(f, v) for n, f, v in parts if f] == [
        ("a.txt", b"case1"),
        ("b.md", b"# case1"),
        ("a.txt", b"case2"),
        ("b.md", b"# case2"),
    ]


@respx.mock
def test_zip_upload_uses_create_from_zip(tmp_path: Path) -> None:
    route = respx.post(f"{DATASETS_URL}create-from-zip/").respond(201, json=created("MULTI_FILE"))
    archive = tmp_path / "seed.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "a")
        z.writestr("b.txt", "b")
    UploadSeedDatasetOperator(task_id="u", name="zipped", paths=[str(archive)]).execute(context())
    parts = multipart(route.calls.last.request)
    assert parts[0] == ("name", None, b"zipped")
    assert parts[1][:2] == ("zip_file", "seed.zip") and parts[1][2] == archive.read_bytes()


@respx.mock
def test_limit_violation_uploads_nothing(tmp_path: Path) -> None:
    create = respx.post(f"{DATASETS_URL}create/")
    listing = respx.get(DATASETS_URL)
    paths = [str(write(tmp_path / "a.txt")), str(write(tmp_path / "photo.jpg"))]
    with pytest.raises(DataframerValidationError, match=r"photo.jpg: type '.jpg' is not allowed"):
        UploadSeedDatasetOperator(task_id="u", name="bad", paths=paths).execute(context())
    assert not create.called and not listing.called


@respx.mock
def test_retried_task_reuses_its_own_dataset(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", CSV)
    respx.post(f"{DATASETS_URL}create/").respond(
        400, json={"detail": "A seed dataset named 'tickets' already exists."}
    )
    respx.get(DATASETS_URL).respond(json=[{"id": "other", "name": "x"}, created("SINGLE_FILE")])
    respx.get(f"{DATASETS_URL}{DATASET_ID}/").respond(
        json=created("SINGLE_FILE", files=[{"id": "f", "path": "t.csv", "size_bytes": len(CSV)}])
    )
    assert (
        UploadSeedDatasetOperator(task_id="u", name="tickets", paths=str(path)).execute(context())
        == DATASET_ID
    )


@respx.mock
def test_same_name_with_other_files_is_never_touched(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", CSV)
    respx.post(f"{DATASETS_URL}create/").respond(400, json={"detail": "already exists"})
    respx.get(DATASETS_URL).respond(json=[created("SINGLE_FILE")])
    respx.get(f"{DATASETS_URL}{DATASET_ID}/").respond(
        json=created("SINGLE_FILE", file_count=1, files=[{"id": "f", "path": "other.csv", "size_bytes": 9}])
    )
    delete = respx.delete(f"{DATASETS_URL}{DATASET_ID}/")
    with pytest.raises(DataframerValidationError, match=r"already exists .* but it holds other files"):
        UploadSeedDatasetOperator(task_id="u", name="tickets", paths=str(path), if_exists="replace").execute(
            context()
        )
    assert not delete.called


@respx.mock
def test_if_exists_fail_checks_before_uploading(tmp_path: Path) -> None:
    create = respx.post(f"{DATASETS_URL}create/")
    respx.get(DATASETS_URL).respond(json=[created("SINGLE_FILE")])
    respx.get(f"{DATASETS_URL}{DATASET_ID}/").respond(json=created("SINGLE_FILE"))
    op = UploadSeedDatasetOperator(
        task_id="u", name="tickets", paths=str(write(tmp_path / "t.csv", CSV)), if_exists="fail"
    )
    with pytest.raises(DataframerValidationError, match="already exists"):
        op.execute(context())
    assert not create.called


@respx.mock
def test_a_lost_answer_adopts_the_dataset_the_server_made(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", CSV)
    create = respx.post(f"{DATASETS_URL}create/").mock(side_effect=httpx.ReadTimeout("lost"))
    respx.get(DATASETS_URL).respond(json=[created("SINGLE_FILE")])
    respx.get(f"{DATASETS_URL}{DATASET_ID}/").respond(
        json=created("SINGLE_FILE", files=[{"path": "t.csv", "size_bytes": len(CSV)}])
    )
    assert (
        UploadSeedDatasetOperator(task_id="u", name="tickets", paths=str(path)).execute(context())
        == DATASET_ID
    )
    assert create.call_count == 1


@respx.mock
def test_server_refusal_carries_its_message(tmp_path: Path) -> None:
    respx.post(f"{DATASETS_URL}create/").respond(413, json={"error": "Payload too large"})
    with pytest.raises(Exception, match="HTTP 413: Payload too large"):
        UploadSeedDatasetOperator(task_id="u", name="t", paths=str(write(tmp_path / "t.csv", CSV))).execute(
            context()
        )


def test_arguments_are_checked() -> None:
    with pytest.raises(DataframerValidationError, match="dataset_type must be one of"):
        UploadSeedDatasetOperator(task_id="u", name="n", paths="x", dataset_type="FOLDERS")
    with pytest.raises(DataframerValidationError, match="if_exists must be one of"):
        UploadSeedDatasetOperator(task_id="u", name="n", paths="x", if_exists="maybe")
    UploadSeedDatasetOperator(
        task_id="u", name="n", paths="x", dataset_type="{{ params.t }}"
    )  # checked later
    with pytest.raises(DataframerValidationError, match="name is required"):
        UploadSeedDatasetOperator(task_id="u", name=" ", paths="x").execute(context())
    assert set(UploadSeedDatasetOperator.template_fields) == {
        "name",
        "paths",
        "dataset_type",
        "folder_names",
        "description",
    }


@respx.mock
def test_dataset_type_is_case_insensitive(tmp_path: Path) -> None:
    route = respx.post(f"{DATASETS_URL}create/").respond(201, json=created("MULTI_FILE"))
    paths = [str(write(tmp_path / "a.txt")), str(write(tmp_path / "b.txt"))]
    UploadSeedDatasetOperator(task_id="u", name="n", paths=paths, dataset_type="multi_file").execute(
        context()
    )
    assert ("dataset_type", None, b"MULTI_FILE") in multipart(route.calls.last.request)
