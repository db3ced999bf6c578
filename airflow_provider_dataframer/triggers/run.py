"""Deferrable wait for a Dataframer generation run."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Coroutine
from typing import Any, Protocol

from airflow_provider_dataframer import DEFAULT_CONN_ID
from airflow_provider_dataframer.exceptions import DataframerError
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger
from airflow_provider_dataframer.triggers.task_state import (
    DEFERRED,
    TaskStateUnknownError,
    current_task_state,
    was_ended_for_good,
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

        Airflow 3.3 calls ``on_kill`` when a user marks the deferred task failed or succeeded or
        clears it, and also when the trigger was handed to another triggerer (this one missed its
        heartbeats: a long pause, an overloaded host; apache/airflow#73454, still open). So the
        task instance's state is read first (:func:`~.task_state.current_task_state`), and the run
        is canceled only for a state that shows the task is over for good
        (:data:`~.task_state.ENDED_FOR_GOOD`):

        * failed, success, skipped (marked by a user, or its DAG run was), removed, or the task
          instance is gone (its DAG run was deleted): the run is canceled (a run that already
          ended is reported, not an error).
        * still DEFERRED: the trigger moved and another triggerer waits on, or the task was cleared
          and its next try already deferred again; the run is left alone.
        * no state, scheduled, queued, running, deferred again, up for retry ...: the task was
          cleared, or resumed by the triggerer the trigger moved to; its next try reconnects to
          the run (Airflow 3.3's task-state store keeps the run id across a clear), so the run is
          left to it. Which state a clear is read as depends on how far the scheduler and the
          worker got before the supervisor answered (Airflow 3.3 cancels the trigger only once
          the scheduler moved the task instance on from no state: deferred again, queued and
          scheduled were seen); every one of them leads to the same decision.
        * the state cannot be read (not an Airflow 3 triggerer, no answer from its supervisor):
          the run is left running and a warning names it. A false cancel destroys paid work and
          fails a healthy task; a missed one is seen in the log and can be canceled by hand.

        The state read alone can take longer than Airflow waits for ``on_kill`` (the supervisor
        answers it through its in-process execution API, which it builds on first use: 4-42 s
        measured on a 2-core host), and Airflow 3.3 cancels the trigger's task again on every pass
        of its trigger loop (about once a second) while ``on_kill`` runs. The decision and the
        cancel request therefore run in a task of their own that those cancellations do not reach
        (:func:`finish_despite_cancellation`), bounded by :data:`~.task_state.STATE_READ_TIMEOUT`
        and the connection's own timeouts.

        Airflow 2 never calls ``on_kill`` on a trigger: there, killing a deferred task leaves the
        run running (the operator warns when it defers).
        """
        if not self.cancel_on_kill:
            return
        await finish_despite_cancellation(self._cancel_if_task_was_killed(), self.log)

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
                "moved to another triggerer, which waits on (apache/airflow#73454), or the task was "
                "cleared and its next try waits on the run.",
                self.run_id,
            )
            return
        if not was_ended_for_good(state):
            self.log.info(
                "Not canceling Dataframer run %s: its task is %s, so it was cleared or resumed by "
                "the triggerer this trigger moved to (apache/airflow#73454); its next try "
                "reconnects to the run.",
                self.run_id,
                state or "without a state",
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


class ErrorLog(Protocol):
    """What :func:`finish_despite_cancellation` logs to: a stdlib or an Airflow (structlog) logger."""

    def error(self, msg: Any, /, *args: Any, **kwargs: Any) -> Any: ...


_UNFINISHED: set[asyncio.Task[None]] = set()
"""Work started by :func:`finish_despite_cancellation`, referenced until it ends: the event loop
keeps only a weak reference to a task, so an unreferenced one can be collected mid-way."""


async def finish_despite_cancellation(work: Coroutine[Any, Any, None], log: ErrorLog) -> None:
    """
    Run ``work`` to its end in a task of its own, which a cancellation of the caller does not reach.

    The caller waits for the work. A cancellation of the caller is raised to it at once, never
    absorbed (``uncancel``): absorbing it defeats Airflow's own bound on ``on_kill``
    (``asyncio.wait_for(on_kill(), on_kill_timeout)``) on every Python, and since Python 3.12, whose
    ``wait_for`` runs ``on_kill`` in the trigger's own task instead of a task of its own, it also
    swallows every cancellation of the trigger's task (a triggerer shutdown's too), keeping that
    task alive until the work ends. The work goes on, on the event loop, and logs its outcome; an
    exception it raises after its caller was cancelled is logged to ``log``. ``work`` must bound
    its own duration.

    :param work: the coroutine to finish.
    :param log: where an exception of abandoned work is logged.
    """
    task = asyncio.ensure_future(work)
    _UNFINISHED.add(task)
    task.add_done_callback(_UNFINISHED.discard)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            task.add_done_callback(lambda done: _log_failure(done, log))
        raise


def _log_failure(task: asyncio.Task[None], log: ErrorLog) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("on_kill failed after Airflow stopped waiting for it", exc_info=exc)
