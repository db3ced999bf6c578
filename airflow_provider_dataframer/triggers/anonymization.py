"""Deferrable wait for a Dataframer anonymization run."""

from __future__ import annotations

from airflow_provider_dataframer import DEFAULT_CONN_ID
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


class AnonymizationStatusTrigger(DataframerStatusTrigger):
    """
    Wait in the triggerer until an anonymization run is SUCCEEDED or FAILED.

    :param anonymization_run_id: the id of the anonymization run.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls.
    :param deadline: absolute time (epoch seconds) at which the wait times out.
    """

    kind_name = "anonymization run"
    id_field = "anonymization_run_id"

    def __init__(
        self,
        anonymization_run_id: str,
        dataframer_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__(anonymization_run_id, dataframer_conn_id, poll_interval, deadline)
        self.anonymization_run_id = anonymization_run_id
