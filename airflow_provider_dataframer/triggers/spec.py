"""Deferrable wait for a Dataframer spec."""

from __future__ import annotations

from airflow_provider_dataframer import DEFAULT_CONN_ID
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


class SpecStatusTrigger(DataframerStatusTrigger):
    """
    Wait in the triggerer until a spec is SUCCEEDED (or READY) or FAILED.

    Transient errors (dropped connections, 5xx, 429) are retried until the deadline; a spec that
    disappears (404) ends the wait with an error event.

    :param spec_id: the id of the spec.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls.
    :param deadline: absolute time (epoch seconds) at which the wait times out.
    """

    kind_name = "spec"
    id_field = "spec_id"

    def __init__(
        self,
        spec_id: str,
        dataframer_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__(spec_id, dataframer_conn_id, poll_interval, deadline)
        self.spec_id = spec_id
