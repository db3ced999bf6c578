"""
The provider on Airflow's distributed engine: CeleryExecutor, Redis, PostgreSQL, two triggerers.

One session, the scenarios in order (each asserts task states, XCom and the objects on the
emulators, and prints its timings):

1. 8 deferrable spec tasks, 2 run tasks and a run task on the slow emulator (for scenario 4)
   defer; their triggers are spread over both triggerers: the first one is started with
   ``--capacity 6`` and the second once the first is full, because Airflow hands new triggers to
   whichever triggerer asks first, and the busy one asks far more often. A task whose
   ``execution_timeout`` will pass while the triggers move is started as well.
2. The first triggerer is killed (SIGKILL): its triggers move to the second. A replacement
   triggerer is started, as a process manager would.
3. The triggerer running a run's trigger (the second, now holding every trigger) is paused
   (SIGSTOP) until that trigger moved to the replacement, then resumed (SIGCONT): Airflow then
   calls ``on_kill`` on the trigger it lost (apache/airflow#73454); the trigger's log must show
   our verdict, and no run may be canceled. Once the fast emulator lets the specs and runs finish,
   every task succeeds on its first try, with exactly one spec or run each.
4. A user marks the deferred slow run task failed through the REST API: its run is canceled.
5. The ``execution_timeout`` task has failed with the timeout message, and its run is canceled.
6. No step of our triggers held a triggerer's event loop over 0.2 s (asyncio's debug mode names
   the coroutine behind each long step; Airflow's own watchdog lines do not).

Nothing waits on a timing: the fast emulator answers the triggers' status polls with 429
(specs) or PROCESSING (runs) until the test releases them, and the slow emulator's runs end only
when canceled. Every wait is for an observable condition, with a generous timeout.
"""

from __future__ import annotations

import re
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.deployment.harness import say, wait_for
from tests.deployment.scaleout.dags.scaleout_dags import EXECUTION_TIMEOUT, RUN_TASKS, SPEC_TASKS
from tests.deployment.scaleout.harness import (
    FIRST_TRIGGERER,
    FIRST_TRIGGERER_CAPACITY,
    ScaleOutDeployment,
    elapsed,
)

pytestmark = [pytest.mark.deployment, pytest.mark.scaleout]

SPEC_TASK_IDS = [f"spec_{i}" for i in range(SPEC_TASKS)]
RUN_TASK_IDS = [f"run_{i}" for i in range(RUN_TASKS)]
SECOND_TRIGGERER = "triggerer-2"
REPLACEMENT_TRIGGERER = "triggerer-3"  # started after the first one is killed
TRIGGER_TASK = re.compile(r"name='[^']+ \(ID \d+\)'")  # Airflow names a trigger's task so
MAX_LOOP_BLOCK = 0.2  # seconds; also Airflow's default warning threshold
WAIT = 240.0  # generous bound of each wait on a loaded 2-core machine; none is a timing assumption
HOLD_SPECS = {
    "method": "GET",
    "path": "specs/**",
    "action": "error",
    "status_code": 429,
    "retry_after": 1,
}
HOLD_RUNS = {
    "method": "GET",
    "path": "runs/*/",
    "action": "status_override",
    "status": "PROCESSING",
}


@dataclass
class Story:
    """What the scenarios did and saw, for the assertions and the closing report."""

    dag_runs: dict[str, str] = field(default_factory=dict)  # dag_id -> run id
    run_specs: list[str] = field(default_factory=list)
    slow_specs: dict[str, str] = field(default_factory=dict)
    holds: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    holders_at_start: dict[str, str] = field(default_factory=dict)  # task id -> triggerer
    paused: str = ""
    paused_run_id: str = ""
    pause_attempts: int = 0
    pauses: list[tuple[str, float, float]] = field(default_factory=list)  # (triggerer, SIGSTOP, SIGCONT)
    killed: str = ""


def deferred_holders(deployment: ScaleOutDeployment, dag_id: str, run_id: str) -> dict[str, str | None]:
    """Task id -> the triggerer holding its trigger, for the task instances that are DEFERRED."""
    holders = {}
    for task_id, ti in deployment.task_instances(dag_id, run_id).items():
        if ti["state"] == "deferred":
            job = (ti.get("triggerer_job") or {}).get("id")
            holders[task_id] = deployment.triggerer_of_job(job) if job else None
    return holders


def phase1_holders(deployment: ScaleOutDeployment, story: Story) -> dict[str, str | None]:
    """Holders of the 8 spec and 2 run tasks' triggers."""
    holders = deferred_holders(deployment, "scaleout_specs", story.dag_runs["scaleout_specs"])
    holders.update(deferred_holders(deployment, "scaleout_runs", story.dag_runs["scaleout_runs"]))
    return holders


def moving_holders(deployment: ScaleOutDeployment, story: Story) -> dict[str, str | None]:
    """Holders of the triggers that the kill and the pause move: phase 1's and the mark-failed run's."""
    holders = phase1_holders(deployment, story)
    mark_failed = deferred_holders(deployment, "scaleout_mark_failed", story.dag_runs["scaleout_mark_failed"])
    holders.update({f"mark_failed.{task}": holder for task, holder in mark_failed.items()})
    return holders


@pytest.fixture(scope="session")
def story(scaleout: ScaleOutDeployment) -> Story:
    """Scenarios 1 to 3 (spread, kill, pause), then release the held specs and runs."""
    deployment, story = scaleout, Story()
    fast, slow = deployment.fast, deployment.slow
    assert fast is not None and slow is not None
    moving = SPEC_TASKS + RUN_TASKS + 1
    with deployment.phases.phase("scenario 1: 10 deferred tasks over two triggerers"):
        started = time.monotonic()
        story.run_specs = [fast.create_spec(f"scaleout-run-spec-{i}") for i in range(RUN_TASKS)]
        story.slow_specs = {
            dag: slow.create_spec(dag) for dag in ("scaleout_mark_failed", "scaleout_execution_timeout")
        }
        story.holds = [fast.hold(HOLD_SPECS), fast.hold(HOLD_RUNS)]
        story.dag_runs["scaleout_specs"] = deployment.trigger_dag("scaleout_specs")
        story.dag_runs["scaleout_runs"] = deployment.trigger_dag(
            "scaleout_runs", {"spec_ids": story.run_specs}
        )
        story.dag_runs["scaleout_mark_failed"] = deployment.trigger_dag(
            "scaleout_mark_failed", {"spec_id": story.slow_specs["scaleout_mark_failed"]}
        )
        first = FIRST_TRIGGERER

        def first_full() -> bool:
            counts = count_by_holder(moving_holders(deployment, story))
            return sum(counts.values()) == moving and counts.get(first) == FIRST_TRIGGERER_CAPACITY

        wait_for(
            f"the {moving} tasks to be DEFERRED, {first} holding {FIRST_TRIGGERER_CAPACITY} of their triggers",
            first_full,
            timeout=WAIT,
            interval=1,
            alive=deployment.check_alive,
        )
        second = SECOND_TRIGGERER
        deployment.start_triggerer(second)

        def assigned() -> dict[str, str] | None:
            holders = moving_holders(deployment, story)
            return None if None in holders.values() else holders  # type: ignore[return-value]

        story.holders_at_start = wait_for(
            f"{second} to take the other triggers",
            assigned,
            timeout=WAIT,
            interval=1,
            alive=deployment.check_alive,
        )
        story.timings["scenario 1: trigger -> deferred over 2 triggerers"] = elapsed(started)
        say(f"triggers per triggerer: {count_by_holder(story.holders_at_start)}")
        # Its execution_timeout runs from here, while the triggers below are killed and moved.
        story.dag_runs["scaleout_execution_timeout"] = deployment.trigger_dag(
            "scaleout_execution_timeout", {"spec_id": story.slow_specs["scaleout_execution_timeout"]}
        )

    with deployment.phases.phase("scenario 2: kill a triggerer"):
        story.killed = first
        started = time.monotonic()
        deployment.signal_component(first, signal.SIGKILL)
        wait_for(
            f"every trigger of the killed {first} to move to {second}",
            lambda: set(moving_holders(deployment, story).values()) == {second},
            timeout=WAIT,
            interval=1,
        )
        story.timings["scenario 2: SIGKILL -> triggers moved to the surviving triggerer"] = elapsed(started)
        # As a process manager would: a new triggerer replaces the killed one.
        deployment.start_triggerer(REPLACEMENT_TRIGGERER)

    with deployment.phases.phase("scenario 3: pause the triggerer holding a run's trigger"):
        pause_the_holder_of_a_run_trigger(deployment, story)

    with deployment.phases.phase("release the specs and runs; every task finishes"):
        released = time.monotonic()
        for rule_id in story.holds:
            fast.release(rule_id)
        for dag_id in ("scaleout_specs", "scaleout_runs"):
            wait_for(
                f"{dag_id} to finish",
                lambda dag_id=dag_id: (
                    dag_run_state(deployment, dag_id, story.dag_runs[dag_id]) in ("success", "failed")
                ),
                timeout=WAIT,
                interval=1,
                alive=deployment.check_alive,
            )
        story.timings["release -> all 10 tasks finished"] = elapsed(released)
    return story


PAUSE_ATTEMPTS = 3


def pause_the_holder_of_a_run_trigger(deployment: ScaleOutDeployment, story: Story) -> None:
    """
    SIGSTOP the triggerer running run_0's trigger until the trigger moved, SIGCONT it, and wait
    for the woken triggerer's ``on_kill`` verdict on the trigger it lost: in that trigger's log, or
    in the triggerer's own log if Airflow had already abandoned ``on_kill`` (see
    ``RunStatusTrigger.on_kill``).

    The pause must begin while the trigger runs on the paused triggerer and is assigned to it: a
    loaded host can delay a heartbeat enough for a trigger to move on its own, so the holder is
    read again once the triggerer is stopped, and the attempt is repeated (at most
    ``PAUSE_ATTEMPTS`` times) if the trigger had already left it.
    """
    dag_id, dag_run = "scaleout_runs", story.dag_runs["scaleout_runs"]
    story.paused_run_id = xcom(deployment, dag_id, dag_run, "run_0", "run_id")
    verdict = f"Not canceling Dataframer run {story.paused_run_id}: its task is still deferred"

    def holder() -> str | None:
        return phase1_holders(deployment, story).get("run_0")

    for attempt in range(1, PAUSE_ATTEMPTS + 1):
        story.pause_attempts = attempt
        paused = wait_for("run_0's trigger to be assigned to a triggerer", holder, timeout=WAIT, interval=1)
        other = next(name for name in deployment.live_triggerers() if name != paused)

        def running_there(paused: str = paused) -> bool:
            log = deployment.trigger_log(dag_id, dag_run, "run_0", paused)
            return log.count(") starting") > log.count("trigger completed")

        wait_for(f"run_0's trigger to run on {paused}", running_there, timeout=WAIT, interval=0.5)

        def verdicts(paused: str = paused) -> int:
            return (
                deployment.trigger_log(dag_id, dag_run, "run_0", paused) + deployment.component_log(paused)
            ).count(verdict)

        verdicts_before = verdicts()
        stopped_at = time.time()
        deployment.signal_component(paused, signal.SIGSTOP)
        if holder() != paused or not running_there():
            deployment.signal_component(paused, signal.SIGCONT)
            story.pauses.append((paused, stopped_at, time.time()))
            say(f"run_0's trigger left {paused} before the pause took hold; again")
            continue
        started = time.monotonic()
        wait_for(
            f"run_0's trigger to move from the paused {paused} to {other}",
            lambda other=other: holder() == other,
            timeout=WAIT,
            interval=1,
        )
        story.timings["scenario 3: SIGSTOP -> run's trigger moved to the other triggerer"] = elapsed(started)
        deployment.signal_component(paused, signal.SIGCONT)
        story.pauses.append((paused, stopped_at, time.time()))
        story.paused = paused
        resumed = time.monotonic()
        # The woken triggerer drops the trigger it lost and Airflow calls its on_kill: wait for our
        # trigger's verdict on the run (the tests below check that nothing was canceled).
        wait_for(
            f"the woken {paused} to call on_kill on run {story.paused_run_id}'s old trigger",
            lambda verdicts=verdicts, before=verdicts_before: verdicts() > before,
            timeout=WAIT,
            interval=1,
            alive=deployment.check_alive,
        )
        story.timings["scenario 3: SIGCONT -> on_kill decided not to cancel"] = elapsed(resumed)
        return
    raise AssertionError(
        f"run_0's trigger left each triggerer before it could be paused ({PAUSE_ATTEMPTS} times)"
    )


def count_by_holder(holders: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for holder in holders.values():
        counts[str(holder)] = counts.get(str(holder), 0) + 1
    return counts


def xcom(
    deployment: ScaleOutDeployment, dag_id: str, run_id: str, task_id: str, key: str = "return_value"
) -> Any:
    path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
    return wait_for(
        f"XCom {key} of {dag_id}.{task_id}",
        lambda: deployment.api("GET", path, params={"deserialize": True})["value"],
        timeout=60,
        interval=1,
    )


def dag_run_state(deployment: ScaleOutDeployment, dag_id: str, run_id: str) -> str:
    return str(deployment.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])


def cancels(deployment: ScaleOutDeployment, emulator: str, run_id: str | None = None) -> list[dict[str, Any]]:
    server = deployment.fast if emulator == "fast" else deployment.slow
    assert server is not None
    return server.requests("POST", rf"/runs/{run_id or '[^/]+'}/cancel/$")


def test_deferred_tasks_spread_over_both_triggerers(story: Story) -> None:
    counts = count_by_holder(story.holders_at_start)
    assert counts == {
        FIRST_TRIGGERER: FIRST_TRIGGERER_CAPACITY,
        SECOND_TRIGGERER: SPEC_TASKS + RUN_TASKS + 1 - FIRST_TRIGGERER_CAPACITY,
    }, counts


def test_a_paused_triggerer_does_not_cancel_the_run_it_lost(
    scaleout: ScaleOutDeployment, story: Story
) -> None:
    assert not cancels(scaleout, "fast"), "a run was canceled although no task was killed"
    ti = scaleout.task_instances("scaleout_runs", story.dag_runs["scaleout_runs"])["run_0"]
    assert (ti["state"], ti["try_number"]) == ("success", 1)
    assert scaleout.fast is not None
    assert scaleout.fast.api("GET", f"/runs/{story.paused_run_id}/")["status"] == "SUCCEEDED"
    # The slow runs lost their triggers too (if they were on the paused triggerer): not canceled either.
    mark_failed_run = xcom(
        scaleout, "scaleout_mark_failed", story.dag_runs["scaleout_mark_failed"], "run", "run_id"
    )
    assert not cancels(scaleout, "slow", mark_failed_run)


def test_every_task_succeeds_once_after_a_triggerer_is_killed(
    scaleout: ScaleOutDeployment, story: Story
) -> None:
    fast = scaleout.fast
    assert fast is not None
    specs_ti = scaleout.task_instances("scaleout_specs", story.dag_runs["scaleout_specs"])
    runs_ti = scaleout.task_instances("scaleout_runs", story.dag_runs["scaleout_runs"])
    states = {task: (ti["state"], ti["try_number"]) for task, ti in {**specs_ti, **runs_ti}.items()}
    assert states == {task: ("success", 1) for task in SPEC_TASK_IDS + RUN_TASK_IDS}
    for dag_id in ("scaleout_specs", "scaleout_runs"):
        assert dag_run_state(scaleout, dag_id, story.dag_runs[dag_id]) == "success"

    specs = {spec["name"]: spec for spec in fast.api("GET", "/specs/")}
    made_by_tasks = sorted(name for name in specs if name.startswith("scaleout-spec-"))
    assert made_by_tasks == sorted(f"scaleout-spec-{i}" for i in range(SPEC_TASKS)), (
        "each spec created exactly once"
    )
    spec_ids = {
        task: xcom(scaleout, "scaleout_specs", story.dag_runs["scaleout_specs"], task)
        for task in SPEC_TASK_IDS
    }
    assert {specs[f"scaleout-spec-{i}"]["id"] for i in range(SPEC_TASKS)} == set(spec_ids.values())
    assert all(specs[f"scaleout-spec-{i}"]["status"] == "SUCCEEDED" for i in range(SPEC_TASKS))

    runs = fast.api("GET", "/runs/")
    assert sorted(run["spec_id"] for run in runs) == sorted(story.run_specs), "exactly one run per run task"
    for index, task in enumerate(RUN_TASK_IDS):
        summary = xcom(scaleout, "scaleout_runs", story.dag_runs["scaleout_runs"], task)
        (run,) = [run for run in runs if run["spec_id"] == story.run_specs[index]]
        assert summary["run_id"] == run["id"] and summary["status"] == "SUCCEEDED" == run["status"]
        assert summary["samples_completed"] == 4
    assert not cancels(scaleout, "fast")


def test_marking_a_deferred_run_task_failed_cancels_the_run(
    scaleout: ScaleOutDeployment, story: Story
) -> None:
    dag_id, run_id = "scaleout_mark_failed", story.dag_runs["scaleout_mark_failed"]
    assert scaleout.slow is not None
    ti = scaleout.task_instances(dag_id, run_id)["run"]
    assert ti["state"] == "deferred", ti
    dataframer_run = xcom(scaleout, dag_id, run_id, "run", "run_id")
    started = time.monotonic()
    scaleout.api("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/run", json={"new_state": "failed"})
    wait_for(
        f"run {dataframer_run} to be canceled on the slow emulator",
        lambda: scaleout.slow.api("GET", f"/runs/{dataframer_run}/")["status"] == "CANCELED",  # type: ignore[union-attr]
        timeout=WAIT,
        interval=1,
        alive=scaleout.check_alive,
    )
    story.timings["scenario 4: mark failed -> run canceled"] = elapsed(started)
    assert len(cancels(scaleout, "slow", dataframer_run)) == 1
    assert scaleout.task_instances(dag_id, run_id)["run"]["state"] == "failed"
    verdict = f"Canceled Dataframer run {dataframer_run} because its task was killed (task state now failed)"
    wait_for(  # logged once the cancel request returned
        "on_kill's log line",
        lambda: verdict in scaleout.task_log_text() + scaleout.triggerer_log_text(),
        timeout=60,
        interval=1,
    )


def test_execution_timeout_fails_the_deferred_task_and_cancels_the_run(
    scaleout: ScaleOutDeployment, story: Story
) -> None:
    dag_id, run_id = "scaleout_execution_timeout", story.dag_runs["scaleout_execution_timeout"]
    assert scaleout.slow is not None
    wait_for(
        f"{dag_id} to finish",
        lambda: dag_run_state(scaleout, dag_id, run_id) in ("success", "failed"),
        timeout=WAIT,
        interval=1,
        alive=scaleout.check_alive,
    )
    ti = scaleout.task_instances(dag_id, run_id)["run"]
    assert (ti["state"], ti["try_number"]) == ("failed", 1)
    dataframer_run = xcom(scaleout, dag_id, run_id, "run", "run_id")
    assert scaleout.slow.api("GET", f"/runs/{dataframer_run}/")["status"] == "CANCELED"
    logs = scaleout.task_log_text()
    assert (
        f"Timed out: the task's execution_timeout ({EXECUTION_TIMEOUT}) passed while it was deferred, "
        f"waiting for Dataframer run {dataframer_run}"
    ) in logs
    story.timings["scenario 5: execution_timeout task duration (s)"] = round(float(ti["duration"] or 0), 1)


def test_no_trigger_of_ours_blocked_a_triggerer_event_loop(
    scaleout: ScaleOutDeployment, story: Story
) -> None:
    """
    No step of our triggers (or of the poller they share) held a triggerer's event loop over 0.2 s.

    The triggerers run with asyncio's debug mode, which names each coroutine step that held the
    loop; Airflow's watchdog lines only say that it was held. Steps of our code: those of a
    trigger task (named ``dag/run/task/map/try (ID n)``: Airflow's ``run_trigger`` running our
    ``run`` or ``on_kill``; every trigger here is ours) or of a coroutine of this provider. Blocks that span a SIGSTOP pause measure the pause; the
    others (Airflow's own code, e.g. its in-process execution API) are reported, not failed.
    """
    ours: list[str] = []
    for block in scaleout.loop_blocks():
        if any(
            block.triggerer == paused and block.overlaps(stopped, resumed)
            for paused, stopped, resumed in story.pauses
        ):
            kind = "spans the SIGSTOP pause"
        elif not block.what:
            kind = "Airflow's watchdog"
        elif "airflow_provider_dataframer" in block.what or TRIGGER_TASK.search(block.what):
            kind = "OUR CODE"
            if block.seconds > MAX_LOOP_BLOCK:
                ours.append(f"{block.triggerer}: {block.line}")
        else:
            kind = f"not ours: {block.what[:160]}"
        say(f"{block.triggerer}: event loop held {block.seconds:.2f} s ({kind})")
    say("timings: " + "; ".join(f"{what} {seconds} s" for what, seconds in story.timings.items()))
    assert not ours, "\n".join(ours)
