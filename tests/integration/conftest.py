"""Fixtures for tests through the real stack: a real Airflow metadata DB and the emulator over HTTP."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A fresh metadata DB in the session's AIRFLOW_HOME (set by the root conftest)."""
    from airflow.utils import db

    db.resetdb()


def point_connection_at(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, **extra: Any) -> None:
    """Make ``dataframer_default`` talk to ``server``."""
    conn: dict[str, Any] = {"conn_type": "dataframer", "host": server.url, "password": server.api_key}
    conn["extra"] = {"retry_initial_backoff": 0.05, "retry_max_backoff": 0.2, **extra}
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", json.dumps(conn))


@pytest.fixture
def emulator(
    dataframer_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorServer]:
    """A fast emulator that ``dataframer_default`` points at, and fast example DAG polling."""
    point_connection_at(monkeypatch, dataframer_emulator)
    monkeypatch.setenv("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "0.1")
    yield dataframer_emulator


def load_example_dag(dag_id: str) -> Any:
    """Import the example DAG file ``<dag_id>.py`` afresh (as a DAG processor would) and return its DAG."""
    spec = importlib.util.spec_from_file_location(f"example_dag_{dag_id}", EXAMPLE_DAGS / f"{dag_id}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    assert dag.dag_id == dag_id
    return dag


def upload_csv_seed(server: EmulatorServer, name: str, filename: str, content: bytes) -> str:
    """Create a SINGLE_FILE seed dataset on ``server`` directly over HTTP; return its id."""
    response = httpx.post(
        f"{server.url}/api/dataframer/seed-datasets/create/",
        headers=server.headers,
        data={"name": name, "dataset_type": "SINGLE_FILE"},
        files=[("files", (filename, content, "text/csv"))],
    )
    response.raise_for_status()
    return str(response.json()["id"])


def specs_on(server: EmulatorServer) -> list[dict[str, Any]]:
    """Every spec on ``server``, as its list endpoint answers."""
    response = httpx.get(f"{server.url}/api/dataframer/specs/", headers=server.headers)
    response.raise_for_status()
    return list(response.json())
