"""Transfers of files are bounded by their transfer_timeout, not by request_timeout, in all.

A presigned download whose storage trickles its headers ends at the transfer's deadline (per-read
timeouts never trip on it); a seed upload that takes longer than ``request_timeout`` but less than
its ``transfer_timeout`` succeeds, and one past its ``transfer_timeout`` fails saying so. Real
sockets over loopback: a raw server that trickles, and the emulator behind the real SDK.
"""

from __future__ import annotations

import io
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_dataframer.exceptions import DataframerDownloadError
from airflow_provider_dataframer.hooks.presigned import stream_presigned
from airflow_provider_dataframer.operators.dataset import UploadSeedDatasetOperator
from airflow_provider_dataframer.retry import RetryPolicy
from tests.integration.conftest import point_connection_at
from tests.integration.task_runner import run_task
from tests.integration.test_deadlines import read_request_head

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

TRICKLE_FOR = 15.0
"""Seconds the trickling server keeps going: without a deadline, the download would last as long."""
GENEROUS = 10.0
"""Seconds within which a call cut at a 1 s deadline must end."""
CREATE = "seed-datasets/create/"


class _TrickledHeaders(socketserver.BaseRequestHandler):
    """Answer a status line, then one byte of a header every 0.1 s: no read ever waits a second."""

    stop: threading.Event

    def handle(self) -> None:
        sock: socket.socket = self.request
        if not read_request_head(sock):
            return
        try:
            sock.sendall(b"HTTP/1.1 200 OK\r\nX-Padding: ")
            ends = time.monotonic() + TRICKLE_FOR
            while time.monotonic() < ends and not self.stop.wait(0.1):
                sock.sendall(b"x")
        except OSError:
            return


@pytest.fixture
def trickled_headers() -> Iterator[str]:
    stop = threading.Event()
    handler = type("Handler", (_TrickledHeaders,), {"stop": stop})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/runs/r1.zip?X-Signature=s3cr3t"
    stop.set()
    server.shutdown()
    server.server_close()


def test_a_download_whose_headers_trickle_ends_at_the_transfer_deadline(trickled_headers: str) -> None:
    started = time.monotonic()
    with pytest.raises(
        DataframerDownloadError, match=r"did not finish within transfer_timeout \(0 bytes"
    ) as caught:
        stream_presigned(
            trickled_headers,
            io.BytesIO(),
            expected_size=None,
            max_bytes=1024,
            timeout=5.0,  # per read: never trips on a byte every 0.1 s
            retry=RetryPolicy(max_retries=3, initial_backoff=0.05, max_backoff=0.05),
            deadline=started + 1.0,
        )
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < GENEROUS, elapsed
    assert "s3cr3t" not in str(caught.value)


def seed_folder(tmp_path: Path) -> str:
    (tmp_path / "tickets.csv").write_text("id,text\n1,printer on fire\n2,screen is blank\n3,no wifi\n")
    return str(tmp_path / "tickets.csv")


def test_a_seed_upload_longer_than_request_timeout_but_within_transfer_timeout_succeeds(
    dataframer_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    point_connection_at(monkeypatch, dataframer_emulator, request_timeout=0.5, max_retries=0)
    dataframer_emulator.add_fault(method="POST", path=CREATE, action="delay", delay_seconds=1.5)
    outcome = run_task(
        UploadSeedDatasetOperator(
            task_id="upload", name="slow-link", paths=seed_folder(tmp_path), transfer_timeout=30
        )
    )
    assert outcome.state == "success", outcome.message
    assert len(dataframer_emulator.requests(method="POST", path=CREATE)) == 1


def test_a_seed_upload_past_its_transfer_timeout_fails_saying_so(
    dataframer_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    point_connection_at(monkeypatch, dataframer_emulator, request_timeout=60, max_retries=0)
    dataframer_emulator.add_fault(method="POST", path=CREATE, action="delay", delay_seconds=8)
    started = time.monotonic()
    outcome = run_task(
        UploadSeedDatasetOperator(
            task_id="upload", name="stalled-link", paths=seed_folder(tmp_path), transfer_timeout=1
        )
    )
    assert outcome.state == "failed"
    assert (
        "took longer than its transfer_timeout allows (1 s from when this part began)" in outcome.message
    ), outcome.message
    assert time.monotonic() - started < GENEROUS
