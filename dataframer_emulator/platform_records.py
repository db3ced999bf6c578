"""Stored records of the platform endpoints: evaluations, anonymization runs and red teaming.

Like specs and runs, each asynchronous job keeps the times it was created, starts and finishes,
and its planned outcome; its status is derived from them (see :func:`job_status`), so a restarted
emulator resumes every job where it was. Results are computed when the job is created (they are
deterministic) and only shown once it has finished.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from dataframer_emulator.records import Record


class Job(Record):
    """
    What every asynchronous platform job has: a timed lifecycle and a planned outcome.

    :param created_at: UNIX time of the create.
    :param started_at: when PENDING turns into PROCESSING.
    :param finishes_at: when it ends SUCCEEDED, or FAILED when ``error`` is set.
    :param error: the failure message, ``None`` for a job that will succeed.
    :param created_by_email: the creator.
    """

    created_at: float
    started_at: float
    finishes_at: float
    error: str | None = None
    created_by_email: str


def job_status(job: Job, now: float) -> str:
    """PENDING, then PROCESSING, then SUCCEEDED or FAILED, from the job's timestamps."""
    if now < job.started_at:
        return "PENDING"
    if now < job.finishes_at:
        return "PROCESSING"
    return "FAILED" if job.error else "SUCCEEDED"


class PropertyAnalysis(BaseModel):
    """
    One property of an evaluation, percentages per value.

    :param property_name: the spec's property.
    :param requested: target share of each value (from the spec).
    :param expected: share achievable with the run's sample count.
    :param evaluated: share the evaluator found in the samples.
    :param total_samples: samples of the run.
    :param analyzed: samples the evaluator could classify for this property.
    """

    property_name: str
    requested: dict[str, float]
    expected: dict[str, float]
    evaluated: dict[str, float]
    total_samples: int
    analyzed: int


class SampleLabels(BaseModel):
    """
    The classification of one generated sample.

    :param sample: the sample's name in the run.
    :param labels: property name -> value the evaluator chose.
    """

    sample: str
    labels: dict[str, str]


class EvaluationRecord(Job):
    """An evaluation of a SUCCEEDED run."""

    collection: ClassVar[str] = "evaluations"
    run_id: str
    evaluation_model: str
    analysis: list[PropertyAnalysis] = Field(default_factory=list)
    samples: list[SampleLabels] = Field(default_factory=list)


class Entity(BaseModel):
    """One PII entity found: character offsets in the original file, label, confidence."""

    start: int
    end: int
    label: str
    score: float


class MaskedFile(BaseModel):
    """
    One anonymized file; its bytes are a blob of the store (``anonymization/{run}/{file}``).

    :param id: file id.
    :param path: the seed file's path.
    :param content_type: MIME type.
    :param size_in_bytes: size of the masked content.
    """

    id: str
    path: str
    content_type: str
    size_in_bytes: int


class AnonymizationRecord(Job):
    """An anonymization run over a seed dataset."""

    collection: ClassVar[str] = "anonymization_runs"
    dataset_id: str
    dataset_name: str
    detection_method: str
    pii_types: list[str]
    llm_model_name: str | None = None
    mask_config: dict[str, str] = Field(default_factory=dict)
    threshold: float | None = None
    files: list[MaskedFile] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    samples_processed: int = 0


class ArchiveRecord(Record):
    """The ZIP of an anonymization run being built: ``id`` is the run id."""

    collection: ClassVar[str] = "anonymization_archives"
    ready_at: float


class PlatformDownloadRecord(Record):
    """A "presigned" URL of an anonymized file or ZIP: ``id`` is the token in the URL."""

    collection: ClassVar[str] = "platform_download_tokens"
    run_id: str
    file_id: str | None = None
    expires_at: float


class RedTeamSpecRecord(Record):
    """A red-team spec: what application is attacked, in which domain, with which concerns."""

    collection: ClassVar[str] = "red_team_specs"
    name: str
    app_description: str
    domain_description: str
    concerns: str | None = None
    created_at: float
    created_by_email: str


class RedTeamRunRecord(Job):
    """A red-team run: adversarial prompts generated from a spec."""

    collection: ClassVar[str] = "red_team_runs"
    red_team_spec_id: str
    spec_name: str
    model_name: str
    number_of_behaviors: int
    number_of_prompts_per_behavior: int
    task_id: str
    results: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
