"""
Fixtures of the deployment test: one real Airflow deployment shared by the whole session.

The tests here are marked ``deployment`` and skipped unless ``DATAFRAMER_DEPLOYMENT_TEST=1``
(``tests/deployment/run.sh`` sets it), so ``make test`` stays fast. The browser check also needs
``DATAFRAMER_UI_TEST=1`` (``run.sh --ui``). Airflow is run from the virtualenv of the interpreter
running pytest, or from ``DATAFRAMER_DEPLOYMENT_VENV``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Generator, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.deployment.harness import (
    DAG_PARSE_TIMEOUT,
    DEFERRABLE_DAG,
    DEFERRABLE_TASK,
    EXAMPLE_DAG_IDS,
    RUN_TIMEOUT,
    Deployment,
    DeploymentError,
    RunRecord,
    say,
    wait_for,
)

ENABLE_ENV = "DATAFRAMER_DEPLOYMENT_TEST"
VENV_ENV = "DATAFRAMER_DEPLOYMENT_VENV"


_current: dict[str, Deployment] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deployment: starts a real Airflow deployment (set DATAFRAMER_DEPLOYMENT_TEST=1)"
    )
    if os.environ.get(ENABLE_ENV) == "1":
        # SIGTERM (run.sh's cleanup, `timeout`) interrupts like Ctrl-C, so the session fixtures
        # still tear the deployment down instead of leaving its processes behind.
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# Modules whose runs add specs and runs to the shared emulator: after the tests that count them.
RUN_LAST = ("test_start_from_trigger.py", "test_asset_watcher.py", "test_asset_schedule.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(ENABLE_ENV) == "1":
        items.sort(key=lambda item: RUN_LAST.index(item.path.name) + 1 if item.path.name in RUN_LAST else 0)
        return
    skip = pytest.mark.skip(reason=f"set {ENABLE_ENV}=1 or run `bash tests/deployment/run.sh <venv>`")
    for item in items:
        if item.get_closest_marker("deployment"):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing deployment test gets the last lines of every component's log in its report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    deployment = _current.get("deployment")
    if report.failed and deployment is not None and item.get_closest_marker("deployment"):
        report.sections.append(("Airflow component logs (tails)", deployment.log_tails()))


@pytest.fixture(scope="session")
def deployment() -> Generator[Deployment, None, None]:
    """Emulator + api-server + scheduler + dag-processor + triggerer, torn down at the end."""
    venv = Path(os.environ.get(VENV_ENV) or sys.prefix)
    if not (venv / "bin" / "airflow").exists():
        pytest.fail(f"No Airflow in {venv}: pass the virtualenv holding Airflow and the provider.")
    instance = Deployment(venv=venv)
    _current["deployment"] = instance
    try:
        try:
            instance.start()
        except BaseException:
            say("start failed; component logs:\n" + instance.log_tails())
            raise
        yield instance
    finally:
        instance.stop()  # raises if a process of the deployment survives
        _current.pop("deployment", None)


@pytest.fixture(scope="session")
def dags_parsed(deployment: Deployment) -> dict[str, Any]:
    """Wait until the dag-processor has serialized the example DAGs; return the DAG list."""

    def parsed() -> dict[str, Any] | None:
        dags = deployment.api("GET", "/dags", params={"limit": 100})
        found = {dag["dag_id"] for dag in dags["dags"]}
        return dags if found.issuperset(EXAMPLE_DAG_IDS) else None

    with deployment.phases.phase("wait for the dag-processor to parse the example DAGs"):
        return wait_for(
            f"the DAGs {', '.join(EXAMPLE_DAG_IDS)} to appear in GET /api/v2/dags",
            parsed,
            timeout=DAG_PARSE_TIMEOUT,
            interval=2,
            alive=deployment.check_alive,
        )


@pytest.fixture(scope="session")
def deferrable_run(deployment: Deployment, dags_parsed: dict[str, Any]) -> RunRecord:
    """Unpause and trigger the deferrable example DAG; poll its task until the run ends."""
    dag_id = DEFERRABLE_DAG
    with deployment.phases.phase(f"trigger {dag_id} and wait for the run"):
        deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        created = deployment.api(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            json={"logical_date": datetime.now(timezone.utc).isoformat(), "conf": {}},
        )
        record = RunRecord(dag_id, DEFERRABLE_TASK, created["dag_run_id"])
        say(f"triggered {dag_id} run {record.run_id}")
        start = time.monotonic()
        deadline = start + RUN_TIMEOUT
        while True:
            task_instance = deployment.api("GET", record.ti_path)
            record.states.append(task_instance["state"])
            if task_instance["state"] == "deferred":
                if not record.deferred_tis:
                    say(f"task {record.task_id} is DEFERRED (trigger {task_instance['trigger']})")
                record.deferred_tis.append(task_instance)
            run = deployment.api("GET", f"/dags/{dag_id}/dagRuns/{record.run_id}")
            if run["state"] in ("success", "failed"):
                record.run = run
                record.task_instance = deployment.api("GET", record.ti_path)
                break
            deployment.check_alive()
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"The run {record.run_id} of {dag_id} did not finish within {RUN_TIMEOUT:.0f} s; "
                    f"task states seen: {record.state_changes()}; last task instance: {task_instance}"
                )
            time.sleep(0.5)
        record.seconds = time.monotonic() - start
        say(
            f"run {record.run_id} ended {run['state']} after {record.seconds:.1f} s: {record.state_changes()}"
        )
    return record
