"""Deferrable wait for a Dataframer generation run."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Coroutine
from typing import Any

from airflow_provider_dataframer import DEFAULT_CONN_ID
from airflow_provider_dataframer.exceptions import DataframerError
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger
from airflow_provider_dataframer.triggers.task_state import (
    DEFERRED,
    TaskStateUnknownError,
    current_task_state,
)


class RunStatusTrigger(DataframerStatusTrigger):
    """
    Wait in the triggerer until a run is SUCCEEDED, FAILED or CANCELED.

    PENDING, PROCESSING and IN_PROGRESS mean the run is working; progress (samples done, failed,
    cost) is logged as it changes. Transient errors are retried until the deadline; a run that
    disappears (404) ends the wait with an error event.

    :param run_id: the id of the run.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls.
    :param deadline: absolute time (epoch seconds) at which the wait times out.
    :param cancel_on_kill: cancel the run when a user kills the deferred task (Airflow 3.3+ calls
        ``on_kill``); set by the operator that started the run, never by a sensor. See
        :meth:`on_kill` for how a kill is told apart from a trigger moved to another triggerer.
    """

    kind_name = "run"
    id_field = "run_id"

    def __init__(
        self,
        run_id: str,
        dataframer_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__(run_id, dataframer_conn_id, poll_interval, deadline)
        self.run_id = run_id
        self.cancel_on_kill = cancel_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        classpath, kwargs = super().serialize()
        return classpath, {**kwargs, "cancel_on_kill": self.cancel_on_kill}

    async def on_kill(self) -> None:
        """
        Cancel the run when its task was really killed, not when this trigger only moved.

        Airflow 3.3 calls ``on_kill`` both when a user marks the deferred task failed or succeeded
        or clears it, and when the trigger was handed to another triggerer (this one missed its
        heartbeats: a long pause, an overloaded host; apache/airflow#73454, still open). So the
        task instance's state is read first (:func:`~.task_state.current_task_state`):

        * still DEFERRED: the trigger moved and another triggerer waits on; the run is left alone.
        * scheduled, queued, running (:data:`TASK_OWNS_THE_RUN`): the task is alive again, resumed
          by an event from the triggerer the trigger moved to; the run is left to it.
        * any other state (failed, success, up_for_retry ...), or no state (cleared), or the task
          instance is gone: the task was killed or marked; the run is canceled (a run that
          already ended is reported, not an error).
        * the state cannot be read (not an Airflow 3 triggerer, no answer from its supervisor):
          the run is left running and a warning names it. A false cancel destroys paid work and
          fails a healthy task; a missed one is seen in the log and can be canceled by hand.

        Airflow 3.3 also cancels the trigger's task again on every pass of its trigger loop
        (about once a second) while ``on_kill`` runs, and then abandons it; the state read alone
        can take longer (the supervisor answers it through its in-process execution API, which it
        builds on first use: 4-42 s measured on a 2-core host). The decision and the cancel
        request therefore run to their end regardless (:func:`finish_despite_cancellation`),
        bounded by :data:`~.task_state.STATE_READ_TIMEOUT` and the connection's own timeouts.

        Airflow 2 never calls ``on_kill`` on a trigger: there, killing a deferred task leaves the
        run running (the operator warns when it defers).
        """
        if not self.cancel_on_kill:
            return
        await finish_despite_cancellation(self._cancel_if_task_was_killed())

    async def _cancel_if_task_was_killed(self) -> None:
        try:
            state = await current_task_state(self.task_instance)
        except Exception as exc:  # TaskStateUnknownError, or anything unforeseen: never cancel blind
            self.log.warning(
                "Not canceling Dataframer run %s: could not tell whether its task was killed or this "
                "trigger only moved to another triggerer (%s). If the task was killed, cancel the run "
                "in Dataframer.",
                self.run_id,
                exc if isinstance(exc, TaskStateUnknownError) else "".join(traceback.format_exception(exc)),
            )
            return
        if state == DEFERRED:
            self.log.info(
                "Not canceling Dataframer run %s: its task is still deferred, so this trigger was "
                "moved to another triggerer, which waits on (apache/airflow#73454).",
                self.run_id,
            )
            return
        if state in TASK_OWNS_THE_RUN:
            self.log.info(
                "Not canceling Dataframer run %s: its task is %s, resumed by an event of the "
                "triggerer this trigger moved to (apache/airflow#73454); the task handles the run.",
                self.run_id,
                state,
            )
            return
        from airflow_provider_dataframer.hooks.dataframer import DataframerHook

        hook = DataframerHook(self.dataframer_conn_id)  # its client is built off the event loop
        try:
            await hook.acancel_run(self.run_id)
            self.log.info(
                "Canceled Dataframer run %s because its task was killed (task state now %s).",
                self.run_id,
                state,
            )
        except DataframerError as exc:
            self.log.warning("Could not cancel Dataframer run %s: %s", self.run_id, exc)
        finally:
            await hook.aclose()


TASK_OWNS_THE_RUN = frozenset({"scheduled", "queued", "running", "up_for_reschedule"})
"""States in which the task is alive again (its trigger fired on the triggerer it moved to, or a
new try reattaches to the run): an old trigger's ``on_kill`` must not cancel the run under it."""

_UNFINISHED: set[asyncio.Task[None]] = set()
"""Work started by :func:`finish_despite_cancellation`, referenced until it ends."""


async def finish_despite_cancellation(work: Coroutine[Any, Any, None]) -> None:
    """
    Run ``work`` to its end even if the awaiting task is cancelled, any number of times, meanwhile.

    The work runs as a task of its own: a cancellation of the caller is absorbed (``uncancel``) and
    the caller waits on; if the caller is abandoned regardless (Airflow 3.3 gives up on ``on_kill``
    at its second cancellation), the work still finishes on the event loop and logs its outcome.
    ``work`` must bound its own duration.
    """
    task = asyncio.ensure_future(work)
    _UNFINISHED.add(task)
    task.add_done_callback(_UNFINISHED.discard)
    while True:
        try:
            await asyncio.shield(task)
            return
        except asyncio.CancelledError:
            if task.done():  # the work itself was cancelled (the loop shuts down), or just ended
                task.result()
                return
            current = asyncio.current_task()
            uncancel = getattr(current, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
