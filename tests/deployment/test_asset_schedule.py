"""
Asset scheduling in a real deployment: the chain DAG's run updates a Dataframer asset, and the
scheduler starts the DAG scheduled on that asset.

``dag.test()`` (tests/integration/test_example_asset_dags.py) runs each DAG by hand; here the
scheduler itself records the asset event of ``example_dataframer_chain``'s ``generate`` task and
creates the ``asset_triggered`` run of ``example_dataframer_asset_consumer``, which then reads the
event, downloads the run's files and counts their rows. Every wait polls the REST API with a bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.deployment.harness import Deployment, DeploymentError, say, wait_for

pytestmark = pytest.mark.deployment

CHAIN_DAG = "example_dataframer_chain"
CONSUMER_DAG = "example_dataframer_asset_consumer"
ASSET_URI = "dataframer://df-api.dataframer.ai/synthetic-data/support-tickets"
SAMPLES = 4
# Spec (the harness's 12 s), run (~6 s), download and four tasks' scheduling, with room to spare.
CHAIN_TIMEOUT = 240.0
CONSUMER_TIMEOUT = 180.0
FINISHED = ("success", "failed")


@dataclass
class AssetChain:
    """The chain run, the asset-triggered consumer run it caused, and what the API said of them."""

    chain_run: dict[str, Any]
    generate_ti: dict[str, Any]
    consumer_runs_before: list[dict[str, Any]]
    consumer_run: dict[str, Any]
    upstream_events: list[dict[str, Any]]
    consumer_tis: dict[str, dict[str, Any]] = field(default_factory=dict)
    fresh_run: Any = None
    train_result: Any = None


def parsed(deployment: Deployment, *dag_ids: str) -> bool:
    found = {dag["dag_id"] for dag in deployment.api("GET", "/dags", params={"limit": 100})["dags"]}
    return found.issuperset(dag_ids)


def dag_runs(deployment: Deployment, dag_id: str) -> list[dict[str, Any]]:
    return list(deployment.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"])


def finished_run(deployment: Deployment, dag_id: str, run_id: str) -> dict[str, Any] | None:
    run = deployment.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    return run if run["state"] in FINISHED else None


@pytest.fixture(scope="module")
def asset_chain(deployment: Deployment) -> AssetChain:
    """Unpause both DAGs, trigger the chain once, wait for it and then for the consumer's run."""
    assert deployment.workdir is not None
    with deployment.phases.phase("wait for the chain and asset-consumer DAGs to be parsed"):
        wait_for(
            f"{CHAIN_DAG} and {CONSUMER_DAG} in GET /api/v2/dags",
            lambda: parsed(deployment, CHAIN_DAG, CONSUMER_DAG),
            timeout=180,
            interval=2,
            alive=deployment.check_alive,
        )
    # Unpaused before the chain runs: an asset event only queues runs of DAGs that are active.
    for dag_id in (CONSUMER_DAG, CHAIN_DAG):
        deployment.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    consumer_runs_before = dag_runs(deployment, CONSUMER_DAG)

    with deployment.phases.phase(f"trigger {CHAIN_DAG} and wait for it"):
        created = deployment.api(
            "POST",
            f"/dags/{CHAIN_DAG}/dagRuns",
            json={
                "logical_date": datetime.now(timezone.utc).isoformat(),
                "conf": {
                    "number_of_samples": SAMPLES,
                    "output_dir": str(deployment.workdir / "chain-output"),
                },
            },
        )
        run_id = created["dag_run_id"]
        say(f"triggered {CHAIN_DAG} run {run_id}")
        chain_run = wait_for(
            f"the run {run_id} of {CHAIN_DAG} to finish",
            lambda: finished_run(deployment, CHAIN_DAG, run_id),
            timeout=CHAIN_TIMEOUT,
            interval=1,
            alive=deployment.check_alive,
        )
        say(f"{CHAIN_DAG} run {run_id} ended {chain_run['state']}")
    generate_ti = deployment.api("GET", f"/dags/{CHAIN_DAG}/dagRuns/{run_id}/taskInstances/generate")
    if chain_run["state"] != "success":
        tis = deployment.api("GET", f"/dags/{CHAIN_DAG}/dagRuns/{run_id}/taskInstances")
        raise DeploymentError(
            f"{CHAIN_DAG} run {run_id} ended {chain_run['state']}: "
            f"{[(ti['task_id'], ti['state']) for ti in tis['task_instances']]}"
        )

    with deployment.phases.phase(f"wait for the asset-triggered run of {CONSUMER_DAG}"):
        before = {run["dag_run_id"] for run in consumer_runs_before}

        def new_consumer_run_finished() -> dict[str, Any] | None:
            new = [run for run in dag_runs(deployment, CONSUMER_DAG) if run["dag_run_id"] not in before]
            return new[0] if len(new) == 1 and new[0]["state"] in FINISHED else None

        start = time.monotonic()
        consumer_run = wait_for(
            f"a new run of {CONSUMER_DAG} to be created by the asset event and to finish",
            new_consumer_run_finished,
            timeout=CONSUMER_TIMEOUT,
            interval=1,
            alive=deployment.check_alive,
        )
        say(
            f"{CONSUMER_DAG} run {consumer_run['dag_run_id']} ({consumer_run['run_type']}) ended "
            f"{consumer_run['state']} {time.monotonic() - start:.1f} s after the chain run"
        )
    consumer_path = f"/dags/{CONSUMER_DAG}/dagRuns/{consumer_run['dag_run_id']}"
    events = deployment.api("GET", f"{consumer_path}/upstreamAssetEvents")["asset_events"]
    tis = deployment.api("GET", f"{consumer_path}/taskInstances")["task_instances"]
    result = AssetChain(
        chain_run=chain_run,
        generate_ti=generate_ti,
        consumer_runs_before=consumer_runs_before,
        consumer_run=consumer_run,
        upstream_events=events,
        consumer_tis={ti["task_id"]: ti for ti in tis},
    )
    if consumer_run["state"] == "success":
        result.fresh_run, result.train_result = (
            deployment.api(
                "GET",
                f"{consumer_path}/taskInstances/{task_id}/xcomEntries/return_value",
                params={"deserialize": True},
            )["value"]
            for task_id in ("fresh_run", "train")
        )
    return result


def test_the_consumer_dag_is_scheduled_on_the_dataframer_asset(deployment: Deployment) -> None:
    wait_for(
        f"{CONSUMER_DAG} in GET /api/v2/dags",
        lambda: parsed(deployment, CONSUMER_DAG),
        timeout=180,
        interval=2,
        alive=deployment.check_alive,
    )
    dag = deployment.api("GET", f"/dags/{CONSUMER_DAG}/details")
    assert dag["timetable_summary"] == "Asset", dag["timetable_summary"]
    assets = deployment.api("GET", "/assets", params={"uri_pattern": "synthetic-data/support-tickets"})
    (asset,) = assets["assets"]
    assert asset["uri"] == ASSET_URI
    assert [ref["dag_id"] for ref in asset["scheduled_dags"]] == [CONSUMER_DAG], asset
    assert {ref["dag_id"] for ref in asset["producing_tasks"]} == {CHAIN_DAG}, asset


def test_the_chain_run_creates_an_asset_triggered_run_of_the_consumer(asset_chain: AssetChain) -> None:
    assert asset_chain.consumer_runs_before == [], "the consumer ran before any asset event"
    run = asset_chain.consumer_run
    assert run["run_type"] == "asset_triggered", run
    # Queued by the event of the generate task, so created after that task had succeeded.
    assert asset_chain.generate_ti["state"] == "success"
    created_after = datetime.fromisoformat(run["run_after"])
    assert created_after >= datetime.fromisoformat(asset_chain.generate_ti["end_date"]), (
        run,
        asset_chain.generate_ti,
    )


def test_the_triggering_event_carries_the_run_id_samples_and_cost(
    deployment: Deployment, asset_chain: AssetChain
) -> None:
    (event,) = asset_chain.upstream_events
    assert event["uri"] == ASSET_URI
    assert event["source_dag_id"] == CHAIN_DAG and event["source_task_id"] == "generate"
    assert event["source_run_id"] == asset_chain.chain_run["dag_run_id"]
    extra = event["extra"]
    run_id = deployment.api(
        "GET",
        f"/dags/{CHAIN_DAG}/dagRuns/{asset_chain.chain_run['dag_run_id']}/taskInstances/generate"
        "/xcomEntries/run_id",
        params={"deserialize": True},
    )["value"]
    assert extra["run_id"] == run_id, extra
    assert extra["status"] == "SUCCEEDED"
    run_on_emulator = deployment.emulator(f"/api/dataframer/runs/{run_id}/")
    assert extra["samples_completed"] == run_on_emulator["samples_completed"] == SAMPLES, extra
    assert extra["samples_failed"] == run_on_emulator["samples_failed"], extra
    assert extra["total_cost"] == run_on_emulator["total_cost"], (extra, run_on_emulator)
    assert float(extra["total_cost"]) > 0, extra


def test_the_consumer_run_reads_the_event_and_trains_on_the_runs_files(asset_chain: AssetChain) -> None:
    states = {task_id: ti["state"] for task_id, ti in asset_chain.consumer_tis.items()}
    assert asset_chain.consumer_run["state"] == "success", states
    assert states == {"fresh_run": "success", "download": "success", "train": "success"}
    assert asset_chain.fresh_run["run_id"] == asset_chain.upstream_events[0]["extra"]["run_id"]
    assert asset_chain.train_result["files"] >= 1, asset_chain.train_result
    assert asset_chain.train_result["rows"] >= SAMPLES, asset_chain.train_result
