"""
The scale-out deployment, shared by the scenarios of ``test_scaleout.py``.

The tests are marked ``scaleout`` and skipped unless ``DATAFRAMER_SCALEOUT_TEST=1``, which
``tests/deployment/scaleout/run.sh`` sets (after installing Redis and the Celery provider), so that
neither ``make test`` nor the LocalExecutor deployment test starts this deployment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from tests.deployment.conftest import VENV_ENV, _current
from tests.deployment.harness import DAG_PARSE_TIMEOUT, say, wait_for
from tests.deployment.scaleout.harness import SCALEOUT_DAG_IDS, ScaleOutDeployment

ENABLE_ENV = "DATAFRAMER_SCALEOUT_TEST"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"scaleout: starts the scale-out deployment (set {ENABLE_ENV}=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(ENABLE_ENV) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"set {ENABLE_ENV}=1 or run `bash tests/deployment/scaleout/run.sh <venv>`"
    )
    for item in items:
        if item.get_closest_marker("scaleout"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def scaleout() -> Generator[ScaleOutDeployment, None, None]:
    """The whole scale-out deployment, with its DAGs parsed; torn down at the end."""
    venv = Path(os.environ.get(VENV_ENV) or sys.prefix)
    instance = ScaleOutDeployment(venv=venv)
    _current["deployment"] = instance  # failing tests get the component log tails
    try:
        try:
            instance.start()
            with instance.phases.phase("wait for the dag-processor to parse the scale-out DAGs"):
                wait_for(
                    "the scale-out DAGs to appear in GET /api/v2/dags",
                    lambda: (
                        {d["dag_id"] for d in instance.api("GET", "/dags", params={"limit": 100})["dags"]}
                        >= set(SCALEOUT_DAG_IDS)
                    ),
                    timeout=DAG_PARSE_TIMEOUT,
                    interval=2,
                    alive=instance.check_alive,
                )
        except BaseException:
            say("start failed; component logs:\n" + instance.log_tails())
            raise
        yield instance
    finally:
        instance.stop()
        _current.pop("deployment", None)
