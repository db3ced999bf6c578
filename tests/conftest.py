"""Test settings shared by every suite: an isolated AIRFLOW_HOME and a default connection."""

from __future__ import annotations

import json
import os
import tempfile

# Airflow reads its configuration when first imported: isolate it before any test module does.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="dataframer-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# dag.test() on Airflow 3 syncs the DAGs folder to the DB: the example DAGs are that folder.
os.environ.setdefault(
    "AIRFLOW__CORE__DAGS_FOLDER", os.path.join(os.path.dirname(os.path.dirname(__file__)), "example_dags")
)
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_AIRFLOW_HOME}/airflow.db")

import pytest  # noqa: E402
import respx  # noqa: E402

# The emulator's fixtures (dataframer_emulator, dataframer_emulator_factory) for every suite.
pytest_plugins = ["dataframer_emulator.testing"]

# respx patches httpx's own transport by default, which the triggers' aiohttp transport
# bypasses; mocking at the client covers both.
respx.mocks.DEFAULT_MOCKER = "httpx"

TEST_BASE_URL = "http://dataframer.test"
TEST_API_KEY = "df-test-key-7f3a9c2e51"


def connection_json(host: str = TEST_BASE_URL, password: str | None = TEST_API_KEY, **extra: object) -> str:
    """An ``AIRFLOW_CONN_*`` value for a Dataframer connection."""
    conn: dict[str, object] = {"conn_type": "dataframer", "host": host}
    if password is not None:
        conn["password"] = password
    if extra:
        conn["extra"] = extra
    return json.dumps(conn)


@pytest.fixture(autouse=True)
def dataframer_default_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets a ``dataframer_default`` connection to a fake host, with fast retries."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAFRAMER_DEFAULT",
        connection_json(retry_initial_backoff=0.01, retry_max_backoff=0.05),
    )
    monkeypatch.delenv("DATAFRAMER_API_KEY", raising=False)
