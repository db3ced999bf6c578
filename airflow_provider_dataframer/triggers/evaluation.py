"""Deferrable wait for a Dataframer evaluation."""

from __future__ import annotations

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import EVALUATION
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


class EvaluationStatusTrigger(DataframerStatusTrigger):
    """
    Wait in the triggerer until an evaluation is SUCCEEDED or FAILED.

    :param evaluation_id: the id of the evaluation.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls.
    :param deadline: absolute time (epoch seconds) at which the wait times out.
    """

    kind = EVALUATION
    id_field = "evaluation_id"

    def __init__(
        self,
        evaluation_id: str,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__(evaluation_id, dataframer_conn_id, poll_interval, deadline)
        self.evaluation_id = evaluation_id
