"""Wait for a Dataframer red-team run started elsewhere, through its light ``/status/`` endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataframer.arguments import is_template
from airflow_provider_dataframer.hooks.dataframer import checked_id
from airflow_provider_dataframer.kinds import RED_TEAM_RUN
from airflow_provider_dataframer.links import DataframerRedTeamRunLink
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.operators.red_team import red_team_summary
from airflow_provider_dataframer.sensors.base import DataframerStatusSensor

if TYPE_CHECKING:
    from airflow_provider_dataframer.triggers.red_team import RedTeamRunStatusTrigger


class RedTeamRunStatusSensor(DataframerStatusSensor):
    """
    Wait until a red-team run is SUCCEEDED; fail with the server's message when it FAILED or was
    CANCELED.

    Each poke reads ``GET red-team-runs/{id}/status/`` (it leaves the prompts out); the prompts
    are read once, at the end. The return value is the same summary as
    :class:`CreateRedTeamRunOperator`'s (``red_team_run_id``, ``red_team_spec_id``, ``status``,
    ``behaviors``, ``prompts``).

    :param red_team_run_id: the run to wait for (templated): its id, or the summary returned by
        ``CreateRedTeamRunOperator`` (e.g. with ``wait_for_completion=False``).
    :param dataframer_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer instead of poking from a worker; ``poke_interval``
        is then the trigger's poll interval and ``timeout`` its deadline.
    :param start_from_trigger: start in the triggerer, so that no worker runs the task until the
        wait is over (off by default; see :class:`DataframerStatusSensor` for what changes).
    """

    template_fields: Sequence[str] = ("red_team_run_id",)
    operator_extra_links = (DataframerRedTeamRunLink(),)
    ui_color = "#fce8e6"
    kind = RED_TEAM_RUN
    id_field = "red_team_run_id"
    red_team_run_id: str | Mapping[str, Any]

    def __init__(self, *, red_team_run_id: str | Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(watched_id=red_team_run_id, **kwargs)
        if isinstance(red_team_run_id, str) and not is_template(red_team_run_id):
            checked_id(red_team_run_id, self.id_field)

    @classmethod
    def trigger_class(cls) -> type[RedTeamRunStatusTrigger]:
        from airflow_provider_dataframer.triggers.red_team import RedTeamRunStatusTrigger

        return RedTeamRunStatusTrigger

    def resource_id(self) -> str:
        value: Any = self.red_team_run_id
        if isinstance(value, Mapping):
            value = value.get("red_team_run_id")
        return checked_id(value, self.id_field)

    def result(self, resource: StatusResource | None, resource_id: str) -> dict[str, Any]:
        summary: dict[str, Any] = red_team_summary(self.hook.get_red_team_run(resource_id))
        self.log.info(
            "Dataframer red-team run %s: %d behaviors, %d adversarial prompts.",
            resource_id,
            summary["behaviors"],
            len(summary["prompts"]),
        )
        return summary
