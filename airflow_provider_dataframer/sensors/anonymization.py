"""Wait for a Dataframer anonymization run started elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataframer.arguments import is_template
from airflow_provider_dataframer.hooks.dataframer import checked_id
from airflow_provider_dataframer.kinds import ANONYMIZATION
from airflow_provider_dataframer.links import DataframerAnonymizationLink
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.operators.anonymization import AnonymizeSeedDatasetOperator
from airflow_provider_dataframer.sensors.base import DataframerStatusSensor

if TYPE_CHECKING:
    from airflow_provider_dataframer.triggers.anonymization import AnonymizationStatusTrigger


class AnonymizationStatusSensor(DataframerStatusSensor):
    """
    Wait until an anonymization run is SUCCEEDED; fail with the server's message when it FAILED.

    The return value is the summary of :class:`AnonymizeSeedDatasetOperator` without landed files
    (``anonymization_run_id``, ``dataset_id``, ``status``, ``entity_summary``,
    ``samples_processed``, ``files``; ``masked_files`` is empty): download the masked files with
    ``DownloadAnonymizedFileOperator``, one per ``files`` entry.

    :param anonymization_run_id: the run to wait for (templated): its id, or the summary returned
        by ``AnonymizeSeedDatasetOperator`` (e.g. with ``wait_for_completion=False``).
    :param dataframer_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer instead of poking from a worker; ``poke_interval``
        is then the trigger's poll interval and ``timeout`` its deadline.
    :param start_from_trigger: start in the triggerer, so that no worker runs the task until the
        wait is over (off by default; see :class:`DataframerStatusSensor` for what changes).
    """

    template_fields: Sequence[str] = ("anonymization_run_id",)
    operator_extra_links = (DataframerAnonymizationLink(),)
    ui_color = "#fce8e6"
    kind = ANONYMIZATION
    id_field = "anonymization_run_id"
    anonymization_run_id: str | Mapping[str, Any]

    def __init__(self, *, anonymization_run_id: str | Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(watched_id=anonymization_run_id, **kwargs)
        if isinstance(anonymization_run_id, str) and not is_template(anonymization_run_id):
            checked_id(anonymization_run_id, self.id_field)

    @classmethod
    def trigger_class(cls) -> type[AnonymizationStatusTrigger]:
        from airflow_provider_dataframer.triggers.anonymization import AnonymizationStatusTrigger

        return AnonymizationStatusTrigger

    def resource_id(self) -> str:
        value: Any = self.anonymization_run_id
        if isinstance(value, Mapping):
            value = value.get("anonymization_run_id")
        return checked_id(value, self.id_field)

    def result(self, resource: StatusResource | None, resource_id: str) -> dict[str, Any]:
        run = self.hook.get_anonymization_run(resource_id)
        summary: dict[str, Any] = AnonymizeSeedDatasetOperator._summary(run, [])
        self.log.info(
            "Dataframer anonymization run %s masked %s entities in %s samples.",
            resource_id,
            sum(summary["entity_summary"].values()),
            summary["samples_processed"],
        )
        return summary
