"""Operators that generate data from a spec (runs) and fetch the generated files."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_dataframer import lineage
from airflow_provider_dataframer.arguments import DEFAULT_TIMEOUT, check_wait_arguments, is_template
from airflow_provider_dataframer.assets import download_event_extra, record_outlet_events, run_event_extra
from airflow_provider_dataframer.deadlines import DEFAULT_TRANSFER_TIMEOUT as DEFAULT_TRANSFER_TIMEOUT
from airflow_provider_dataframer.destinations import check_destination_value, open_destination
from airflow_provider_dataframer.exceptions import (
    DataframerError,
    DataframerNotFoundError,
    DataframerValidationError,
)
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.idempotency import Journal, NewJobCreate, send_once
from airflow_provider_dataframer.kinds import RUN
from airflow_provider_dataframer.landing import land_download
from airflow_provider_dataframer.limits import DEFAULT_LIMITS, DownloadLimits
from airflow_provider_dataframer.links import DataframerRunLink
from airflow_provider_dataframer.models import Run, RunCreateRequest, StatusResource
from airflow_provider_dataframer.operators.base import DataframerCreateOperator
from airflow_provider_dataframer.run_results import report_finished_run, run_id_from, run_summary
from airflow_provider_dataframer.status import Phase
from airflow_provider_dataframer.wording import describe

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_dataframer.triggers.run import RunStatusTrigger


def made_from(run: Run, request: RunCreateRequest) -> bool:
    """Whether ``run`` may have been made from ``request``, as far as its ``runtime_params`` tell."""
    if run.number_of_samples is not None and run.number_of_samples != request.number_of_samples:
        return False
    if request.spec_version is not None and run.spec_version not in (None, request.spec_version):
        return False
    params = run.runtime_params or {}
    for key, wanted in request.to_body().items():
        if key in ("spec_id", "spec_version", "number_of_samples"):
            continue
        if params.get(key) is not None and params[key] != wanted:
            return False
    return True


class CreateRunOperator(DataframerCreateOperator):
    """
    Generate synthetic data from a SUCCEEDED spec (a Dataframer run), and wait for it.

    The return value (``create_run.output``) is a JSON-safe summary: ``run_id``, ``status``,
    ``samples_completed``, ``samples_failed``, ``total_cost`` and ``files`` (``id``, ``path``,
    ``size_bytes``). The run id is also pushed to XCom under ``run_id`` as soon as it is known. A
    run that SUCCEEDED although some samples failed succeeds with a warning giving the counts.

    A run is paid for, so it is created once: a create whose answer was lost is never blindly
    repeated, on Airflow 3.3+ a retry after a worker crash reconnects to the stored run, and when
    the task is killed the run is canceled (``cancel_on_kill``): from the worker on every Airflow
    version, from the triggerer only on Airflow 3.3+ (older triggerers never tell a trigger that
    its task was killed; the task log says so when the run is deferred).

    :param spec_id: the spec to generate from (templated), e.g. ``create_spec.output``.
    :param number_of_samples: how many samples to generate, 1 to 20000 (templated).
    :param spec_version: the spec version to use (templated); None uses the latest.
    :param generation_model: ``provider/model`` that writes the samples (templated).
    :param outline_model: ``provider/model`` that writes the outlines (templated).
    :param revision_model: ``provider/model`` for revisions and filtering (templated).
    :param revision_types: revisions to apply, e.g. ``["consistency", "conformance"]`` (templated).
    :param filtering_types: quality gates, e.g. ``["structural"]`` (templated).
    :param max_revision_cycles: the most revision cycles per sample.
    :param seed_shuffling_level: ``none``, ``sample``, ``field`` or ``prompt`` (templated).
    :param max_examples_in_prompt: the most seed examples put in one prompt.
    :param unified_multifield: generate all fields together (cheaper).
    :param skip_outline: draft each sample in one call (faster, for short documents).
    :param generation_thinking_budget: thinking tokens of a ``-thinking`` generation model.
    :param outline_thinking_budget: thinking tokens of a ``-thinking`` outline model.
    :param revision_thinking_budget: thinking tokens of a ``-thinking`` revision model.
    :param tools: tools the model may use, e.g. ``["calculator"]`` (templated).
    :param cancel_on_kill: cancel the run when the task is killed (default True).
    :param dataframer_conn_id: the Airflow connection id.
    :param wait_for_completion: wait until the run is SUCCEEDED, FAILED or CANCELED.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for a terminal status before failing the task (the run is
        left running; wait on it with :class:`RunStatusSensor`).
    """

    template_fields: Sequence[str] = (
        "spec_id",
        "number_of_samples",
        "spec_version",
        "generation_model",
        "outline_model",
        "revision_model",
        "revision_types",
        "filtering_types",
        "max_revision_cycles",
        "seed_shuffling_level",
        "max_examples_in_prompt",
        "unified_multifield",
        "skip_outline",
        "generation_thinking_budget",
        "outline_thinking_budget",
        "revision_thinking_budget",
        "tools",
    )
    operator_extra_links = (DataframerRunLink(),)
    ui_color = "#e6f4ea"
    external_id_key = "dataframer_run_id"
    kind = RUN
    id_xcom_key = "run_id"
    request_model = RunCreateRequest

    def __init__(
        self,
        *,
        spec_id: str,
        number_of_samples: int | str,
        spec_version: int | str | None = None,
        generation_model: str | None = None,
        outline_model: str | None = None,
        revision_model: str | None = None,
        revision_types: list[str] | str | None = None,
        filtering_types: list[str] | str | None = None,
        max_revision_cycles: int | None = None,
        seed_shuffling_level: str | None = None,
        max_examples_in_prompt: int | None = None,
        unified_multifield: bool | None = None,
        skip_outline: bool | None = None,
        generation_thinking_budget: int | None = None,
        outline_thinking_budget: int | None = None,
        revision_thinking_budget: int | None = None,
        tools: list[str] | str | None = None,
        cancel_on_kill: bool = True,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = DEFAULT_TIMEOUT,
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
        self.spec_id = spec_id
        self.number_of_samples = number_of_samples
        self.spec_version = spec_version
        self.generation_model = generation_model
        self.outline_model = outline_model
        self.revision_model = revision_model
        self.revision_types = revision_types
        self.filtering_types = filtering_types
        self.max_revision_cycles = max_revision_cycles
        self.seed_shuffling_level = seed_shuffling_level
        self.max_examples_in_prompt = max_examples_in_prompt
        self.unified_multifield = unified_multifield
        self.skip_outline = skip_outline
        self.generation_thinking_budget = generation_thinking_budget
        self.outline_thinking_budget = outline_thinking_budget
        self.revision_thinking_budget = revision_thinking_budget
        self.tools = tools
        self.cancel_on_kill = cancel_on_kill
        self.check_arguments({name: getattr(self, name) for name in RunCreateRequest.model_fields})

    @property
    def run_id(self) -> str | None:
        """The id of the run this task started, once known."""
        return self.resource_id

    def _request(self) -> RunCreateRequest:
        """The create request from the rendered arguments, validated as a whole."""
        return RunCreateRequest.build(**{name: getattr(self, name) for name in RunCreateRequest.model_fields})

    # ResumableJobMixin: submit once, then wait (or reconnect to the stored run after a crash).

    def submit_job(self, context: Context) -> str:
        request = self._request()
        for note in request.advice():
            self.log.warning("%s", note)
        # Runs have no name: ours is the one new run of the spec made from these parameters while
        # the create was in flight (several: the task fails without paying again and names them).
        create = NewJobCreate(
            RUN.name,
            f"of spec {request.spec_id}",
            lambda: self.hook.create_run(request),
            lambda: [run for run in self.hook.list_runs() if run.spec_id == request.spec_id],
            lambda run: made_from(run, request),
            read=lambda run: self.hook.get_run(run.id),
        )
        run_id, adopted = send_once(
            create, self.hook.settings.retry, self.log, Journal.of_task(self, context)
        )
        if not adopted:
            self.log.info(
                "Started Dataframer run %s: %d samples from spec %s",
                run_id,
                request.number_of_samples,
                request.spec_id,
            )
        return run_id

    def result_without_waiting(self, context: Context, resource_id: str) -> dict[str, Any]:
        run = self.hook.get_run(resource_id)
        self.log.info("%s; not waiting for it.", describe(RUN.name, run))
        return run_summary(run)

    def make_trigger(self, resource_id: str, deadline: float) -> RunStatusTrigger:
        from airflow.triggers.base import BaseTrigger

        from airflow_provider_dataframer.triggers.run import RunStatusTrigger

        if self.cancel_on_kill and not hasattr(BaseTrigger, "on_kill"):
            self.log.warning(
                "This Airflow's triggerer does not tell triggers that their task was killed (3.3+ "
                "does): while deferred, killing this task leaves run %s running. Cancel it in "
                "Dataframer, or wait in the worker (deferrable=False) to have a kill cancel it.",
                resource_id,
            )
        return RunStatusTrigger(
            run_id=resource_id,
            dataframer_conn_id=self.dataframer_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            cancel_on_kill=self.cancel_on_kill,
        )

    def finish(self, context: Context, resource_id: str, resource: StatusResource | None) -> dict[str, Any]:
        """The summary of the finished run (its files come with the run the wait read last)."""
        run = resource if isinstance(resource, Run) else self.hook.get_run(resource_id)
        summary = report_finished_run(run, self.log)
        record_outlet_events(context, run_event_extra(summary))  # assets: the outlets' event extra
        return summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """Lineage: the spec is the input, the run (its generated data) the output."""
        base_url = self.hook.settings.base_url
        inputs = [lineage.dataset(base_url, "specs", str(self.spec_id))]
        outputs = [lineage.dataset(base_url, "runs", self.run_id)] if self.run_id else []
        return lineage.operator_lineage(inputs, outputs)

    def on_kill(self) -> None:
        """Cancel the run, unless it finished, so that a killed task leaves no paid work running."""
        if not (self.cancel_on_kill and self.run_id) or self.finished:
            return
        hook = DataframerHook(self.dataframer_conn_id)
        try:
            hook.cancel_run(self.run_id)
            self.log.info("Canceled Dataframer run %s because the task was killed.", self.run_id)
        except DataframerError as exc:
            self.log.warning("Could not cancel Dataframer run %s: %s", self.run_id, exc)
        finally:
            hook.close()


class DownloadRunFilesOperator(BaseOperator):
    """
    Download the files a run generated, to a local folder or any Airflow ``ObjectStoragePath``.

    The destination is checked first (a folder, or one that can be made, and writable), before
    anything is asked of Dataframer. Dataframer then prepares a ZIP (HTTP 202 while it does) and
    hands out a presigned URL, fetched without the API key and streamed in chunks; nothing is
    written past the size it announced. The ZIP is refused before a byte is unzipped when it
    breaks a limit (entries, unzipped size, compression ratio, paths leaving the destination,
    symbolic links), and the bytes actually unzipped are counted as well; see
    :mod:`airflow_provider_dataframer.limits` for the defaults and why they are safe for runs
    of 20,000 samples. Files are never written through a link already in the destination.

    The return value (XCom) is a dict of bounded size, whatever the number of files::

        {"folder": "s3://bucket/out",   # the destination, as given
         "count": 40001,                # files written (1 with unzip=False: the ZIP)
         "bytes": 123456789,            # bytes written
         "files": ["s3://bucket/out/samples/sample_00001.txt", ...],  # the first max_listed_files
         "truncated": True}             # whether "files" lists fewer than "count"

    :param run_id: the run (templated): its id, or the summary returned by
        :class:`CreateRunOperator`, so ``create_run.output`` can be passed as is.
    :param destination: a folder (templated): a local path, or a URI such as ``s3://bucket/out/``,
        ``gs://...`` or ``file:///data/out``. It is created when missing.
    :param unzip: extract the files into ``destination`` (default) rather than keep the ZIP there.
    :param destination_conn_id: the Airflow connection of the object store, for URIs.
    :param download_timeout: seconds to wait for Dataframer to prepare the ZIP.
    :param poll_interval: seconds between checks while the ZIP is prepared.
    :param transfer_timeout: seconds the transfer from the presigned URL may take in all.
    :param max_download_bytes: the most bytes downloaded (32 GiB), also when no size is announced.
    :param max_unzipped_bytes: the most bytes the ZIP may unzip to (32 GiB).
    :param max_compression_ratio: the largest unzipped/compressed ratio of an entry or the archive
        (100; checked above 1 MiB).
    :param max_zip_entries: the most entries in the ZIP (100,000).
    :param max_listed_files: the most paths listed in the return value (1,000).
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("run_id", "destination")
    operator_extra_links = (DataframerRunLink(),)
    ui_color = "#fef7e0"

    def __init__(
        self,
        *,
        run_id: str | Mapping[str, Any],
        destination: Any,
        unzip: bool = True,
        destination_conn_id: str | None = None,
        download_timeout: float = 600.0,
        poll_interval: float = 2.0,
        transfer_timeout: float = DEFAULT_TRANSFER_TIMEOUT,
        max_download_bytes: int = DEFAULT_LIMITS.max_download_bytes,
        max_unzipped_bytes: int = DEFAULT_LIMITS.max_unzipped_bytes,
        max_compression_ratio: float = DEFAULT_LIMITS.max_compression_ratio,
        max_zip_entries: int = DEFAULT_LIMITS.max_zip_entries,
        max_listed_files: int = DEFAULT_LIMITS.max_listed_files,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.destination = destination
        self.unzip = unzip
        self.destination_conn_id = destination_conn_id
        self.download_timeout = download_timeout
        self.poll_interval = poll_interval
        self.transfer_timeout = transfer_timeout
        self.limits = DownloadLimits(
            max_download_bytes=max_download_bytes,
            max_unzipped_bytes=max_unzipped_bytes,
            max_compression_ratio=max_compression_ratio,
            max_zip_entries=max_zip_entries,
            max_listed_files=max_listed_files,
        )
        self.dataframer_conn_id = dataframer_conn_id
        self.written: list[str] = []
        self.folder: str | None = None
        check_wait_arguments(poll_interval, download_timeout)
        _check_seconds(transfer_timeout, "transfer_timeout")
        if not isinstance(unzip, bool):
            raise DataframerValidationError(f"unzip must be True or False, got {unzip!r}")
        check_destination_value(destination, at_construction=True)
        if not is_template(run_id) and not isinstance(run_id, Mapping):
            run_id_from(run_id)

    @cached_property
    def hook(self) -> DataframerHook:
        """The hook of ``dataframer_conn_id``."""
        return DataframerHook(self.dataframer_conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        with self.hook:  # closes the client on leaving
            return self._execute(context)

    def _execute(self, context: Context) -> dict[str, Any]:
        run_id = run_id_from(self.run_id)
        destination = open_destination(self.destination, self.destination_conn_id)
        destination.prepare()
        self.folder = str(destination)
        context["ti"].xcom_push(key="run_id", value=run_id)
        self.log.info("Waiting for Dataframer to prepare the files of run %s", run_id)
        link = self.hook.wait_for_download_link(
            run_id, timeout=self.download_timeout, poll_interval=self.poll_interval
        )
        announced = f"{link.size_bytes} bytes" if link.size_bytes is not None else "size not announced"
        self.log.info("Downloading the files of run %s (%s) to %s", run_id, announced, destination)
        landed = land_download(
            self.hook,
            link,
            destination,
            limits=self.limits,
            transfer_timeout=self.transfer_timeout,
            keep_zip_as=None if self.unzip else f"dataframer-run-{run_id}.zip",
        )
        self.written = landed.paths
        self.log.info(
            "Wrote %d file(s) of run %s (%d bytes) into %s",
            len(landed.paths),
            run_id,
            landed.total_bytes,
            destination,
        )
        record_outlet_events(context, download_event_extra(self.run_id, self.written))  # assets
        return download_result(self.folder, self.written, landed.total_bytes, self.limits.max_listed_files)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """Lineage: the run is the input, the written files (or their folder, when many) the outputs."""
        run = [lineage.dataset(self.hook.settings.base_url, "runs", run_id_from(self.run_id))]
        many = len(self.written) > self.limits.max_listed_files and self.folder is not None
        paths = [self.folder] if many else self.written
        return lineage.operator_lineage(run, [lineage.file_dataset(str(path)) for path in paths])


def download_result(folder: str, paths: Sequence[str], total_bytes: int, max_listed: int) -> dict[str, Any]:
    """The bounded XCom result of :class:`DownloadRunFilesOperator` (its docstring gives the shape)."""
    return {
        "folder": folder,
        "count": len(paths),
        "bytes": total_bytes,
        "files": list(paths[:max_listed]),
        "truncated": len(paths) > max_listed,
    }


def _check_seconds(value: Any, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise DataframerValidationError(f"{field} must be a finite positive number of seconds, got {value!r}")


# ------------------------------------------------------------------------------------------
# Retention: delete runs (and their files) by id, or all but the newest of a spec.


class DeleteRunOperator(BaseOperator):
    """
    Delete Dataframer runs and their generated files: one run, or all but the newest of a spec.

    Give ``run_id`` to delete one run, or ``spec_id`` and ``keep_latest`` to keep the newest
    ``keep_latest`` runs of the spec (by creation time, whatever their status) and delete the
    older ones, e.g. in a scheduled regeneration DAG. A run that is still PENDING or PROCESSING is
    never deleted unless ``include_working=True``: given by id, the task fails saying so; in a
    retention sweep it is skipped with a log line. A run already gone (HTTP 404) counts as
    deleted, so a retried task does not fail. The return value is the list of deleted run ids.

    :param run_id: the run to delete (templated): its id, or the summary returned by
        :class:`CreateRunOperator`.
    :param spec_id: the spec whose older runs to delete (templated).
    :param keep_latest: how many of the spec's newest runs to keep (templated), at least 0.
    :param include_working: also delete runs that are still working (they are canceled by it).
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("run_id", "spec_id", "keep_latest")
    ui_color = "#fde7e9"

    def __init__(
        self,
        *,
        run_id: str | Mapping[str, Any] | None = None,
        spec_id: str | None = None,
        keep_latest: int | str | None = None,
        include_working: bool = False,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.spec_id = spec_id
        self.keep_latest = keep_latest
        self.include_working = include_working
        self.dataframer_conn_id = dataframer_conn_id
        if (run_id is None) == (spec_id is None):
            raise DataframerValidationError(
                "DeleteRunOperator needs either run_id (one run) or spec_id with keep_latest (retention)."
            )
        if spec_id is not None and keep_latest is None:
            raise DataframerValidationError(
                "keep_latest is required with spec_id: how many newest runs to keep."
            )
        if run_id is not None and keep_latest is not None:
            raise DataframerValidationError(
                "keep_latest applies to spec_id only; drop it when deleting by run_id."
            )
        if keep_latest is not None and not is_template(keep_latest):
            self._keep(keep_latest)

    @staticmethod
    def _keep(value: Any) -> int:
        try:
            keep = int(str(value).strip())
        except ValueError:
            raise DataframerValidationError(f"keep_latest must be a whole number, got {value!r}") from None
        if keep < 0:
            raise DataframerValidationError(f"keep_latest must be 0 or more, got {keep}")
        return keep

    @cached_property
    def hook(self) -> DataframerHook:
        """The hook of ``dataframer_conn_id``."""
        return DataframerHook(self.dataframer_conn_id)

    def execute(self, context: Context) -> list[str]:
        with self.hook:  # closes the client on leaving
            return self._execute(context)

    def _execute(self, context: Context) -> list[str]:
        if self.run_id is not None:
            run_id = run_id_from(self.run_id)
            try:
                run = self.hook.get_run(run_id)
            except DataframerNotFoundError:
                self.log.info("Dataframer run %s is already gone.", run_id)
                return [run_id]
            if RUN.phase(run.status) is Phase.WORKING and not self.include_working:
                raise DataframerValidationError(
                    f"Dataframer run {run_id} is still {run.status}: not deleted. Wait for it to finish, "
                    "cancel it, or pass include_working=True to delete it anyway."
                )
            return [run_id] if self._delete(run_id, run.status) else []
        keep = self._keep(self.keep_latest)
        spec_id = str(self.spec_id).strip()
        runs = self.hook.list_spec_runs(spec_id)
        self.log.info("Spec %s has %d run(s); keeping the newest %d.", spec_id, len(runs), keep)
        deleted = []
        for run in runs[keep:]:
            if RUN.phase(run.status) is Phase.WORKING and not self.include_working:
                self.log.info("Keeping run %s: it is still %s.", run.id, run.status)
                continue
            if self._delete(run.id, run.status):
                deleted.append(run.id)
        self.log.info("Deleted %d run(s) of spec %s.", len(deleted), spec_id)
        return deleted

    def _delete(self, run_id: str, status: str) -> bool:
        try:
            self.hook.delete_run(run_id)
        except DataframerNotFoundError:
            self.log.info("Dataframer run %s is already gone.", run_id)
            return True
        self.log.info("Deleted Dataframer run %s (%s) and its files.", run_id, status)
        return True
