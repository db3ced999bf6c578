"""Configuration of the Dataframer emulator."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dataframer_emulator.faults import REQUEST_LOG_SIZE, FaultRule

MB = 1024 * 1024
#: The model the emulated server picks when a spec create names none (one of today's list).
DEFAULT_SPEC_MODEL = "anthropic/claude-sonnet-5-5-thinking"


class SeedLimits(BaseModel):
    """
    Upload limits of seed datasets, as documented by Dataframer.

    They are configurable only so that tests can exercise a limit without uploading 50 MB.

    :param single_file_max_bytes: largest SINGLE_FILE upload.
    :param single_file_min_rows: fewest data rows of a SINGLE_FILE upload.
    :param multi_file_max_bytes: largest file of a MULTI_FILE or MULTI_FOLDER upload.
    :param multi_total_max_bytes: largest total of a MULTI_FILE or MULTI_FOLDER upload.
    :param multi_min_files: fewest files of a MULTI_FILE or MULTI_FOLDER upload.
    :param multi_max_files: most files of a MULTI_FILE or MULTI_FOLDER upload.
    :param folder_max_files: most files in one folder of a MULTI_FOLDER upload.
    :param min_folders: fewest folders of a MULTI_FOLDER upload.
    """

    model_config = ConfigDict(extra="forbid")

    single_file_max_bytes: int = Field(default=50 * MB, gt=0)
    single_file_min_rows: int = Field(default=2, ge=1)
    multi_file_max_bytes: int = Field(default=1 * MB, gt=0)
    multi_total_max_bytes: int = Field(default=50 * MB, gt=0)
    multi_min_files: int = Field(default=2, ge=1)
    multi_max_files: int = Field(default=1000, ge=1)
    folder_max_files: int = Field(default=20, ge=1)
    min_folders: int = Field(default=2, ge=1)


class EmulatorConfig(BaseModel):
    """
    Everything that shapes one emulator instance.

    Lifecycles are time based: a spec is ``PROCESSING`` for ``spec_seconds`` after its creation, a
    run is ``PENDING`` for ``run_pending_seconds`` and then ``PROCESSING`` for ``run_seconds``.
    The durations are recorded on each spec and run when it is created, so a restart with other
    timings does not change the fate of what already exists.

    :param api_key: the only API key accepted; ``None`` accepts any non-empty Bearer key.
    :param spec_seconds: how long a new spec stays ``PROCESSING``.
    :param run_pending_seconds: how long a new run stays ``PENDING``.
    :param run_seconds: how long a run stays ``PROCESSING`` before it finishes.
    :param download_seconds: how long a download request answers 202 before its URL is ready.
    :param download_url_ttl_seconds: lifetime of a download URL (a presigned URL lives 1 h).
    :param cost_per_sample: dollars added to ``total_cost`` per processed sample.
    :param state_path: SQLite file keeping the state across restarts; ``None`` keeps it in memory.
    :param faults: fault rules active from the start.
    :param spec_create_returns_object: answer ``POST /specs/`` with the whole spec object, as some
        deployments do, instead of only ``{"id": ...}``.
    :param spec_success_status: status reported for a successful spec (older deployments: ``READY``).
    :param run_processing_status: status reported for a running run (the docs also say
        ``IN_PROGRESS``).
    :param created_by_email: the ``created_by_email`` of everything created.
    :param limits: upload limits of seed datasets.
    :param max_upload_bytes: largest ``multipart/form-data`` request body (a seed upload); a larger
        one is refused 413 from its ``Content-Length`` or, while streaming, as soon as it passes.
    :param max_body_bytes: largest other request body (JSON), refused the same way.
    :param request_log_size: how many requests the request log keeps (the oldest are dropped).
    :param default_spec_model: the model of a spec created without ``spec_generation_model_name``.
    """

    model_config = ConfigDict(extra="forbid")

    api_key: str | None = None
    spec_seconds: float = Field(default=3.0, ge=0)
    run_pending_seconds: float = Field(default=1.0, ge=0)
    run_seconds: float = Field(default=5.0, ge=0)
    download_seconds: float = Field(default=1.0, ge=0)
    download_url_ttl_seconds: float = Field(default=3600.0, gt=0)
    cost_per_sample: float = Field(default=0.002, ge=0)
    state_path: str | None = None
    faults: list[FaultRule] = Field(default_factory=list)
    spec_create_returns_object: bool = False
    spec_success_status: str = "SUCCEEDED"
    run_processing_status: str = "PROCESSING"
    created_by_email: str = "emulator@dataframer.invalid"
    limits: SeedLimits = Field(default_factory=SeedLimits)
    max_upload_bytes: int = Field(default=64 * MB, gt=0)
    max_body_bytes: int = Field(default=4 * MB, gt=0)
    request_log_size: int = Field(default=REQUEST_LOG_SIZE, gt=0)
    default_spec_model: str = DEFAULT_SPEC_MODEL


#: Timings for tests: every lifecycle finishes in well under a second.
FAST_TIMINGS: dict[str, float] = {
    "spec_seconds": 0.3,
    "run_pending_seconds": 0.1,
    "run_seconds": 0.4,
    "download_seconds": 0.2,
}
