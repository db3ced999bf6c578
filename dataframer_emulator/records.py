"""The emulator's stored records: what is kept, not what is shown (see ``views``)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

DatasetType = Literal["SINGLE_FILE", "MULTI_FILE", "MULTI_FOLDER"]
DATASET_TYPES: tuple[str, ...] = ("SINGLE_FILE", "MULTI_FILE", "MULTI_FOLDER")


class Record(BaseModel):
    """Base of everything kept in a store, keyed by ``id`` within its ``collection``."""

    model_config = ConfigDict(extra="ignore")

    collection: ClassVar[str] = ""
    id: str


class SeedFile(BaseModel):
    """
    One file of a seed dataset; its bytes are a blob of the store.

    :param id: file id.
    :param path: ``folder/name`` for MULTI_FOLDER datasets, else the file name.
    :param folder: folder name for MULTI_FOLDER datasets.
    :param file_type: MIME type.
    :param size_bytes: size.
    :param sha256: hex digest of the content.
    """

    id: str
    path: str
    folder: str | None = None
    file_type: str
    size_bytes: int
    sha256: str


class DatasetRecord(Record):
    """A seed dataset."""

    collection: ClassVar[str] = "datasets"
    name: str
    dataset_type: DatasetType
    description: str | None = None
    files: list[SeedFile]
    folder_count: int = 0
    sample_count: int | None = None
    created_at: float
    created_by_email: str


class SpecVersion(BaseModel):
    """
    One version of a spec's YAML.

    :param version: number, from 1.
    :param content_yaml: the YAML.
    :param created_at: UNIX time the version appeared.
    """

    version: int
    content_yaml: str
    created_at: float


class SpecRecord(Record):
    """A spec. Its status follows from ``created_at`` and ``ready_at`` (see ``lifecycle``)."""

    collection: ClassVar[str] = "specs"
    name: str
    dataset_id: str | None = None
    dataset_name: str | None = None
    dataset_type: DatasetType = "MULTI_FILE"
    description: str | None = None
    generation_objectives: str | None = None
    runtime_params: dict[str, Any] = Field(default_factory=dict)
    created_at: float
    ready_at: float
    error: str | None = None
    versions: list[SpecVersion] = Field(default_factory=list)
    created_by_email: str


class RunRecord(Record):
    """A run. Its status and counters follow from its timestamps (see ``lifecycle``)."""

    collection: ClassVar[str] = "runs"
    spec_id: str
    spec_name: str
    spec_version: int
    dataset_id: str | None = None
    dataset_name: str | None = None
    dataset_type: DatasetType = "MULTI_FILE"
    number_of_samples: int
    runtime_params: dict[str, Any] = Field(default_factory=dict)
    created_at: float
    started_at: float
    finishes_at: float
    canceled_at: float | None = None
    outcome: Literal["SUCCEEDED", "FAILED"] = "SUCCEEDED"
    planned_failed: int = 0
    cost_per_sample: float
    created_by_email: str


class PreparationRecord(Record):
    """A download being prepared: ``id`` is ``{run_id}:{file_id or '*'}``."""

    collection: ClassVar[str] = "preparations"
    run_id: str
    file_id: str | None = None
    requested_at: float
    ready_at: float


class DownloadTokenRecord(Record):
    """A "presigned" download URL: ``id`` is the token in the URL; a run's file or ZIP, or a seed file."""

    collection: ClassVar[str] = "download_tokens"
    run_id: str | None = None
    dataset_id: str | None = None
    file_id: str | None = None
    expires_at: float
