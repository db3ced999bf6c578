"""Deadlines are deadlines: an answer that trickles one byte a second holds nothing past its limit.

A local server answers every request with a 200 whose body never ends (one byte a second); the
real SDK and httpx (or aiohttp) talk to it over loopback. Per-read timeouts never trip on it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dataframer.exceptions import DataframerTransportError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import RUN
from airflow_provider_dataframer.models import RunCreateRequest
from airflow_provider_dataframer.waiting import StatusWatch, wait_blocking
from tests.integration.task_runner import first_event

pytestmark = pytest.mark.integration

RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
GENEROUS = 20.0
"""Seconds within which every call below must end (its limits are 1-3 s; the trickle is endless)."""


def read_request_head(sock: socket.socket) -> bool:
    """Read a request's line and headers (a small body comes along); False if the client left."""
    sock.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        received += chunk
    return True


class _Trickle(socketserver.BaseRequestHandler):
    stop: threading.Event
    arrivals: list[float]

    def handle(self) -> None:
        self.arrivals.append(time.monotonic())
        sock: socket.socket = self.request
        if not read_request_head(sock):
            return
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        try:
            sock.sendall(head)
            while not self.stop.wait(1.0):  # one byte a second, for as long as the test lasts
                sock.sendall(b" ")
        except OSError:
            return


ARRIVALS: list[float] = []


@pytest.fixture
def trickling(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    stop = threading.Event()
    ARRIVALS.clear()
    handler = type("Trickle", (_Trickle,), {"stop": stop, "arrivals": ARRIVALS})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    connect(monkeypatch, url, request_timeout=2)
    yield url
    stop.set()
    server.shutdown()
    server.server_close()


def connect(monkeypatch: pytest.MonkeyPatch, url: str, **extra: Any) -> None:
    conn = {
        "conn_type": "dataframer",
        "host": url,
        "password": "test-key",
        "extra": {"max_retries": 0, **extra},
    }
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", json.dumps(conn))


def test_a_trickling_answer_to_a_create_ends_at_the_request_limit(trickling: str) -> None:
    started = time.monotonic()
    with pytest.raises(DataframerTransportError, match=r"POST .*took longer than 2 s"):
        DataframerHook().create_run(RunCreateRequest.build(spec_id=SPEC_ID, number_of_samples=1))
    assert 1.5 <= time.monotonic() - started < GENEROUS


def test_a_trickling_answer_to_a_poll_ends_at_the_request_limit(trickling: str) -> None:
    started = time.monotonic()
    with pytest.raises(DataframerTransportError, match=r"GET .*took longer than 2 s"):
        DataframerHook().get_run(RUN_ID)
    assert 1.5 <= time.monotonic() - started < GENEROUS


def test_a_trickling_answer_to_an_async_poll_ends_at_the_request_limit(trickling: str) -> None:
    async def poll() -> None:
        hook = DataframerHook()
        try:
            await hook.aget_status(RUN, RUN_ID)
        finally:
            await hook.aclose()

    started = time.monotonic()
    with pytest.raises(DataframerTransportError, match=r"GET .*took longer than 2 s"):
        asyncio.run(poll())
    assert 1.5 <= time.monotonic() - started < GENEROUS


def test_a_blocking_wait_cuts_the_poll_in_flight_at_its_deadline(
    trickling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(monkeypatch, trickling, request_timeout=3)
    hook = DataframerHook()
    polls: list[float] = []

    def fetch() -> Any:
        polls.append(time.monotonic())
        return hook.get_run(RUN_ID)

    started = time.monotonic()
    watch = StatusWatch(RUN, RUN_ID, time.time() + 1.0, hook.log)
    event = wait_blocking(fetch, watch, poll_interval=0.1)
    elapsed = time.monotonic() - started
    assert event["status"] == "timeout", event
    assert len(polls) == 2, "the poll in flight is cut at the deadline, then one last poll"
    assert polls[1] - started < 2.0, "the first poll was cut at the 1 s deadline, not at its 3 s limit"
    assert elapsed < GENEROUS


def test_a_deferred_wait_cancels_the_poll_in_flight_at_its_deadline(
    trickling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_dataframer.triggers.run import RunStatusTrigger

    connect(monkeypatch, trickling, request_timeout=3)  # the wait's deadline comes first
    trigger = RunStatusTrigger(
        run_id=RUN_ID, dataframer_conn_id="dataframer_default", poll_interval=0.1, deadline=time.time() + 1.0
    )

    async def wait() -> dict[str, Any]:
        return await asyncio.wait_for(first_event(trigger), GENEROUS)

    started = time.monotonic()
    event = asyncio.run(wait())
    assert event["status"] == "timeout", event
    assert time.monotonic() - started < GENEROUS
    assert len(ARRIVALS) == 2, "the poll in flight is cancelled at the deadline, then one last poll"
    assert ARRIVALS[1] - started < 2.0, "the last poll was made at the 1 s deadline, not after 3 s"
