"""Operators that upload seed datasets to Dataframer."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_dataframer import lineage
from airflow_provider_dataframer.arguments import check_seconds, is_template
from airflow_provider_dataframer.deadlines import DEFAULT_TRANSFER_TIMEOUT
from airflow_provider_dataframer.destinations import resolve_source
from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.models import DATASET_TYPES, SeedDataset
from airflow_provider_dataframer.name_clash import IfExists, NamedCreate, create_named
from airflow_provider_dataframer.seed_files import (
    DOCUMENTED_LIMITS,
    SeedUpload,
    check_folder_names,
    check_paths,
    plan_upload,
    same_files,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage


class SeedDatasetCreate(NamedCreate[SeedDataset]):
    """The upload of one seed dataset, made safe to repeat by its unique name."""

    def __init__(
        self,
        hook: DataframerHook,
        name: str,
        upload: SeedUpload,
        description: str | None,
        transfer_timeout: float = DEFAULT_TRANSFER_TIMEOUT,
    ) -> None:
        super().__init__("seed dataset", name)
        self.hook = hook
        self.upload = upload
        self.description = description
        self.transfer_timeout = transfer_timeout

    def send(self) -> str:
        upload = self.upload
        if upload.zip_file is not None:
            zip_file = upload.zip_file
            created = self.hook.create_seed_dataset_from_zip(
                self.name,
                (zip_file.filename, zip_file.reader()),
                description=self.description,
                transfer_timeout=self.transfer_timeout,
            )
        else:
            created = self.hook.create_seed_dataset(
                self.name,
                upload.dataset_type,
                [(file.filename, file.reader(), file.content_type) for file in upload.files],
                description=self.description,
                folder_names=upload.folder_names,
                transfer_timeout=self.transfer_timeout,
            )
        return created.id

    def find(self) -> SeedDataset | None:
        for dataset in self.hook.list_seed_datasets():
            if dataset.name == self.name:
                return self.hook.get_seed_dataset(dataset.id)  # with its files, to compare them
        return None

    def matches(self, existing: SeedDataset) -> bool:
        if existing.dataset_type and existing.dataset_type != self.upload.dataset_type:
            return False
        if self.upload.zip_file is not None or not existing.files:
            return True  # nothing finer to compare than the type
        return same_files(self.upload.files, existing.files)

    def mismatch(self, existing: SeedDataset) -> str:
        return (
            f"it holds other files ({existing.dataset_type}, {existing.file_count or len(existing.files)} "
            f"file(s)) than this upload ({self.upload.describe()})"
        )

    def delete(self, existing: SeedDataset) -> None:
        self.hook.delete_seed_dataset(existing.id)


class UploadSeedDatasetOperator(BaseOperator):
    """
    Upload seed data to Dataframer as a seed dataset; return its id.

    ``paths`` may be local paths or Airflow ``ObjectStoragePath`` URIs (``s3://``, ``gs://``,
    ``file://`` ...) naming files, a folder, or one ZIP. The dataset type is inferred from the
    layout unless given: one tabular file is SINGLE_FILE, several files (or a folder of files)
    MULTI_FILE, a folder of folders (or several folders) MULTI_FOLDER with the folders' names;
    a ZIP is uploaded as is and the server reads its layout. The documented limits (types, sizes,
    counts, rows) are checked before anything is sent, and a breach names the offending file.
    Files are streamed from their storage, never held in memory whole.

    The dataset id is the task's return value (``upload.output``, e.g. for
    ``CreateSpecOperator(dataset_id=upload.output)``) and is also pushed to XCom as ``dataset_id``.

    :param name: unique name of the dataset (templated), e.g. ``"tickets-{{ ds_nodash }}"``.
    :param paths: a path or URI, or a list of them (templated).
    :param dataset_type: SINGLE_FILE, MULTI_FILE or MULTI_FOLDER (templated); None infers it.
    :param folder_names: MULTI_FOLDER only: the folder of each file, in the order of the files
        (templated); inferred from the layout when a folder of folders is given.
    :param description: free text (templated).
    :param if_exists: what to do when a dataset of this name exists: ``"reuse"`` (default: adopt
        it when it holds the same files), ``"fail"`` or ``"replace"``. A same-named dataset holding
        other files is never touched.
    :param storage_conn_id: the Airflow connection of the object store, for URIs.
    :param check_limits: check the documented limits before uploading (default True); turn off only
        for a deployment with other limits (the server always enforces its own).
    :param transfer_timeout: seconds the upload may take in all (default 6 hours), however slowly
        it progresses; the connection's ``request_timeout`` does not apply to it.
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("name", "paths", "dataset_type", "folder_names", "description")
    ui_color = "#fce8e6"

    def __init__(
        self,
        *,
        name: str,
        paths: str | Any | Sequence[str | Any],
        dataset_type: str | None = None,
        folder_names: Sequence[str] | None = None,
        description: str | None = None,
        if_exists: str = IfExists.REUSE.value,
        storage_conn_id: str | None = None,
        check_limits: bool = True,
        transfer_timeout: float = DEFAULT_TRANSFER_TIMEOUT,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.paths = paths
        self.dataset_type = dataset_type
        self.folder_names = folder_names
        self.description = description
        self.if_exists = IfExists.parse(if_exists)
        self.storage_conn_id = storage_conn_id
        self.check_limits = check_limits
        self.transfer_timeout = check_seconds("transfer_timeout", transfer_timeout)
        self.dataframer_conn_id = dataframer_conn_id
        self.dataset_id: str | None = None
        self._check_arguments(at_construction=True)

    @cached_property
    def hook(self) -> DataframerHook:
        """The hook of ``dataframer_conn_id``."""
        return DataframerHook(self.dataframer_conn_id)

    def _check_arguments(self, at_construction: bool) -> None:
        """Refuse unusable arguments, naming the field; before rendering, templates are let through."""
        name = self.name
        if not (at_construction and is_template(name)) and (not isinstance(name, str) or not name.strip()):
            raise DataframerValidationError(
                f"name is required: give the seed dataset a unique name, e.g. 'tickets-{{{{ ds_nodash }}}}', "
                f"got {name!r}"
            )
        check_paths(self.paths, at_construction=at_construction)
        check_folder_names(self.folder_names, at_construction=at_construction)
        if not (at_construction and is_template(self.dataset_type)):
            self._check_dataset_type()
        description = self.description
        if description is not None and not isinstance(description, str):
            raise DataframerValidationError(f"description must be text, got {description!r}")

    def _check_dataset_type(self) -> str | None:
        value = self.dataset_type.strip().upper() if isinstance(self.dataset_type, str) else self.dataset_type
        if value in (None, ""):
            return None
        if value not in DATASET_TYPES:
            raise DataframerValidationError(
                f"dataset_type must be one of {', '.join(DATASET_TYPES)} (or None to infer it), got {value!r}"
            )
        return str(value)

    def _paths(self) -> list[Any]:
        return [resolve_source(value, self.storage_conn_id) for value in check_paths(self.paths)]

    def execute(self, context: Context) -> str:
        with self.hook:  # closes the client on leaving
            return self._execute(context)

    def _execute(self, context: Context) -> str:
        self._check_arguments(at_construction=False)  # rendered values are data, braces included
        upload = plan_upload(
            self._paths(),
            dataset_type=self._check_dataset_type(),
            folder_names=check_folder_names(self.folder_names),
            limits=DOCUMENTED_LIMITS if self.check_limits else None,
        )
        self.log.info("Uploading seed dataset %r: %s", self.name, upload.describe())
        target = SeedDatasetCreate(
            self.hook, self.name.strip(), upload, self.description or None, self.transfer_timeout
        )
        dataset_id, adopted = create_named(target, self.if_exists, self.hook.settings.retry, self.log)
        if not adopted:
            self.log.info("Created Dataframer seed dataset %s named %r", dataset_id, target.name)
        context["ti"].xcom_push(key="dataset_id", value=dataset_id)
        self.dataset_id = dataset_id
        return dataset_id

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """Lineage: the uploaded paths are the inputs, the seed dataset the output."""
        paths = self.paths if isinstance(self.paths, (list, tuple)) else [self.paths]
        inputs = [lineage.file_dataset(str(path)) for path in paths]
        base_url = self.hook.settings.base_url
        outputs = [lineage.dataset(base_url, "seed-datasets", self.dataset_id)] if self.dataset_id else []
        return lineage.operator_lineage(inputs, outputs)
