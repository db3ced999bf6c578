"""
What a trigger can learn, inside the triggerer, about the task instance that deferred to it.

Airflow 3.3 calls a trigger's ``on_kill`` whenever the triggerer stops running it outside a
timeout or a shutdown: when a user marked the task failed or succeeded or cleared it, but also
when the trigger was merely handed to another triggerer, e.g. after this one missed its
heartbeats (a long GC pause, an overloaded host; apache/airflow#73454). The two are told apart by
the task instance's state now, and only a state that cannot be reached by a timing accident
counts as a kill (:func:`was_ended_for_good`).

The state is asked from the triggerer's supervisor over the task SDK's channel (``GetTaskStates``,
which the supervisor answers from the metadata database through the execution API), without
blocking the event loop. Outside an Airflow 3 triggerer there is no such channel: the state is
then unknown, and :class:`TaskStateUnknownError` says why.
"""

from __future__ import annotations

import asyncio
from typing import Any

DEFERRED = "deferred"

GONE = "gone"
"""Not an Airflow state: the task instance no longer exists (its DAG run was deleted)."""

ENDED_FOR_GOOD = frozenset({"failed", "success", "skipped", "removed", GONE})
"""States after which nothing resumes the task instance's wait: a user marked it (or its DAG run)
failed, succeeded or skipped, its task left the DAG, or its DAG run was deleted. A state that only
ends a try is not one of them: a cleared task instance has no state and is then scheduled, queued,
running, deferred again; one that failed with retries left is up for retry. Which of those a read
finds depends on when the scheduler got there first, and each such next try reconnects to the job
kept in Airflow 3.3's task-state store (which a clear keeps), so it owns the job."""

STATE_READ_TIMEOUT = 120.0
"""Seconds to wait for the supervisor's answer. It answers through its in-process execution API,
which its first request builds: 4 s on an idle 2-core host, 10-42 s on a loaded one (measured)."""


class TaskStateUnknownError(Exception):
    """The task instance's state could not be read; the message says why."""


async def current_task_state(task_instance: Any) -> str | None:
    """
    The state of ``task_instance`` in the metadata database now.

    :param task_instance: the trigger's ``task_instance`` (set by the triggerer).
    :return: the state (``"deferred"``, ``"failed"``, ...), None when the task instance has no
        state (it was cleared), or :data:`GONE` when it no longer exists (its DAG run was deleted).
    :raises TaskStateUnknownError: when this is not an Airflow 3 triggerer, the trigger has no task
        instance, or the supervisor did not answer.
    """
    if task_instance is None:
        raise TaskStateUnknownError("the triggerer gave this trigger no task instance")
    try:
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult
    except ImportError:
        raise TaskStateUnknownError("this Airflow has no task SDK (Airflow 2)") from None
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    if comms is None or not hasattr(comms, "asend"):
        raise TaskStateUnknownError("not running in an Airflow 3 triggerer")
    map_index = getattr(task_instance, "map_index", None)
    try:
        request = GetTaskStates(
            dag_id=task_instance.dag_id,
            task_ids=[task_instance.task_id],
            run_ids=[task_instance.run_id],
            map_index=map_index,
        )
        response = await asyncio.wait_for(comms.asend(request), STATE_READ_TIMEOUT)
    except asyncio.TimeoutError:
        raise TaskStateUnknownError(
            f"the triggerer's supervisor did not answer within {STATE_READ_TIMEOUT:g} s"
        ) from None
    except Exception as exc:
        raise TaskStateUnknownError(f"the triggerer's supervisor did not answer: {exc!r}") from exc
    if not isinstance(response, TaskStatesResult):
        raise TaskStateUnknownError(f"unexpected answer from the supervisor: {type(response).__name__}")
    states = response.task_states.get(task_instance.run_id) or {}
    # The execution API keys a mapped task instance as "<task_id>_<map_index>".
    key = (
        task_instance.task_id
        if map_index is None or map_index < 0
        else f"{task_instance.task_id}_{map_index}"
    )
    if key not in states:
        return GONE
    state = states[key]
    return None if state is None else str(getattr(state, "value", state))


def was_ended_for_good(state: str | None) -> bool:
    """
    Whether ``state`` (from :func:`current_task_state`) shows that the task instance's wait is over.

    Deliberately not "whether it left DEFERRED": after a clear, the same user action reads as no
    state or as scheduled (or later) depending on when the scheduler got to it; neither is a kill.

    :param state: the task instance's state, None or :data:`GONE`.
    """
    return state in ENDED_FOR_GOOD
