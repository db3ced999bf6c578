"""Download one file: a file a run generated, a file of a seed dataset, or one masked file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_dataframer import lineage
from airflow_provider_dataframer.arguments import check_seconds, is_template
from airflow_provider_dataframer.destinations import check_destination_value, open_destination
from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook, checked_id
from airflow_provider_dataframer.landing import land_download
from airflow_provider_dataframer.limits import DEFAULT_LIMITS, DownloadLimits
from airflow_provider_dataframer.links import DataframerAnonymizationLink, DataframerRunLink
from airflow_provider_dataframer.operators.run import DEFAULT_TRANSFER_TIMEOUT

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_dataframer.models import DownloadLink


def checked_file_name(value: Any, field: str = "filename") -> str:
    """``value`` when it is one plain file name (no folder, no ``..``); else a clear error."""
    name = value.strip() if isinstance(value, str) else ""
    if not name or name in (".", "..") or any(c in name for c in "/\\\x00"):
        raise DataframerValidationError(
            f"{field} must be a plain file name such as 'sample_00001.txt' (no folders), got {value!r}"
        )
    return name


def name_from_server(announced: str | None, fallback: str) -> str:
    """The last part of the file name the server announced, or ``fallback`` when it gives none usable."""
    name = PurePosixPath((announced or "").replace("\\", "/")).name.strip()
    if not name or name in (".", "..") or "\x00" in name:
        return fallback
    return name


def id_from(value: Any, field: str, keys: Sequence[str]) -> str:
    """An id given as a string or as an upstream summary holding it under one of ``keys``."""
    if isinstance(value, Mapping):
        value = next((value[key] for key in keys if value.get(key)), None)
    return checked_id(value, field)


class DataframerFileDownloadOperator(BaseOperator):
    """
    Download one file through a presigned URL into a folder: the base of the one-file downloads.

    Everything is checked before the first request: the ids (UUIDs), ``filename`` and the
    destination (a folder, or one that can be made, and writable). The file then goes through the
    same bounded path as :class:`DownloadRunFilesOperator`: fetched without the API key, never more
    than ``max_download_bytes`` (these endpoints announce no size), written without following a
    link already in the destination, and removed again when the transfer fails.

    The return value (XCom) is ``{"path", "bytes", "file_id", <owner id field>}``.

    Subclasses name the owner's id field, the summary keys it may be read from, and the request.

    :param file_id: the file (templated).
    :param destination: a folder (templated): a local path, or a URI such as ``s3://bucket/out/``.
    :param filename: the name to write the file under (templated); by default the name Dataframer
        gives (its last part), or the file id when it gives none.
    :param destination_conn_id: the Airflow connection of the object store, for URIs.
    :param transfer_timeout: seconds the transfer from the presigned URL may take in all.
    :param max_download_bytes: the most bytes downloaded (32 GiB).
    :param dataframer_conn_id: the Airflow connection id.
    """

    owner_field: ClassVar[str]
    owner_keys: ClassVar[tuple[str, ...]]
    owner_name: ClassVar[str]
    lineage_kind: ClassVar[str]
    ui_color = "#fef7e0"

    def __init__(
        self,
        *,
        file_id: str,
        destination: Any,
        filename: str | None = None,
        destination_conn_id: str | None = None,
        transfer_timeout: float = DEFAULT_TRANSFER_TIMEOUT,
        max_download_bytes: int = DEFAULT_LIMITS.max_download_bytes,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.file_id = file_id
        self.destination = destination
        self.filename = filename
        self.destination_conn_id = destination_conn_id
        self.transfer_timeout = transfer_timeout
        self.limits = DownloadLimits(max_download_bytes=max_download_bytes)
        self.dataframer_conn_id = dataframer_conn_id
        self.written: str | None = None
        check_seconds("transfer_timeout", transfer_timeout)
        check_destination_value(destination, at_construction=True)
        if not is_template(file_id):
            checked_id(file_id, "file_id")
        if filename is not None and not is_template(filename):
            checked_file_name(filename)

    def check_owner(self) -> None:
        """Check the owner's id at construction, unless it is only known at run time."""
        owner = getattr(self, self.owner_field)
        if isinstance(owner, str) and not is_template(owner):
            checked_id(owner, self.owner_field)

    @cached_property
    def hook(self) -> DataframerHook:
        """The hook of ``dataframer_conn_id``."""
        return DataframerHook(self.dataframer_conn_id)

    def request_link(self, owner_id: str, file_id: str) -> DownloadLink:
        """Ask Dataframer for the file's presigned URL."""
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        owner_id = id_from(getattr(self, self.owner_field), self.owner_field, self.owner_keys)
        file_id = checked_id(self.file_id, "file_id")
        chosen = checked_file_name(self.filename) if self.filename is not None else None
        destination = open_destination(self.destination, self.destination_conn_id)
        destination.prepare()
        context["ti"].xcom_push(key=self.owner_field, value=owner_id)
        link = self.request_link(owner_id, file_id)
        name = chosen or name_from_server(link.filename, fallback=file_id)
        self.log.info(
            "Downloading file %s of %s %s to %s as %s", file_id, self.owner_name, owner_id, destination, name
        )
        landed = land_download(
            self.hook,
            link,
            destination,
            limits=self.limits,
            transfer_timeout=self.transfer_timeout,
            keep_zip_as=name,
        )
        self.written = landed.paths[0]
        self.log.info("Wrote %s (%d bytes)", self.written, landed.total_bytes)
        return {
            "path": self.written,
            "bytes": landed.total_bytes,
            "file_id": file_id,
            self.owner_field: owner_id,
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """Lineage: the run or dataset is the input, the written file the output."""
        owner_id = id_from(getattr(self, self.owner_field), self.owner_field, self.owner_keys)
        inputs = [lineage.dataset(self.hook.settings.base_url, self.lineage_kind, owner_id)]
        outputs = [lineage.file_dataset(self.written)] if self.written else []
        return lineage.operator_lineage(inputs, outputs)


class DownloadRunFileOperator(DataframerFileDownloadOperator):
    """
    Download ONE file a run generated (``GET runs/{id}/files/{file_id}/download/``).

    Dataframer prepares the file (HTTP 202 while it does) and hands out a presigned URL; see
    :class:`DataframerFileDownloadOperator` for the checks and the bounded transfer. Use it to land
    one sample (e.g. for a review) without the whole ZIP; ``create_run.output["files"]`` lists the
    ids of a run's files.

    :param run_id: the run (templated): its id, or the summary returned by ``CreateRunOperator``.
    :param file_id: the generated file (templated).
    :param destination: a folder (templated): a local path or a URI.
    :param filename: the name to write the file under (templated); default: Dataframer's name.
    :param download_timeout: seconds to wait for Dataframer to prepare the file.
    :param poll_interval: seconds between checks while the file is prepared.
    :param destination_conn_id: the Airflow connection of the object store, for URIs.
    :param transfer_timeout: seconds the transfer may take in all.
    :param max_download_bytes: the most bytes downloaded (32 GiB).
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("run_id", "file_id", "destination", "filename")
    operator_extra_links = (DataframerRunLink(),)
    owner_field = "run_id"
    owner_name = "run"
    owner_keys = ("run_id",)
    lineage_kind = "runs"

    def __init__(
        self,
        *,
        run_id: str | Mapping[str, Any],
        download_timeout: float = 600.0,
        poll_interval: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.download_timeout = check_seconds("download_timeout", download_timeout)
        self.poll_interval = check_seconds("poll_interval", poll_interval)
        self.check_owner()

    def request_link(self, owner_id: str, file_id: str) -> DownloadLink:
        return self.hook.wait_for_download_link(
            owner_id, file_id, timeout=self.download_timeout, poll_interval=self.poll_interval
        )


class DownloadSeedFileOperator(DataframerFileDownloadOperator):
    """
    Download one file of a seed dataset (``GET seed-datasets/{id}/files/{file_id}/``).

    See :class:`DataframerFileDownloadOperator` for the checks and the bounded transfer. The ids of
    a dataset's files are in its ``files`` (``GET seed-datasets/{id}/``).

    :param dataset_id: the seed dataset (templated): its id, or a mapping with ``dataset_id``/``id``.
    :param file_id: the seed file (templated).
    :param destination: a folder (templated): a local path or a URI.
    :param filename: the name to write the file under (templated); default: the file's name.
    :param destination_conn_id: the Airflow connection of the object store, for URIs.
    :param transfer_timeout: seconds the transfer may take in all.
    :param max_download_bytes: the most bytes downloaded (32 GiB).
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("dataset_id", "file_id", "destination", "filename")
    owner_field = "dataset_id"
    owner_name = "seed dataset"
    owner_keys = ("dataset_id", "id")
    lineage_kind = "seed-datasets"

    def __init__(self, *, dataset_id: str | Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset_id = dataset_id
        self.check_owner()

    def request_link(self, owner_id: str, file_id: str) -> DownloadLink:
        return self.hook.get_seed_file_download_link(owner_id, file_id)


class DownloadAnonymizedFileOperator(DataframerFileDownloadOperator):
    """
    Download one masked file of a SUCCEEDED anonymization run
    (``GET anonymization-runs/{id}/files/{file_id}/download/``).

    See :class:`DataframerFileDownloadOperator` for the checks and the bounded transfer. The ids are
    in the ``files`` of ``AnonymizeSeedDatasetOperator``'s output.

    :param anonymization_run_id: the run (templated): its id, or the summary returned by
        ``AnonymizeSeedDatasetOperator``.
    :param file_id: the masked file (templated).
    :param destination: a folder (templated): a local path or a URI.
    :param filename: the name to write the file under (templated); default: the file's name.
    :param destination_conn_id: the Airflow connection of the object store, for URIs.
    :param transfer_timeout: seconds the transfer may take in all.
    :param max_download_bytes: the most bytes downloaded (32 GiB).
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("anonymization_run_id", "file_id", "destination", "filename")
    operator_extra_links = (DataframerAnonymizationLink(),)
    owner_field = "anonymization_run_id"
    owner_name = "anonymization run"
    owner_keys = ("anonymization_run_id",)
    lineage_kind = "anonymization-runs"

    def __init__(self, *, anonymization_run_id: str | Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.anonymization_run_id = anonymization_run_id
        self.check_owner()

    def request_link(self, owner_id: str, file_id: str) -> DownloadLink:
        return self.hook.get_anonymized_file_download_link(owner_id, file_id)
