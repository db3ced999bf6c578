"""
A user clears a deferred run task on the scale-out deployment: the run goes on, and the next try
reconnects to it.

On Airflow 3.3 the triggerer cancels a cleared task's trigger only once the scheduler has moved
the task instance on from no state (the triggerer's clean-up unlinks triggers from task instances
whose state is not DEFERRED, which in SQL a NULL state is not). The trigger's ``on_kill`` then
reads scheduled, queued, running or deferred again, depending on how far the scheduler and the
Celery worker got before the triggerer's supervisor answered (measured: deferred again, 14 s
after the cancel). None of them is a kill, so whichever it reads, the run must not be canceled;
the next try finds the run id in the task-state store (a clear keeps it) and waits on the same
run. Once with everything running, once with the Celery worker paused (SIGSTOP) from before the
clear until the verdict is logged, so that the read is certainly scheduled or queued. Runs on the
slow emulator end only when canceled, so nothing here waits on a timing. Runs after
test_scaleout.py (file order), on the same deployment.
"""

from __future__ import annotations

import re
import signal
import time
from typing import Any

import pytest

from tests.deployment.harness import say, wait_for
from tests.deployment.scaleout.harness import ScaleOutDeployment, elapsed

pytestmark = [pytest.mark.deployment, pytest.mark.scaleout]

DAG_ID = "scaleout_mark_failed"  # one deferrable CreateRunOperator "run" on the slow emulator
WAIT = 240.0  # generous bound of each wait on a loaded 2-core machine; none is a timing assumption


def run_task(deployment: ScaleOutDeployment, run_id: str) -> dict[str, Any]:
    return deployment.task_instances(DAG_ID, run_id)["run"]


def deferred_in_try(deployment: ScaleOutDeployment, run_id: str, try_number: int) -> bool:
    ti = run_task(deployment, run_id)
    return bool(ti["state"] == "deferred" and ti["try_number"] == try_number)


def xcom_run_id(deployment: ScaleOutDeployment, run_id: str) -> str | None:
    path = f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/run/xcomEntries/run_id"
    return str(deployment.api("GET", path, params={"deserialize": True})["value"])


@pytest.mark.parametrize(
    ("paused", "states_read"),
    [(None, "still deferred|running|queued|scheduled"), ("celery-worker", "queued|scheduled")],
    ids=["everything-running", "worker-paused"],
)
def test_clearing_a_deferred_run_task_keeps_the_run_and_the_next_try_reconnects(
    scaleout: ScaleOutDeployment, paused: str | None, states_read: str
) -> None:
    slow = scaleout.slow
    assert slow is not None
    spec_id = slow.create_spec(f"scaleout-clear-{paused or 'unpaused'}")
    run_id = scaleout.trigger_dag(DAG_ID, {"spec_id": spec_id})
    wait_for(
        "the run task to defer",
        lambda: deferred_in_try(scaleout, run_id, 1),
        timeout=WAIT,
        interval=1,
        alive=scaleout.check_alive,
    )
    dataframer_run = wait_for("its run id in XCom", lambda: xcom_run_id(scaleout, run_id), timeout=60)
    # A trigger that no triggerer ran yet is dropped without an on_kill: wait for its first poll.
    wait_for(
        "the trigger's first poll",
        lambda: f"Dataframer run {dataframer_run} is PROCESSING" in scaleout.task_log_text(),
        timeout=WAIT,
        interval=1,
        alive=scaleout.check_alive,
    )

    started = time.monotonic()
    if paused:
        scaleout.signal_component(paused, signal.SIGSTOP)
    try:
        scaleout.api(
            "POST",
            f"/dags/{DAG_ID}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "task_ids": ["run"], "only_failed": False},
        )
        verdict = re.compile(  # either way, so that a wrong decision fails at once
            rf"Not canceling Dataframer run {dataframer_run}: its task is [^,.]+"
            rf"|Canceled Dataframer run {dataframer_run} because [^.]+"
        )
        seen = wait_for(
            "on_kill's verdict on the cleared task",
            lambda: verdict.search(scaleout.task_log_text() + scaleout.triggerer_log_text()),
            timeout=WAIT,
            interval=1,
            alive=scaleout.check_alive,
        )
    finally:
        if paused:
            scaleout.signal_component(paused, signal.SIGCONT)
    say(f"on_kill, {f'the {paused} paused' if paused else 'nothing paused'}: {seen.group(0)}")
    assert seen.group(0).startswith("Not canceling"), seen.group(0)
    assert re.search(rf"its task is ({states_read})$", seen.group(0)), seen.group(0)
    wait_for(
        "the next try to defer",
        lambda: deferred_in_try(scaleout, run_id, 2),
        timeout=WAIT,
        interval=1,
        alive=scaleout.check_alive,
    )
    say(f"clear -> on_kill left the run alone and try 2 deferred: {elapsed(started)} s")
    assert wait_for("try 2's run id in XCom", lambda: xcom_run_id(scaleout, run_id), timeout=60) == (
        dataframer_run
    ), "the next try waits on the run of the first"
    runs = [run for run in slow.api("GET", "/runs/") if run["spec_id"] == spec_id]
    assert [run["id"] for run in runs] == [dataframer_run], "exactly one run for the cleared task"
    assert runs[0]["status"] not in ("CANCELED", "FAILED"), runs[0]
    assert not slow.requests("POST", rf"/runs/{dataframer_run}/cancel/$")

    # Then a user marks try 2 failed: that is a kill, and its run is canceled.
    scaleout.api("PATCH", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/run", json={"new_state": "failed"})
    wait_for(
        f"run {dataframer_run} to be canceled",
        lambda: slow.api("GET", f"/runs/{dataframer_run}/")["status"] == "CANCELED",
        timeout=WAIT,
        interval=1,
        alive=scaleout.check_alive,
    )
    assert len(slow.requests("POST", rf"/runs/{dataframer_run}/cancel/$")) == 1
