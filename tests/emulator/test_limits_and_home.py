"""Request body limits (enforced before and while a body is read) and the home page."""

from __future__ import annotations

import socket

import httpx
import pytest

SPECS = "/api/dataframer/specs/"
UPLOAD = "/api/dataframer/seed-datasets/create/"


@pytest.fixture
def limited(dataframer_emulator_factory):
    return dataframer_emulator_factory(max_body_bytes=1000, max_upload_bytes=4000)


def test_a_json_body_over_its_declared_limit_is_413_before_it_is_read(limited):
    body = {"name": "x", "generation_objectives": "o" * 2000}
    response = httpx.post(limited.url + SPECS, json=body, headers=limited.headers)
    assert response.status_code == 413
    assert "limit of 1000 bytes" in response.json()["detail"]
    assert httpx.get(limited.url + SPECS, headers=limited.headers).json() == []
    [record] = limited.requests(method="POST")
    assert record.status == 413


def test_an_upload_over_its_limit_is_413(limited):
    files = [("files", ("big.csv", b"a,b\n" + b"1,2\n" * 2000, "text/csv"))]
    response = httpx.post(
        limited.url + UPLOAD,
        data={"name": "big", "dataset_type": "SINGLE_FILE"},
        files=files,
        headers=limited.headers,
    )
    assert response.status_code == 413
    assert "multipart upload" in response.json()["detail"]
    small = [("files", ("small.csv", b"a,b\n1,2\n3,4\n", "text/csv"))]
    accepted = httpx.post(
        limited.url + UPLOAD,
        data={"name": "ok", "dataset_type": "SINGLE_FILE"},
        files=small,
        headers=limited.headers,
    )
    assert accepted.status_code == 201


def test_a_chunked_body_is_counted_while_it_streams(limited):
    """No Content-Length: the limit is met while reading, not after the whole body is in memory."""

    def chunks():
        yield b'{"name": "x", "generation_objectives": "'
        for _ in range(40):
            yield b"o" * 100
        yield b'"}'

    response = httpx.post(
        limited.url + SPECS, content=chunks(), headers={**limited.headers, "Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert httpx.get(limited.url + SPECS, headers=limited.headers).json() == []


def test_a_huge_declared_body_is_refused_without_waiting_for_it(limited):
    """A client announcing 10 GB and sending nothing gets its 413 at once."""
    host, port = limited.host, limited.port
    with socket.create_connection((host, port), timeout=5) as sock:
        request = (
            f"POST {SPECS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer k\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
        )
        sock.sendall(request.encode())
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413")


def test_bodies_within_the_limits_pass(dataframer_emulator):
    body = {"name": "x", "generation_objectives": "o" * 5000}
    response = httpx.post(dataframer_emulator.url + SPECS, json=body, headers=dataframer_emulator.headers)
    assert response.status_code == 201


def test_home_page_says_what_this_is(dataframer_emulator):
    base = dataframer_emulator.url
    facts = httpx.get(base + "/").json()
    assert facts["service"] == "Dataframer API emulator"
    assert facts["api_base"] == base + "/api/dataframer/"
    assert facts["docs"] == base + "/_emulator/docs"
    assert httpx.get(facts["docs"]).status_code == 200
    assert httpx.get(facts["openapi"]).json()["info"]["title"] == "Dataframer API emulator"
    html = httpx.get(base + "/", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html")
    assert f"<a href='{base}/_emulator/docs'>" in html.text
