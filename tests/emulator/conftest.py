"""Fixtures of the emulator tests: a shared server reset per test, and an HTTP helper."""

from __future__ import annotations

import importlib.util
import io
import time
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

_EMULATOR_EXTRA = ("fastapi", "uvicorn", "multipart")
if any(importlib.util.find_spec(module) is None for module in _EMULATOR_EXTRA):
    # The emulator extra is not installed: there is nothing to test here.
    collect_ignore_glob = ["test_*.py"]
else:
    from dataframer_emulator.testing import (  # noqa: F401 - fixtures
        dataframer_emulator,
        dataframer_emulator_factory,
    )

SEED_CSV = (
    b"customer_id,region,plan,monthly_spend,signup_year\n"
    b"1001,north,basic,19.99,2019\n"
    b"1002,north,pro,49.50,2020\n"
    b"1003,south,basic,21.00,2021\n"
    b"1004,north,basic,18.25,2019\n"
    b"1005,east,pro,55.75,2022\n"
    b"1006,south,enterprise,120.00,2018\n"
    b"1007,north,basic,17.80,2020\n"
    b"1008,south,pro,47.10,2021\n"
    b"1009,north,basic,22.40,2023\n"
    b"1010,east,basic,19.00,2022\n"
    b"1011,south,pro,52.35,2020\n"
    b"1012,north,enterprise,110.90,2019\n"
)
#: Lifecycles of tests that only wait for the end; tests that observe a state in between (PROCESSING,
#: PENDING, a 202) give that state a wide margin instead, so a loaded machine cannot skip it.
QUICK_TIMINGS = {
    "spec_seconds": 0.1,
    "run_pending_seconds": 0.02,
    "run_seconds": 0.15,
    "download_seconds": 0.05,
}
SEED_COLUMNS = ["customer_id", "region", "plan", "monthly_spend", "signup_year"]


def make_zip(entries: dict[str, bytes]) -> bytes:
    """A ZIP archive holding ``entries`` (path -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in entries.items():
            archive.writestr(path, content)
    return buffer.getvalue()


class Api:
    """
    httpx client of an emulator's ``/api/dataframer`` with helpers for common flows.

    :param server: the emulator.
    """

    SEED_CSV = SEED_CSV
    SEED_COLUMNS = SEED_COLUMNS

    @staticmethod
    def make_zip(entries: dict[str, bytes]) -> bytes:
        """A ZIP archive holding ``entries`` (path -> content)."""
        return make_zip(entries)

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=f"{server.url}/api/dataframer", headers=server.headers, timeout=10)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, **kwargs)

    def upload(
        self,
        name: str = "customers",
        files: list[tuple[str, bytes]] | None = None,
        dataset_type: str = "SINGLE_FILE",
        folder_names: list[str] | None = None,
        field: str = "files[]",
    ) -> httpx.Response:
        parts = [
            (field, (filename, content)) for filename, content in (files or [("customers.csv", SEED_CSV)])
        ]
        data: dict[str, Any] = {"name": name, "dataset_type": dataset_type}
        if folder_names is not None:
            data["folder_names[]"] = folder_names
        return self.http.post("/seed-datasets/create/", data=data, files=parts)

    def dataset(self, **kwargs: Any) -> dict[str, Any]:
        response = self.upload(**kwargs)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def create_spec(self, **body: Any) -> str:
        response = self.http.post("/specs/", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def wait_spec(self, spec_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return self.wait(f"/specs/{spec_id}/", {"PROCESSING"}, timeout)

    def ready_spec(self, name: str = "customers spec", **body: Any) -> dict[str, Any]:
        """A SUCCEEDED spec of a fresh CSV dataset (unless ``dataset_id`` or objectives are given)."""
        if "dataset_id" not in body and "generation_objectives" not in body:
            body["dataset_id"] = self.dataset(name=f"{name} seed")["id"]
        spec = self.wait_spec(self.create_spec(name=name, **body))
        assert spec["status"] == "SUCCEEDED", spec
        return spec

    def create_run(self, spec_id: str, number_of_samples: int = 10, **body: Any) -> str:
        response = self.http.post(
            "/runs/", json={"spec_id": spec_id, "number_of_samples": number_of_samples, **body}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def wait_run(self, run_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return self.wait(f"/runs/{run_id}/", {"PENDING", "PROCESSING", "IN_PROGRESS"}, timeout)

    def wait(self, path: str, running: set[str], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.http.get(path)
            assert response.status_code == 200, response.text
            body = dict(response.json())
            if body["status"] not in running:
                return body
            assert time.monotonic() < deadline, f"{path} still {body['status']} after {timeout}s"
            time.sleep(0.03)

    def wait_download(self, path: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.http.get(path)
            if response.status_code == 200:
                return dict(response.json())
            assert response.status_code == 202, response.text
            assert time.monotonic() < deadline
            time.sleep(0.03)


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[EmulatorServer]:
    """One fast emulator per test module."""
    from dataframer_emulator import EmulatorConfig, EmulatorServer

    with EmulatorServer(EmulatorConfig(**QUICK_TIMINGS)) as server:
        yield server


@pytest.fixture
def emulator(shared_emulator: EmulatorServer) -> EmulatorServer:
    """The module's emulator, with no state, faults or logged requests."""
    shared_emulator.reset()
    return shared_emulator


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[Api]:
    """An authenticated client of the module's emulator."""
    client = Api(emulator)
    yield client
    client.close()


@pytest.fixture
def api_with(dataframer_emulator_factory: Any) -> Iterator[Any]:
    """``api_with(**config)``: a client of a new emulator, with quick timings unless overridden."""
    clients: list[Api] = []

    def factory(**config: Any) -> Api:
        client = Api(dataframer_emulator_factory(**{**QUICK_TIMINGS, **config}))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
