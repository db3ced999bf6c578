"""
Event-driven scheduling in a real deployment: ``RunFinishedTrigger`` in an ``AssetWatcher``, run
by the triggerer process, starts ``example_dataframer_run_finished_watcher`` once for a run that
was started and finished outside Airflow (directly on the emulator, with the SDK), and a
restarted triggerer does not start it again but does fire the run that finished while it was
down (its watermark is in the asset state store). Run with ``bash tests/deployment/run.sh <venv>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dataframer.triggers.run_finished import SAVE_AFTER_EVENTS
from tests.deployment.harness import DAG_PARSE_TIMEOUT, RUN_TIMEOUT, Deployment, say, wait_for

pytestmark = pytest.mark.deployment

DAG_ID = "example_dataframer_run_finished_watcher"
ASSET_URI = "dataframer://df-api.dataframer.ai/synthetic-data/weekly-tickets"
RUNS_LIST = "/_emulator/requests?method=GET&path=runs/"
# The example's poll interval is DATAFRAMER_EXAMPLE_POLL_INTERVAL (1 s in the deployment);
# the dag-processor registers a watcher when it re-parses the unpaused DAG (30 s by default),
# and a restarted triggerer takes the watcher over once the old one's heartbeat has expired.
WATCHER_START_TIMEOUT = 240.0
QUIET_POLLS = 5
# The watcher saves what it fired SAVE_AFTER_EVENTS after firing, between a sleep and its next
# list call: this many list calls after firing (1 s apart at least), the save is done.
SAVED_POLLS = math.ceil(SAVE_AFTER_EVENTS / 1.0) + 2


@pytest.fixture
def sdk(deployment: Deployment) -> Iterator[Any]:
    from dataframer import Dataframer

    client = Dataframer(api_key=deployment.api_key, base_url=deployment.emulator_url, max_retries=2)
    yield client.dataframer
    client.close()


def list_calls(deployment: Deployment) -> int:
    """How often the emulator was asked for the run list (only the watcher lists runs)."""
    return len(deployment.emulator(RUNS_LIST))


def wait_for_polls(deployment: Deployment, count: int, timeout: float = WATCHER_START_TIMEOUT) -> None:
    """Wait until the watcher has listed the runs ``count`` more times (answers handled: count - 1)."""
    target = list_calls(deployment) + count
    wait_for(
        f"the watcher to list the runs {count} more times",
        lambda: list_calls(deployment) >= target or None,
        timeout=timeout,
        interval=0.5,
        alive=deployment.check_alive,
    )


def finished_run(sdk: Any, spec_id: str) -> str:
    """A run started outside Airflow; returned when the emulator shows it SUCCEEDED."""
    run_id: str = sdk.runs.create(spec_id=spec_id, number_of_samples=3).id
    until(lambda: sdk.runs.retrieve(run_id).status == "SUCCEEDED", f"run {run_id} to succeed")
    return run_id


def until(condition: Callable[[], bool], what: str, timeout: float = RUN_TIMEOUT) -> None:
    wait_for(what, lambda: condition() or None, timeout=timeout, interval=0.5)


def dag_runs(deployment: Deployment) -> list[dict[str, Any]]:
    runs = deployment.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 100})
    return runs["dag_runs"]  # type: ignore[no-any-return]


def asset_events(deployment: Deployment) -> list[dict[str, Any]]:
    answer = deployment.api("GET", "/assets/events", params={"limit": 100, "order_by": "timestamp"})
    return [event for event in answer["asset_events"] if event["uri"] == ASSET_URI]


def triggering_payloads(deployment: Deployment, dag_run_id: str) -> list[dict[str, Any]]:
    answer = deployment.api("GET", f"/dags/{DAG_ID}/dagRuns/{dag_run_id}/upstreamAssetEvents")
    return [event["extra"]["payload"] for event in answer["asset_events"]]


def test_a_run_finished_outside_airflow_runs_the_watcher_dag_once_across_a_restart(
    deployment: Deployment, sdk: Any
) -> None:
    wait_for(
        f"the dag-processor to parse {DAG_ID}",
        lambda: any(dag["dag_id"] == DAG_ID for dag in deployment.api("GET", "/dags")["dags"]) or None,
        timeout=DAG_PARSE_TIMEOUT,
        interval=2,
        alive=deployment.check_alive,
    )
    spec_id: str = sdk.specs.create(
        name="weekly-tickets-deployment", generation_objectives="Customer support tickets"
    ).id
    until(lambda: sdk.specs.retrieve(spec_id).status == "SUCCEEDED", f"spec {spec_id} to succeed")
    before = finished_run(sdk, spec_id)  # finished before the watcher exists: never fires

    with deployment.phases.phase("unpause the watcher DAG and wait for the watcher to poll"):
        deployment.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
        wait_for_polls(deployment, 2)

    with deployment.phases.phase("a run finished outside Airflow starts the DAG"):
        fired = finished_run(sdk, spec_id)
        say(f"run {fired} finished on the emulator; waiting for {DAG_ID} to run")
        wait_for(
            f"{DAG_ID} to run for run {fired}",
            lambda: [r for r in dag_runs(deployment) if r["state"] in ("success", "failed")] or None,
            timeout=RUN_TIMEOUT,
            interval=1,
            alive=deployment.check_alive,
        )
        wait_for_polls(deployment, QUIET_POLLS)
        [dag_run] = dag_runs(deployment)
        assert dag_run["state"] == "success", dag_run
        assert dag_run["run_type"] == "asset_triggered"
        [payload] = triggering_payloads(deployment, dag_run["dag_run_id"])
        assert payload["run_id"] == fired and payload["status"] == "SUCCEEDED"
        assert payload["spec_id"] == spec_id and payload["samples_requested"] == 3
        assert deployment.api_key not in str(payload)
        assert [e["extra"]["payload"]["run_id"] for e in asset_events(deployment)] == [fired]
        assert before != fired

    with deployment.phases.phase("restart the triggerer: what it fired stays fired, what it missed fires"):
        wait_for_polls(deployment, SAVED_POLLS)  # at least once: a restart before the save may refire
        old = deployment.components["triggerer"]
        old.stop()
        # Finished while no triggerer runs the watcher: only a watermark kept outside the
        # triggerer's memory (the asset's state store) makes it fire after the restart.
        while_down = finished_run(sdk, spec_id)
        deployment._add_component("triggerer", old.argv)
        say(f"run {while_down} finished while the triggerer was down; triggerer restarted")
        wait_for(
            f"{DAG_ID} to run for run {while_down}",
            lambda: (
                len([r for r in dag_runs(deployment) if r["state"] in ("success", "failed")]) >= 2 or None
            ),
            timeout=WATCHER_START_TIMEOUT,
            interval=1,
            alive=deployment.check_alive,
        )
        wait_for_polls(deployment, QUIET_POLLS)
        assert len(dag_runs(deployment)) == 2, "a restarted triggerer fired a run again"
        assert [e["extra"]["payload"]["run_id"] for e in asset_events(deployment)] == [fired, while_down]

    deployment.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": True})
