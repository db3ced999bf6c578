"""Deferrable wait for a Dataframer evaluation."""

from __future__ import annotations

from airflow_provider_dataframer import DEFAULT_CONN_ID
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


class EvaluationStatusTrigger(DataframerStatusTrigger):
    """
    Wait in the triggerer until an evaluation is SUCCEEDED or FAILED.

    :param evaluation_id: the id of the evaluation.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls.
    :param deadline: absolute time (epoch seconds) at which the wait times out.
    """

    kind_name = "evaluation"
    id_field = "evaluation_id"

    def __init__(
        self,
        evaluation_id: str,
        dataframer_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__(evaluation_id, dataframer_conn_id, poll_interval, deadline)
        self.evaluation_id = evaluation_id
