"""Deferrable wait for a Dataframer red-team run, through its light ``/status/`` endpoint."""

from __future__ import annotations

from airflow_provider_dataframer import DEFAULT_CONN_ID
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


class RedTeamRunStatusTrigger(DataframerStatusTrigger):
    """
    Wait in the triggerer until a red-team run is SUCCEEDED, FAILED or CANCELED.

    Each poll reads ``GET red-team-runs/{id}/status/``, which leaves the generated prompts out.

    :param red_team_run_id: the id of the red-team run.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls.
    :param deadline: absolute time (epoch seconds) at which the wait times out.
    """

    kind_name = "red-team run"
    id_field = "red_team_run_id"

    def __init__(
        self,
        red_team_run_id: str,
        dataframer_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__(red_team_run_id, dataframer_conn_id, poll_interval, deadline)
        self.red_team_run_id = red_team_run_id
