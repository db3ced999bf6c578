"""Deferrable wait for a Dataframer generation run."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.models import RUN
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


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
        ``on_kill``); set by the operator that started the run, never by a sensor.
    """

    kind = RUN
    id_field = "run_id"

    def __init__(
        self,
        run_id: str,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
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
        """Cancel the run so that a killed task does not leave paid generation running."""
        if not self.cancel_on_kill:
            return
        hook = DataframerHook(self.dataframer_conn_id)
        try:
            await hook.acancel_run(self.run_id)
            self.log.info("Canceled Dataframer run %s because its task was killed.", self.run_id)
        finally:
            await hook.aclose()
