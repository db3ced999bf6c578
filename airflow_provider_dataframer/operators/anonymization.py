"""Mask the PII of a seed dataset (a Dataframer anonymization run) and land the masked files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import conf

from airflow_provider_dataframer.arguments import DEFAULT_JOB_TIMEOUT, check_wait_arguments
from airflow_provider_dataframer.destinations import open_destination
from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.idempotency import Journal, NewJobCreate, send_once
from airflow_provider_dataframer.kinds import ANONYMIZATION
from airflow_provider_dataframer.landing import land_download
from airflow_provider_dataframer.limits import DEFAULT_LIMITS
from airflow_provider_dataframer.links import DataframerAnonymizationLink
from airflow_provider_dataframer.models import AnonymizationCreateRequest, AnonymizationRun, StatusResource
from airflow_provider_dataframer.operators.base import DataframerCreateOperator
from airflow_provider_dataframer.operators.run import DEFAULT_TRANSFER_TIMEOUT
from airflow_provider_dataframer.wording import describe

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dataframer.triggers.anonymization import AnonymizationStatusTrigger

MASKED_FILES_KEY = "masked_files"


def dataset_id_of(value: Any) -> Any:
    """A seed dataset id given as is or as a mapping with ``id``/``dataset_id``."""
    if isinstance(value, Mapping):
        return value.get("dataset_id") or value.get("id")
    return value


def _same_anonymization_request(run: AnonymizationRun, request: AnonymizationCreateRequest) -> bool:
    """Whether a listed anonymization run may have been made from ``request`` (unknown fields match)."""
    if run.detection_method not in (None, request.detection_method):
        return False
    return run.pii_types is None or sorted(run.pii_types) == sorted(request.pii_types)


class AnonymizeSeedDatasetOperator(DataframerCreateOperator):
    """
    Mask the PII of a seed dataset with a Dataframer anonymization run, and land the masked files.

    The run detects the ``pii_types`` in every file of the dataset and replaces each entity by its
    ``mask_config`` value (the server redacts by default). When ``destination`` is set, the masked
    files are downloaded as Dataframer's ZIP (``generating`` until it is built, then a presigned URL
    fetched without the API key, with the same size check and path safety as
    ``DownloadRunFilesOperator``) and extracted there; their paths are pushed to XCom under
    ``masked_files``, so ``UploadSeedDatasetOperator(paths=anonymize.output["masked_files"])``
    turns them into the seed of a spec.

    The return value is a JSON-safe summary: ``anonymization_run_id``, ``dataset_id``, ``status``,
    ``entity_summary`` (entities found per type), ``samples_processed``, ``files`` (``id``,
    ``path``, ``size_in_bytes``) and ``masked_files`` (written paths, empty without
    ``destination``). An anonymization run is created once (a lost answer is resolved by listing
    the dataset's runs).

    :param dataset_id: the seed dataset to mask (templated), e.g. ``upload.output``.
    :param pii_types: lowercase entity types to find, e.g. ``["email", "phone_number",
        "first_name", "last_name", "ssn"]`` (templated; a comma-separated string works too).
    :param detection_method: ``pii_m1`` (default, recommended), ``llm`` or ``all`` (templated).
    :param llm_model_name: ``provider/model`` for ``llm``/``all`` detection (templated).
    :param mask_config: per type masking, e.g. ``{"email": "<EMAIL>"}`` (templated).
    :param threshold: detection confidence from 0.0 to 1.0; lower finds more.
    :param destination: a folder (templated; local path or ``ObjectStoragePath`` URI) to land the
        masked files in; None leaves them on Dataframer.
    :param destination_conn_id: the Airflow connection of the object store, for URIs.
    :param download_timeout: seconds to wait for Dataframer to build the ZIP.
    :param dataframer_conn_id: the Airflow connection id.
    :param wait_for_completion: wait for the run (landing the files needs it).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the run before failing the task.
    """

    template_fields: Sequence[str] = (
        "dataset_id",
        "pii_types",
        "detection_method",
        "llm_model_name",
        "mask_config",
        "destination",
    )
    operator_extra_links = (DataframerAnonymizationLink(),)
    ui_color = "#fce8e6"
    external_id_key = "dataframer_anonymization_run_id"
    kind = ANONYMIZATION
    id_xcom_key = "anonymization_run_id"
    request_model = AnonymizationCreateRequest

    def __init__(
        self,
        *,
        dataset_id: str | Mapping[str, Any],
        pii_types: Sequence[str] | str,
        detection_method: str = "pii_m1",
        llm_model_name: str | None = None,
        mask_config: Mapping[str, str] | None = None,
        threshold: float | None = None,
        destination: Any = None,
        destination_conn_id: str | None = None,
        download_timeout: float = 600.0,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = DEFAULT_JOB_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            dataframer_conn_id=dataframer_conn_id,
            wait_for_completion=wait_for_completion,
            deferrable=deferrable,
            poll_interval=poll_interval,
            timeout=timeout,
            **kwargs,
        )
        self.dataset_id = dataset_id
        self.pii_types = pii_types
        self.detection_method = detection_method
        self.llm_model_name = llm_model_name
        self.mask_config = mask_config
        self.threshold = threshold
        self.destination = destination
        self.destination_conn_id = destination_conn_id
        self.download_timeout = download_timeout
        check_wait_arguments(min(poll_interval, 2.0), download_timeout)
        if destination is not None and not wait_for_completion:
            raise DataframerValidationError(
                "destination needs the masked files: set wait_for_completion=True or drop destination."
            )
        self.check_arguments(self._fields())

    def _fields(self) -> dict[str, Any]:
        fields = {
            "dataset_id": dataset_id_of(self.dataset_id),
            "pii_types": list(self.pii_types) if isinstance(self.pii_types, tuple) else self.pii_types,
            "detection_method": self.detection_method,
            "llm_model_name": self.llm_model_name,
            "mask_config": dict(self.mask_config)
            if isinstance(self.mask_config, Mapping)
            else self.mask_config,
            "threshold": self.threshold,
        }
        return fields

    def _request(self) -> AnonymizationCreateRequest:
        request: AnonymizationCreateRequest = AnonymizationCreateRequest.build(**self._fields())
        return request

    def submit_job(self, context: Context) -> str:
        request = self._request()
        create = NewJobCreate(
            ANONYMIZATION.name,
            f"of seed dataset {request.dataset_id}",
            lambda: self.hook.create_anonymization_run(request),
            lambda: [r for r in self.hook.list_anonymization_runs() if r.dataset_id == request.dataset_id],
            lambda run: _same_anonymization_request(run, request),
        )
        run_id, adopted = send_once(
            create, self.hook.settings.retry, self.log, Journal.of_task(self, context)
        )
        if not adopted:
            self.log.info(
                "Started Dataframer anonymization run %s of seed dataset %s (%s: %s)",
                run_id,
                request.dataset_id,
                request.detection_method,
                ", ".join(request.pii_types),
            )
        return run_id

    def result_without_waiting(self, context: Context, resource_id: str) -> dict[str, Any]:
        run = self.hook.get_anonymization_run(resource_id)
        self.log.info("%s; not waiting for it.", describe(ANONYMIZATION.name, run))
        return self._summary(run, [])

    def make_trigger(self, resource_id: str, deadline: float) -> AnonymizationStatusTrigger:
        from airflow_provider_dataframer.triggers.anonymization import AnonymizationStatusTrigger

        return AnonymizationStatusTrigger(
            anonymization_run_id=resource_id,
            dataframer_conn_id=self.dataframer_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
        )

    @staticmethod
    def _summary(run: AnonymizationRun, written: list[str]) -> dict[str, Any]:
        results = run.results
        return {
            "anonymization_run_id": run.id,
            "dataset_id": run.dataset_id,
            "status": run.status,
            "entity_summary": dict(results.entity_summary or {}) if results else {},
            "samples_processed": results.samples_processed if results else None,
            "files": [
                {"id": f.id, "path": f.path, "size_in_bytes": f.size_in_bytes} for f in run.anonymized_files
            ],
            MASKED_FILES_KEY: written,
        }

    def finish(self, context: Context, resource_id: str, resource: StatusResource | None) -> dict[str, Any]:
        """The summary of the finished run (read whole), landing the masked files when asked."""
        run = self.hook.get_anonymization_run(resource_id)
        summary = self._summary(run, [])
        self.log.info(
            "Dataframer anonymization run %s masked %s entities in %s samples: %s",
            run.id,
            sum(summary["entity_summary"].values()),
            summary["samples_processed"],
            summary["entity_summary"] or "no PII found",
        )
        if self.destination is not None:
            summary[MASKED_FILES_KEY] = self._land(run.id)
        context["ti"].xcom_push(key=MASKED_FILES_KEY, value=summary[MASKED_FILES_KEY])
        return summary

    def _land(self, run_id: str) -> list[str]:
        if not str(self.destination).strip():
            raise DataframerValidationError(
                f"destination must be a folder path or URI, got {self.destination!r}"
            )
        destination = open_destination(self.destination, self.destination_conn_id)
        destination.prepare()
        link = self.hook.wait_for_anonymized_download_link(
            run_id, timeout=self.download_timeout, poll_interval=min(self.poll_interval, 2.0)
        )
        landed = land_download(
            self.hook, link, destination, limits=DEFAULT_LIMITS, transfer_timeout=DEFAULT_TRANSFER_TIMEOUT
        )
        self.log.info(
            "Extracted %d masked file(s) of anonymization run %s into %s",
            len(landed.paths),
            run_id,
            destination,
        )
        return landed.paths
