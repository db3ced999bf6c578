"""
The provider in a real Airflow 3 deployment: separate scheduler, triggerer, dag-processor and
api-server processes (LocalExecutor, SQLite) against the Dataframer emulator, all on loopback.

``dag.test()`` runs a trigger inline, in the task's own process; here the task is serialized,
scheduled, run by an executor worker, deferred through the metadata database, its trigger run by
the triggerer process, and the task resumed by a worker again. Run with
``bash tests/deployment/run.sh <venv>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.deployment.harness import (
    EXAMPLE_DAG_IDS,
    LOOPBACK,
    RUN_TIMEOUT,
    Deployment,
    RunRecord,
    listening_addresses,
    spec_id_of,
)

pytestmark = pytest.mark.deployment

TRIGGER_CLASSPATH = "airflow_provider_dataframer.triggers.spec.SpecStatusTrigger"
SPECS_PATH = "/api/dataframer/specs/"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def task_log_events(deployment: Deployment, record: RunRecord) -> list[str]:
    """The task's log (worker and triggerer parts, as the UI shows it), one event text per line."""
    try_number = record.task_instance["try_number"]
    body = deployment.api(
        "GET",
        f"{record.ti_path}/logs/{try_number}",
        params={"full_content": True},
        headers={"Accept": "application/json"},
    )
    return [str(item.get("event", "")) for item in body["content"] if isinstance(item, dict)]


def test_components_are_separate_processes_listening_on_loopback_only(deployment: Deployment) -> None:
    pids = {name: deployment.components[name].pid for name in COMPONENTS}
    assert len(set(pids.values())) == len(COMPONENTS), pids
    deployment.check_alive()
    health = deployment._all_healthy()
    assert health is not None, "a component is not healthy in GET /api/v2/monitor/health"
    listening = listening_addresses(deployment.processes())
    addresses = sorted({address for found in listening.values() for address in found})
    assert addresses, "no process of the deployment listens at all"
    outside = [address for address in addresses if not address.startswith((f"{LOOPBACK}:", "::1:"))]
    assert not outside, f"processes of the deployment listen beyond loopback: {listening}"
    assert f"{LOOPBACK}:{deployment.api_port}" in addresses
    assert f"{LOOPBACK}:{deployment.emulator_port}" in addresses


def test_example_dags_are_parsed_without_import_errors(
    deployment: Deployment, dags_parsed: dict[str, Any]
) -> None:
    errors = deployment.api("GET", "/importErrors")
    assert errors["total_entries"] == 0, errors["import_errors"]
    found = {dag["dag_id"] for dag in dags_parsed["dags"]}
    assert found.issuperset(EXAMPLE_DAG_IDS)


def test_deferrable_run_succeeds(deferrable_run: RunRecord) -> None:
    assert deferrable_run.run["state"] == "success", (
        f"run {deferrable_run.run_id} ended {deferrable_run.run['state']}; "
        f"task states seen: {deferrable_run.state_changes()}"
    )
    assert deferrable_run.task_instance["state"] == "success"
    assert deferrable_run.seconds < RUN_TIMEOUT


def test_task_was_deferred_and_its_trigger_run_by_the_triggerer(
    deployment: Deployment, deferrable_run: RunRecord
) -> None:
    changes = deferrable_run.state_changes()
    assert "deferred" in changes, f"the task never was DEFERRED; states seen: {changes}"
    assert changes[-1] == "success"
    assert changes.index("deferred") < len(changes) - 1
    deferred = deferrable_run.deferred_ti
    assert deferred is not None
    trigger, triggerer_job = deferred["trigger"], deferred["triggerer_job"]
    seen = [(ti["trigger"], ti["triggerer_job"]) for ti in deferrable_run.deferred_tis]
    assert trigger is not None, f"no trigger on the task instance while DEFERRED: {seen}"
    assert trigger["classpath"] == TRIGGER_CLASSPATH, trigger
    assert triggerer_job is not None and triggerer_job["job_type"] == "TriggererJob", seen
    assert trigger["triggerer_id"] == triggerer_job["id"]
    # The trigger was resumed into the same try, not retried.
    assert deferrable_run.task_instance["try_number"] == 1
    running = deployment.api("GET", "/jobs", params={"job_type": "TriggererJob", "is_alive": True})
    assert [job["id"] for job in running["jobs"]] == [triggerer_job["id"]], running

    spec_id = spec_id_of(deployment, deferrable_run)
    # The triggerer writes each trigger's lines to a file of its own, named after its job id.
    assert deployment.workdir is not None
    task_dir = (
        deployment.workdir
        / "logs"
        / f"dag_id={deferrable_run.dag_id}"
        / f"run_id={deferrable_run.run_id}"
        / f"task_id={deferrable_run.task_id}"
    )
    trigger_log = task_dir / f"attempt=1.log.trigger.{triggerer_job['id']}.log"
    assert trigger_log.exists(), (
        f"no trigger log of triggerer job {triggerer_job['id']}: {list_dir(task_dir)}"
    )
    trigger_text = trigger_log.read_text()
    assert f"Dataframer spec {spec_id} is PROCESSING" in trigger_text, trigger_text[-3000:]
    assert f"Dataframer spec {spec_id} is SUCCEEDED" in trigger_text, trigger_text[-3000:]

    # The task's log, as the UI shows it: deferred by the worker, polled by the trigger, then
    # resumed by a worker (execute_complete) with the spec's final status.
    events = task_log_events(deployment, deferrable_run)
    text = "\n".join(events)
    created = first_index(events, rf"Created Dataframer spec {spec_id}")
    deferred_at = first_index(events, r"Pausing task as DEFERRED")
    processing = first_index(events, rf"Dataframer spec {spec_id} is PROCESSING")
    resumed = first_index(events, rf"^Dataframer spec {spec_id} SUCCEEDED$")
    assert None not in (created, deferred_at, processing, resumed), text[-4000:]
    assert created < deferred_at < processing < resumed, (created, deferred_at, processing, resumed)


def test_spec_id_is_in_xcom_and_is_the_spec_on_the_emulator(
    deployment: Deployment, deferrable_run: RunRecord
) -> None:
    spec_id = spec_id_of(deployment, deferrable_run, "return_value")
    assert spec_id == spec_id_of(deployment, deferrable_run, "spec_id")
    assert re.fullmatch(r"[0-9a-f-]{36}", str(spec_id)), spec_id

    specs = deployment.emulator(SPECS_PATH)
    assert [spec["id"] for spec in specs] == [spec_id], specs
    spec = deployment.emulator(f"{SPECS_PATH}{spec_id}/")
    assert spec["status"] == "SUCCEEDED", spec
    logical_date = deferrable_run.run["logical_date"][:10].replace("-", "")
    assert spec["name"] == f"patient-intake-notes-{logical_date}", spec["name"]

    requests = deployment.emulator("/_emulator/requests")
    records = requests if isinstance(requests, list) else requests.get("requests", requests)
    creates = [r for r in records if r["method"] == "POST" and r["path"] == SPECS_PATH]
    assert len(creates) == 1 and creates[0]["status"] in (200, 201), creates
    polls = [r for r in records if r["method"] == "GET" and r["path"] == f"{SPECS_PATH}{spec_id}/"]
    assert len(polls) >= 2, f"expected polls of the spec while PROCESSING and once SUCCEEDED: {polls}"
    assert all(r["status"] == 200 for r in polls), polls


def test_extra_link_points_at_the_spec_in_the_app(deployment: Deployment, deferrable_run: RunRecord) -> None:
    from airflow_provider_dataframer.operators.spec import CreateSpecOperator

    declared = [link.name for link in getattr(CreateSpecOperator, "operator_extra_links", ())]
    assert "Dataframer Spec" in declared, f"CreateSpecOperator declares no 'Dataframer Spec' link: {declared}"
    links = deployment.api("GET", f"{deferrable_run.ti_path}/links")["extra_links"]
    spec_id = spec_id_of(deployment, deferrable_run)
    # No `app_url` extra on the connection: a deployment other than the public API is its own app.
    assert links.get("Dataframer Spec") == f"{deployment.emulator_url}/specs/{spec_id}", links


def test_connections_test_cli_succeeds_with_the_key_and_fails_clearly_without(
    deployment: Deployment,
) -> None:
    good = deployment.airflow(["connections", "test", "dataframer_default"], check=False)
    assert good.returncode == 0, good.stdout[-3000:]
    assert "Connection success!" in good.stdout, good.stdout[-3000:]

    bad = deployment.airflow(["connections", "test", "dataframer_bad_key"], check=False)
    assert bad.returncode == 1, bad.stdout[-3000:]
    assert "Connection failed!" in bad.stdout, bad.stdout[-3000:]
    assert f"Authentication failed at {deployment.emulator_url}" in bad.stdout, bad.stdout[-3000:]
    assert "Invalid API key" in bad.stdout, bad.stdout[-3000:]  # the server's own message

    for output in (good.stdout, bad.stdout):
        assert deployment.api_key not in output
        assert "df-wrong-key" not in output


def first_index(events: list[str], pattern: str) -> int | None:
    regex = re.compile(pattern)
    return next((index for index, event in enumerate(events) if regex.search(event)), None)


def list_dir(path: Path) -> list[str]:
    return sorted(child.name for child in path.iterdir()) if path.exists() else []
