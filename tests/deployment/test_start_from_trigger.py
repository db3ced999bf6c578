"""
A sensor with ``start_from_trigger`` in a real scheduler + triggerer: the task goes from scheduled
straight to deferred (no worker ran it to defer), the triggerer renders its templated run id and
waits, and a worker runs it only once, to finish. ``dag.test()`` cannot show this: it runs every
task in-process, so the sensor defers from there. Run with ``bash tests/deployment/run.sh <venv>``.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tests.deployment.harness import (
    DAG_PARSE_TIMEOUT,
    RUN_TIMEOUT,
    Deployment,
    DeploymentError,
    say,
    wait_for,
)
from tests.integration.task_runner import run_task

pytestmark = pytest.mark.deployment

DAG_ID = "example_dataframer_wait_in_triggerer"
TASK_ID = "wait_for_run"
WORKER_STATES = ("queued", "running")


def start_run_elsewhere(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> str:
    """A run started outside the DAG (from this test process, against the deployment's emulator)."""
    from airflow_provider_dataframer.operators.run import CreateRunOperator
    from airflow_provider_dataframer.operators.spec import CreateSpecOperator

    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", deployment.connection_json())
    spec = run_task(
        CreateSpecOperator(
            task_id="spec", name="started-elsewhere", generation_objectives="tickets", poll_interval=0.2
        )
    )
    assert spec.state == "success", spec.message
    run = run_task(
        CreateRunOperator(task_id="run", spec_id=spec.result, number_of_samples=3, wait_for_completion=False)
    )
    assert run.state == "success", run.message
    return str(run.result["run_id"])


def test_sensor_starts_in_the_triggerer_and_never_waits_on_a_worker(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    wait_for(
        f"{DAG_ID} to be parsed",
        lambda: deployment.api("GET", f"/dags/{DAG_ID}"),
        timeout=DAG_PARSE_TIMEOUT,
        interval=2,
        alive=deployment.check_alive,
    )
    run_id = start_run_elsewhere(deployment, monkeypatch)
    deployment.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    created = deployment.api(
        "POST",
        f"/dags/{DAG_ID}/dagRuns",
        json={"logical_date": datetime.now(timezone.utc).isoformat(), "conf": {"run_id": run_id}},
    )
    ti_path = f"/dags/{DAG_ID}/dagRuns/{created['dag_run_id']}/taskInstances/{TASK_ID}"
    states: list[str | None] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:  # a sub-second poll: a worker run before the deferral would show queued/running
        state = deployment.api("GET", ti_path)["state"]
        if not states or states[-1] != state:
            states.append(state)
        if state in ("success", "failed", "upstream_failed"):
            break
        deployment.check_alive()
        if time.monotonic() > deadline:
            raise DeploymentError(f"{TASK_ID} did not finish within {RUN_TIMEOUT:.0f} s: {states}")
        time.sleep(0.2)
    say(f"{TASK_ID} states: {states}")
    assert states[-1] == "success", states
    assert "deferred" in states, states
    before_deferral = states[: states.index("deferred")]
    assert not set(before_deferral) & set(WORKER_STATES), (
        f"a worker ran the task before it deferred: {states}"
    )
    summary = deployment.api("GET", f"{ti_path}/xcomEntries/return_value", params={"deserialize": True})
    assert summary["value"]["run_id"] == run_id and summary["value"]["status"] == "SUCCEEDED"
