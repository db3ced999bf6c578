"""Downloads an attacker (or an unlucky run) would abuse: each ends early, clearly, and writes nothing."""

from __future__ import annotations

import io
import json
import os
import stat
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import respx
from upath import UPath

from airflow_provider_dataframer.destinations import StorageFolder, open_destination
from airflow_provider_dataframer.exceptions import DataframerDownloadError, DataframerValidationError
from airflow_provider_dataframer.extraction import extract_zip
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.hooks.presigned import stream_presigned
from airflow_provider_dataframer.limits import DownloadLimits
from airflow_provider_dataframer.models import DownloadLink
from airflow_provider_dataframer.operators.run import DownloadRunFilesOperator
from airflow_provider_dataframer.retry import RetryPolicy
from tests.conftest import TEST_BASE_URL

RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
DOWNLOAD_URL = f"{TEST_BASE_URL}/api/dataframer/runs/{RUN_ID}/files/download/"
PRESIGNED = "https://bucket.storage.test/runs/r1.zip?X-Signature=s3cr3t-signature"
MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def no_sleep(mocker):  # type: ignore[no-untyped-def]
    mocker.patch("airflow_provider_dataframer.hooks.presigned.time.sleep")
    return mocker.patch("dataframer._base_client.time.sleep")


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def serve_link(body: bytes, size: int | None) -> respx.Route:
    respx.get(DOWNLOAD_URL).respond(json={"download_url": PRESIGNED, "size_bytes": size})
    return respx.get(PRESIGNED).respond(content=body)


def download(destination: Path | str, **kwargs: Any) -> Any:
    op = DownloadRunFilesOperator(task_id="download", run_id=RUN_ID, destination=str(destination), **kwargs)
    return op.execute({"ti": mock.MagicMock()})


# The presigned fetch: never past the announced size


class StreamingHandler(BaseHTTPRequestHandler):
    """Sends ``body_size`` bytes in 64 KiB writes, with or without a Content-Length."""

    body_size = 35 * MIB
    content_length = False
    sent = 0

    def do_GET(self) -> None:
        self.send_response(200)
        if self.content_length:
            self.send_header("Content-Length", str(self.body_size))
        self.end_headers()
        block = b"z" * 65536
        try:
            while type(self).sent < self.body_size:
                self.wfile.write(block)
                type(self).sent += len(block)
        except OSError:
            pass  # the client hung up, as it should

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def storage_server() -> Iterator[Callable[..., str]]:
    """A real HTTP server on loopback standing in for the storage behind a presigned URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(**attributes: Any) -> str:
        handler = type("Handler", (StreamingHandler,), {"sent": 0, **attributes})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/runs/r1.zip?X-Signature=s3cr3t"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("content_length", [False, True], ids=["no-length", "content-length"])
def test_a_download_announced_as_100_bytes_writes_at_most_100(
    storage_server: Callable[..., str], content_length: bool
) -> None:
    url = storage_server(content_length=content_length)
    out = io.BytesIO()
    with pytest.raises(DataframerDownloadError, match="sent more than the 100 bytes announced") as excinfo:
        DataframerHook().download(DownloadLink(download_url=url, size_bytes=100), out)
    assert len(out.getvalue()) <= 100
    assert "s3cr3t" not in str(excinfo.value)


def test_a_download_without_a_size_stops_at_max_download_bytes(storage_server: Callable[..., str]) -> None:
    url = storage_server()
    out = io.BytesIO()
    with pytest.raises(DataframerDownloadError, match=r"announced no size .* max_download_bytes \(1048576\)"):
        DataframerHook().download(DownloadLink(download_url=url), out, max_bytes=MIB)
    assert len(out.getvalue()) <= MIB


@respx.mock
def test_a_download_announced_over_the_limit_is_not_fetched() -> None:
    storage = respx.get(PRESIGNED).respond(content=b"x")
    with pytest.raises(
        DataframerDownloadError, match=r"announced as 2048 bytes, more than max_download_bytes"
    ):
        DataframerHook().download(
            DownloadLink(download_url=PRESIGNED, size_bytes=2048), io.BytesIO(), max_bytes=1024
        )
    assert not storage.called


@respx.mock
def test_a_trickling_download_ends_at_its_deadline() -> None:
    respx.get(PRESIGNED).respond(content=iter([b"0123456789"] * 100))
    now = iter(range(1000))
    out = io.BytesIO()
    with pytest.raises(DataframerDownloadError, match=r"did not finish within transfer_timeout \(20 bytes"):
        stream_presigned(
            PRESIGNED,
            out,
            expected_size=1000,
            max_bytes=MIB,
            timeout=5.0,
            retry=RetryPolicy(),
            deadline=3.0,
            clock=lambda: float(next(now)),
        )
    # clock 0: the deadline is set on the wire, 1: first check; reads at 2 and 3, and 3 is the deadline
    assert len(out.getvalue()) == 20


@respx.mock
def test_a_retry_never_starts_past_the_transfer_deadline(mocker) -> None:  # type: ignore[no-untyped-def]
    storage = respx.get(PRESIGNED).respond(503, headers={"Retry-After": "30"}, content=b"busy")
    sleep = mocker.patch("airflow_provider_dataframer.hooks.presigned.time.sleep")
    with pytest.raises(
        DataframerDownloadError,
        match=r"within transfer_timeout \(0 bytes received; the last attempt failed: .*503",
    ):
        stream_presigned(
            PRESIGNED,
            io.BytesIO(),
            expected_size=None,
            max_bytes=MIB,
            timeout=5.0,
            retry=RetryPolicy(max_retries=5),
            deadline=10.0,  # the storage asks for 30 s: the retry would start past the deadline
            clock=lambda: 0.0,
        )
    assert storage.call_count == 1 and not sleep.called


@respx.mock
def test_an_error_body_is_read_only_in_part() -> None:
    respx.get(PRESIGNED).respond(400, content=iter([b"<Error>" + b"x" * 65536] * 1000))
    with pytest.raises(Exception, match="HTTP 400") as excinfo:
        DataframerHook().download(DownloadLink(download_url=PRESIGNED), io.BytesIO())
    assert len(str(excinfo.value)) < 600


# The ZIP: refused before anything is written


def bomb(unzipped: int) -> bytes:
    """A deflated entry of zeros: about 1,000 times smaller than what it unzips to."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("samples/bomb.txt", "w", force_zip64=True) as entry,
    ):
        for _ in range(unzipped // MIB):
            entry.write(bytes(MIB))
    return buffer.getvalue()


@respx.mock
def test_a_zip_bomb_is_refused_before_a_byte_is_written(tmp_path: Path) -> None:
    payload = bomb(64 * MIB)
    assert len(payload) < 100_000
    serve_link(payload, len(payload))
    with pytest.raises(
        DataframerDownloadError, match=r"ratio \d+\), more than max_compression_ratio \(100\)"
    ):
        download(tmp_path / "out")
    assert files_under(tmp_path / "out") == []


@respx.mock
def test_the_unzipped_total_is_bounded(tmp_path: Path) -> None:
    files = {f"samples/{n}.txt": os.urandom(1000) for n in range(5)}
    serve_link(zip_bytes(files), None)
    with pytest.raises(
        DataframerDownloadError, match=r"unzips to 5000 bytes, more than max_unzipped_bytes \(4000\)"
    ):
        download(tmp_path / "out", max_unzipped_bytes=4000)
    assert files_under(tmp_path / "out") == []


@respx.mock
def test_the_entry_count_is_bounded_before_the_directory_is_parsed(tmp_path: Path, mocker: Any) -> None:
    serve_link(zip_bytes({f"samples/{n}.txt": b"x" for n in range(11)}), None)
    parse = mocker.spy(zipfile.ZipFile, "_RealGetContents")
    with pytest.raises(DataframerDownloadError, match=r"11 entries, more than max_zip_entries \(10\)"):
        download(tmp_path / "out", max_zip_entries=10)
    assert parse.call_count == 0
    assert files_under(tmp_path / "out") == []


def lying_zip() -> bytes:
    """Two entries; the central directory says the second unzips to 10 bytes, it unzips to 100,000."""
    data = bytearray(zip_bytes({"samples/a.txt": b"first", "samples/b.txt": b"y" * 100_000}))
    header = data.rindex(b"PK\x01\x02")  # the central header of the last entry, samples/b.txt
    data[header + 24 : header + 28] = (10).to_bytes(4, "little")
    return bytes(data)


def test_a_lying_header_is_caught_by_counting_and_the_extraction_undone(tmp_path: Path) -> None:
    destination = open_destination(str(tmp_path))
    with pytest.raises(DataframerDownloadError, match=r"samples/b.txt.*extraction was undone"):
        extract_zip(io.BytesIO(lying_zip()), destination)
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/etc/evil.txt", "samples/../../evil.txt", "a\\..\\evil.txt"]
)
def test_member_paths_leaving_the_destination_are_refused(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    archive = io.BytesIO(zip_bytes({"samples/ok.txt": b"fine", name: b"x"}))
    with pytest.raises(DataframerDownloadError, match="would leave the destination"):
        extract_zip(archive, open_destination(str(out)))
    assert files_under(tmp_path) == []


def test_symbolic_link_entries_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("samples/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(DataframerDownloadError, match="symbolic link 'samples/passwd'"):
        extract_zip(io.BytesIO(buffer.getvalue()), open_destination(str(tmp_path)))
    assert files_under(tmp_path) == []


# Links already in the destination are never followed


@respx.mock
def test_a_symlinked_folder_in_the_destination_is_not_followed(tmp_path: Path) -> None:
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    out.mkdir()
    (out / "samples").symlink_to(outside)
    serve_link(zip_bytes({"samples/sample_001.txt": b"generated"}), None)
    with pytest.raises(DataframerDownloadError, match=r"'samples' in destination .* is a symbolic link"):
        download(out)
    assert list(outside.iterdir()) == []


@respx.mock
def test_a_symlinked_file_in_the_destination_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim, out = tmp_path / "victim.txt", tmp_path / "out"
    victim.write_bytes(b"precious")
    (out / "samples").mkdir(parents=True)
    (out / "samples" / "sample_001.txt").symlink_to(victim)
    (out / "samples" / "sample_002.txt").hardlink_to(victim)
    serve_link(zip_bytes({"samples/sample_001.txt": b"one", "samples/sample_002.txt": b"two"}), None)
    result = download(out)
    assert result["count"] == 2
    assert victim.read_bytes() == b"precious"
    assert not (out / "samples" / "sample_001.txt").is_symlink()
    assert (out / "samples" / "sample_001.txt").read_bytes() == b"one"
    assert (out / "samples" / "sample_002.txt").read_bytes() == b"two"


@respx.mock
def test_a_symlink_where_the_kept_zip_goes_is_not_written_through(tmp_path: Path) -> None:
    victim, out = tmp_path / "victim.txt", tmp_path / "out"
    victim.write_bytes(b"precious")
    out.mkdir()
    (out / f"dataframer-run-{RUN_ID}.zip").symlink_to(victim)
    payload = zip_bytes({"a.txt": b"a"})
    serve_link(payload, len(payload))
    download(out, unzip=False)
    assert victim.read_bytes() == b"precious"
    assert (out / f"dataframer-run-{RUN_ID}.zip").read_bytes() == payload


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
def test_folder_descriptors_are_closed_after_an_extraction(tmp_path: Path) -> None:
    files = {f"{folder}/{n}.txt": b"x" for folder in ("a", "b", "a/c") for n in range(3)}
    before = len(os.listdir("/proc/self/fd"))
    extract_zip(io.BytesIO(zip_bytes(files)), open_destination(str(tmp_path)))
    (tmp_path / "lying").mkdir()
    with pytest.raises(DataframerDownloadError):
        extract_zip(io.BytesIO(lying_zip()), open_destination(str(tmp_path / "lying")))
    assert len(os.listdir("/proc/self/fd")) == before
    assert len(files_under(tmp_path)) == 9


# 20,000 files: the XCom result stays small


@respx.mock
def test_twenty_thousand_files_give_a_bounded_result(tmp_path: Path) -> None:
    files = {f"samples/sample_{n:05d}.txt": b"s" for n in range(20_000)}
    serve_link(zip_bytes(files, zipfile.ZIP_STORED), None)
    result = download(tmp_path / "out")
    assert result["count"] == 20_000 and result["truncated"] is True and result["bytes"] == 20_000
    assert result["folder"] == str(tmp_path / "out")
    assert result["files"][:2] == [str(tmp_path / "out" / name) for name in list(files)[:2]]
    assert len(result["files"]) == 1000
    assert len(json.dumps(result)) < 120_000
    assert len(files_under(tmp_path / "out" / "samples")) == 20_000


@respx.mock
def test_metadata_sidecars_are_neither_written_nor_returned(tmp_path: Path) -> None:
    files = {
        "samples/a.txt": b"a",
        "samples/a.txt.metadata": b"{}",
        "top_level.metadata": b"{}",
    }
    serve_link(zip_bytes(files), None)
    result = download(tmp_path / "out")
    assert result["count"] == 1 and result["files"] == [str(tmp_path / "out" / "samples" / "a.txt")]
    assert files_under(tmp_path / "out") == ["samples/a.txt"]


# The destination is checked before anything is requested


@respx.mock
def test_a_destination_that_is_a_file_fails_before_any_request(tmp_path: Path) -> None:
    link = respx.get(DOWNLOAD_URL).respond(json={"download_url": PRESIGNED, "size_bytes": 1})
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(DataframerValidationError, match=r"destination .*out is a file, not a folder"):
        download(tmp_path / "out")
    with pytest.raises(DataframerValidationError, match=r"destination .*out/below cannot be created"):
        download(tmp_path / "out" / "below")
    assert not link.called


@respx.mock
def test_an_unwritable_destination_fails_before_any_request(tmp_path: Path) -> None:
    link = respx.get(DOWNLOAD_URL).respond(json={"download_url": PRESIGNED, "size_bytes": 1})
    if os.geteuid() == 0:  # root writes anywhere a mode allows nothing: use a kernel folder
        folder = Path("/sys")
    else:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o555)
    with pytest.raises(DataframerValidationError, match=r"destination .* is not writable"):
        download(folder)
    assert not link.called


def test_an_object_store_destination_that_is_an_object_is_refused() -> None:
    root = UPath("memory://bucket/runs/out")
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_bytes(b"an object")
    destination = open_destination(root)
    assert isinstance(destination, StorageFolder)
    with pytest.raises(
        DataframerValidationError, match=r"destination memory://.*out is a file, not a folder"
    ):
        destination.prepare()
    folder = open_destination(UPath("memory://bucket/runs/new"))
    folder.prepare()
    extracted = extract_zip(io.BytesIO(zip_bytes({"samples/a.txt": b"a"})), folder)
    assert [folder.location(parts) for parts in extracted.parts] == ["memory://bucket/runs/new/samples/a.txt"]
    assert UPath("memory://bucket/runs/new/samples/a.txt").read_bytes() == b"a"


# Arguments: clear errors at construction, rendered values are data


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"destination": None}, "destination must be a folder"),
        ({"destination": "  "}, "destination must be a folder"),
        ({"destination": 5}, "destination must be a folder"),
        ({"unzip": "yes"}, "unzip must be True or False"),
        ({"max_zip_entries": 0}, "max_zip_entries must be a positive whole number"),
        ({"max_unzipped_bytes": 1.5}, "max_unzipped_bytes must be a positive whole number"),
        ({"max_compression_ratio": float("nan")}, "max_compression_ratio must be a finite number"),
        ({"max_listed_files": True}, "max_listed_files must be a positive whole number"),
        ({"transfer_timeout": float("inf")}, "transfer_timeout must be a finite positive number"),
    ],
)
def test_bad_arguments_name_the_field_at_construction(kwargs: dict[str, Any], message: str) -> None:
    arguments = {"task_id": "download", "run_id": RUN_ID, "destination": "/tmp/out", **kwargs}
    with pytest.raises(DataframerValidationError, match=message):
        DownloadRunFilesOperator(**arguments)


@respx.mock
def test_a_rendered_destination_is_data_even_with_braces(tmp_path: Path) -> None:
    DownloadRunFilesOperator(task_id="download", run_id=RUN_ID, destination="{{ params.out }}")
    payload = zip_bytes({"a.txt": b"a"})
    serve_link(payload, len(payload))
    result = download(tmp_path / "{{ literally }}")
    assert result["files"] == [str(tmp_path / "{{ literally }}" / "a.txt")]


def test_limits_are_documented_and_safe_for_a_run_of_20000_samples() -> None:
    limits = DownloadLimits()
    assert limits.max_zip_entries > 2 * 20_000 + 1
    assert limits.max_unzipped_bytes > 20_000 * MIB
    assert 20 < limits.max_compression_ratio < 1000


def test_a_download_of_the_announced_size_succeeds_over_loopback(storage_server: Callable[..., str]) -> None:
    url = storage_server(body_size=3 * 65536, content_length=True)
    out = io.BytesIO()
    assert DataframerHook().download(DownloadLink(download_url=url, size_bytes=3 * 65536), out) == 3 * 65536
    assert out.getvalue() == b"z" * 3 * 65536
