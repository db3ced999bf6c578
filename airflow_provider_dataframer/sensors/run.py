"""Wait for a Dataframer generation run started elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataframer.kinds import RUN
from airflow_provider_dataframer.links import DataframerRunLink
from airflow_provider_dataframer.models import Run, StatusResource
from airflow_provider_dataframer.run_results import report_finished_run, run_id_from
from airflow_provider_dataframer.sensors.base import DataframerStatusSensor

if TYPE_CHECKING:
    from airflow_provider_dataframer.triggers.run import RunStatusTrigger


class RunStatusSensor(DataframerStatusSensor):
    """
    Wait until a run is SUCCEEDED; fail with the server's message when it FAILED or was CANCELED.

    The return value is the same summary as :class:`CreateRunOperator`'s (``run_id``, ``status``,
    samples, cost, files); a run that succeeded with some failed samples logs a warning with the
    counts. The sensor never cancels the run it watches.

    :param run_id: the run to wait for (templated): its id, or the summary returned by
        :class:`CreateRunOperator` (e.g. ``create_run.output`` with ``wait_for_completion=False``).
    :param dataframer_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer instead of poking from a worker; ``poke_interval``
        is then the trigger's poll interval and ``timeout`` its deadline.
    :param start_from_trigger: start in the triggerer, so that no worker runs the task until the
        wait is over (off by default; see :class:`DataframerStatusSensor` for what changes).
    """

    template_fields: Sequence[str] = ("run_id",)
    operator_extra_links = (DataframerRunLink(),)
    ui_color = "#e6f4ea"
    kind = RUN
    id_field = "run_id"
    run_id: str | Mapping[str, Any]

    def __init__(self, *, run_id: str | Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(watched_id=run_id, **kwargs)

    @classmethod
    def trigger_class(cls) -> type[RunStatusTrigger]:
        from airflow_provider_dataframer.triggers.run import RunStatusTrigger

        return RunStatusTrigger

    def resource_id(self) -> str:
        if isinstance(self.run_id, Mapping):
            return run_id_from(self.run_id)
        return super().resource_id()

    def result(self, resource: StatusResource | None, resource_id: str) -> dict[str, Any]:
        run = resource if isinstance(resource, Run) else self.hook.get_run(resource_id)
        return report_finished_run(run, self.log)
