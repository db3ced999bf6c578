"""Typed requests and responses of the Dataframer API (the wire models).

Response models ignore unknown fields, and statuses stay plain strings: the service may add a
status before the provider knows it, and a waiter must keep waiting rather than crash on it. What
a status means is in :mod:`~airflow_provider_dataframer.status`, where each kind of object lives
on the API in :mod:`~airflow_provider_dataframer.kinds`.
"""

import re
import uuid
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.scrubbing import register_secret, scrub

DEFAULT_BASE_URL = "https://df-api.dataframer.ai"

SDK_SPEC_GENERATION_MODELS: tuple[str, ...] = (
    "anthropic/claude-fable-5-1-thinking",
    "anthropic/claude-opus-5-5-thinking",
    "anthropic/claude-sonnet-5-5-thinking",
    "gemini/gemini-3.1-pro-preview-thinking",
    "openai/gpt-6-astra-thinking",
    "openai/gpt-6.1-sol-thinking",
    "openai/gpt-5.6-terra-thinking",
    "databricks/system.ai.claude-sonnet-5-thinking",
    "databricks/system.ai.claude-opus-5-thinking",
    "databricks/system.ai.gpt-6-astra-thinking",
    "databricks/system.ai.gpt-6-1-sol-thinking",
    "databricks/system.ai.gpt-5-6-terra-thinking",
)
"""The spec-generation models of the official SDK this provider is checked against (pydataframer
0.19.2, ``types/dataframer/spec_create_params.py``); a conformance test keeps this list equal to it."""

SDK_RUN_MODELS: tuple[str, ...] = (
    "anthropic/claude-fable-5-1-thinking",
    "anthropic/claude-opus-5-5-thinking",
    "anthropic/claude-sonnet-5-5-thinking",
    "anthropic/claude-haiku-4-5",
    "anthropic/claude-haiku-4-5-thinking",
    "gemini/gemini-3.1-pro-preview",
    "gemini/gemini-3.1-pro-preview-thinking",
    "openai/gpt-oss-120b",
    "deepseek-ai/DeepSeek-V4-Pro-0813",
    "moonshotai/Kimi-K3",
    "moonshotai/Kimi-K2.6",
    "openai/gpt-6-astra",
    "openai/gpt-6-astra-thinking",
    "openai/gpt-6.1-sol",
    "openai/gpt-6.1-sol-thinking",
    "openai/gpt-5.6-terra",
    "openai/gpt-5.6-terra-thinking",
    "openai/gpt-6-luna",
    "openai/gpt-6-luna-thinking",
    "databricks/system.ai.claude-haiku-4-5",
    "databricks/system.ai.claude-haiku-4-5-thinking",
    "databricks/system.ai.claude-sonnet-5",
    "databricks/system.ai.claude-sonnet-5-thinking",
    "databricks/system.ai.claude-opus-5",
    "databricks/system.ai.claude-opus-5-thinking",
    "databricks/system.ai.gpt-6-astra",
    "databricks/system.ai.gpt-6-astra-thinking",
    "databricks/system.ai.gpt-6-1-sol",
    "databricks/system.ai.gpt-6-1-sol-thinking",
    "databricks/system.ai.gpt-5-6-terra",
    "databricks/system.ai.gpt-5-6-terra-thinking",
    "databricks/system.ai.gpt-5-6-luna",
    "databricks/system.ai.gpt-5-6-luna-thinking",
    "databricks/system.ai.deepseek-v4-pro-0813",
)
"""The generation, outline and revision models of the same SDK (``run_create_params.py``)."""

EARLIER_MODELS: tuple[str, ...] = (
    "anthropic/claude-opus-4-6",
    "anthropic/claude-opus-4-6-thinking",
    "anthropic/claude-sonnet-4-6",
    "anthropic/claude-sonnet-4-6-thinking",
    "anthropic/claude-haiku-4-5",
    "anthropic/claude-haiku-4-5-thinking",
    "deepseek-ai/DeepSeek-V3.1",
    "moonshotai/Kimi-K2-Instruct",
    "openai/gpt-oss-120b",
    "deepseek-ai/DeepSeek-R1-0528-tput",
    "Qwen/Qwen2.5-72B-Instruct-Turbo",
    "gemini/gemini-3-pro-preview",
    "gemini/gemini-3-pro-preview-thinking",
    "databricks/databricks-claude-3-7-sonnet",
    "databricks/databricks-claude-haiku-4-5",
    "databricks/databricks-claude-opus-4-1",
    "databricks/databricks-claude-opus-4-5",
    "databricks/databricks-claude-opus-4-6",
    "databricks/databricks-claude-sonnet-4",
    "databricks/databricks-claude-sonnet-4-5",
    "databricks/databricks-gemini-2-5-flash",
    "databricks/databricks-gemini-2-5-pro",
    "databricks/databricks-gemini-3-flash",
    "databricks/databricks-gemini-3-pro",
    "databricks/databricks-gpt-5",
)
"""Models that older deployments document (generation models of runs are still free text)."""

KNOWN_MODELS: tuple[str, ...] = tuple(
    dict.fromkeys(SDK_SPEC_GENERATION_MODELS + SDK_RUN_MODELS + EARLIER_MODELS)
)
"""Models known when this provider was released. The list changes every few months, so an unknown
but well-formed ``provider/model`` name is sent with a warning, never rejected: the server decides."""

MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.:-]+$")
DATABRICKS_FIELDS = ("databricks_client_id", "databricks_client_secret", "databricks_api_base")
"""Credentials that older deployments take for a ``databricks/`` model; today's API (SDK 0.19.2)
has no such fields, so they are sent as extra body fields, and only when given."""


def is_known_model(name: str) -> bool:
    """Whether ``name`` is one of the models documented when this provider was released."""
    return name in KNOWN_MODELS


Text = Annotated[str, BeforeValidator(lambda value: "" if value is None else value)]
"""A string that a response may send as null, read as "" (a null status is an unknown one: waited
through, never a crash)."""


def _none_is_empty(value: Any) -> Any:
    return [] if value is None else value


class _Response(BaseModel):
    """
    Our view of a response: only what the provider reads, every field optional as in the SDK's
    types, unknown fields ignored (the SDK client parses the wire; this keeps events JSON-safe).
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


def _scrubbed(value: str | None) -> str | None:
    return scrub(value) if value else value


ServerText = Annotated[str | None, AfterValidator(_scrubbed)]
"""Free text from the server that may echo a request (an ``error``): scrubbed as it is read, so
that neither exceptions nor trigger events (stored in the metadata database) carry a secret."""


class StatusResource(_Response):
    """Anything that is waited for: it has an id, a status and (specs only) an error message."""

    id: str
    status: Text = ""
    error: ServerText = None

    def progress(self) -> str:
        """A short account of the progress beyond the status ("" when there is nothing more)."""
        return ""


class Spec(StatusResource):
    """A spec, as read from ``GET /api/dataframer/specs/{id}/`` (or an item of the list)."""

    name: Text = ""
    dataset_id: str | None = None
    dataset_name: str | None = None
    dataset_type: str | None = None
    description: str | None = None
    content_yaml: str | None = None
    runtime_params: dict[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    created_by_email: str | None = None
    versions: list[dict[str, Any]] | None = None


class GeneratedFile(_Response):
    """One file produced by a run (every field may be null while the run works)."""

    id: str | None = None
    path: Text = ""
    file_type: str | None = None
    size_bytes: int | None = None


class Run(StatusResource):
    """
    A generation run, as read from ``GET /api/dataframer/runs/{id}/``.

    Today's API carries the requested size only inside ``runtime_params``; older deployments put
    ``number_of_samples`` at the top. :attr:`number_of_samples` is read from either. A run has no
    ``error`` field: a failure is told by its status and counts.
    """

    spec_id: str | None = None
    spec_version: int | None = None
    number_of_samples: int | None = None
    samples_completed: int | None = None
    samples_failed: int | None = None
    total_cost: float | None = None
    created_at: str | None = None
    completed_at: str | None = None
    runtime_params: dict[str, Any] | None = None
    generated_files: Annotated[list[GeneratedFile], BeforeValidator(_none_is_empty)] = Field(
        default_factory=list
    )

    @model_validator(mode="before")
    @classmethod
    def _samples_from_runtime_params(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("number_of_samples") is None:
            params = data.get("runtime_params")
            if isinstance(params, dict) and isinstance(params.get("number_of_samples"), int):
                data = {**data, "number_of_samples": params["number_of_samples"]}
        return data

    def progress(self) -> str:
        parts = []
        if self.samples_completed is not None:
            total = f"/{self.number_of_samples}" if self.number_of_samples else ""
            parts.append(f"samples {self.samples_completed}{total}")
        if self.samples_failed:
            parts.append(f"{self.samples_failed} failed")
        if self.total_cost is not None:
            parts.append(f"cost so far ${self.total_cost:.2f}")
        return ", ".join(parts)


class SpecCreateRequest(BaseModel):
    """
    The body of ``POST /api/dataframer/specs/``, validated against the documented rules.

    Fields left as None are not sent: without ``spec_generation_model_name`` the server picks its
    own default model. The extrapolate flags default to the API's defaults for a seeded spec and
    are not sent at all for a seedless one. The databricks fields (older deployments) are all three
    or none, and go as extra body fields (:meth:`extra_body`), since today's API does not list them.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    name: str
    generation_objectives: str | None = None
    dataset_id: str | None = None
    spec_generation_model_name: str | None = None
    generate_distributions: bool = True
    generate_conditional_distributions: bool = False
    extrapolate_values: bool | None = None
    extrapolate_axes: bool | None = None
    description: str | None = None
    databricks_client_id: str | None = None
    databricks_client_secret: str | None = Field(default=None, repr=False)
    databricks_api_base: str | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("is required: give the spec a unique name, e.g. 'support-spec-{{ ds_nodash }}'")
        return value

    @field_validator(
        "generation_objectives",
        "description",
        "dataset_id",
        "spec_generation_model_name",
        *DATABRICKS_FIELDS,
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("dataset_id")
    @classmethod
    def _dataset_id_is_uuid(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(
                f"must be a seed dataset UUID, got {value!r}: pass the id returned by "
                "UploadSeedDatasetOperator (e.g. upload.output), or omit it for a seedless spec"
            ) from None

    @field_validator("spec_generation_model_name")
    @classmethod
    def _model_is_well_formed(cls, value: str | None) -> str | None:
        if value is not None and not MODEL_NAME_PATTERN.match(value):
            raise ValueError(
                f"must look like 'provider/model', got {value!r}: e.g. {SDK_SPEC_GENERATION_MODELS[0]!r}, "
                "or omit it to let the server choose"
            )
        return value

    @model_validator(mode="after")
    def _documented_rules(self) -> "SpecCreateRequest":
        register_secret(self.databricks_client_secret)
        seedless = self.dataset_id is None
        if seedless and not self.generation_objectives:
            raise ValueError(
                "generation_objectives is required for a seedless spec (no dataset_id): describe "
                "the data to generate, or pass dataset_id to build the spec from a seed dataset"
            )
        if self.generate_conditional_distributions and not self.generate_distributions:
            raise ValueError(
                "generate_conditional_distributions=True requires generate_distributions=True: "
                "set generate_distributions=True or generate_conditional_distributions=False"
            )
        if seedless:
            for flag in ("extrapolate_values", "extrapolate_axes"):
                if getattr(self, flag):
                    raise ValueError(
                        f"{flag} does not apply to a seedless spec (no dataset_id): "
                        f"remove {flag} or pass dataset_id"
                    )
        given = [field for field in DATABRICKS_FIELDS if getattr(self, field)]
        if given and len(given) < len(DATABRICKS_FIELDS):
            missing = [field for field in DATABRICKS_FIELDS if field not in given]
            raise ValueError(
                f"{', '.join(given)} given without {', '.join(missing)}: the databricks credentials "
                "go together; pass all three (or databricks_conn_id), or none"
            )
        return self

    @property
    def seedless(self) -> bool:
        """Whether the spec is built from generation objectives alone."""
        return self.dataset_id is None

    def to_body(self) -> dict[str, Any]:
        """The SDK's create parameters: only fields that are set or have a documented default."""
        body = self.model_dump(exclude_none=True, exclude=set(DATABRICKS_FIELDS))
        if self.seedless:
            body.pop("extrapolate_values", None)
            body.pop("extrapolate_axes", None)
        else:
            body.setdefault("extrapolate_values", True)
            body.setdefault("extrapolate_axes", False)
        return body

    def extra_body(self) -> dict[str, str]:
        """The databricks credentials of an older deployment, when given (sent besides the body)."""
        return {field: getattr(self, field) for field in DATABRICKS_FIELDS if getattr(self, field)}

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values of this request to keep out of every message."""
        return (self.databricks_client_secret,) if self.databricks_client_secret else ()

    @classmethod
    def build(cls, **fields: Any) -> "SpecCreateRequest":
        """Validate ``fields``; raise :class:`DataframerValidationError` naming each bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise DataframerValidationError(validation_message("Invalid Dataframer spec", exc)) from None


def validation_message(title: str, exc: ValidationError, only_field: str | None = None) -> str | None:
    """
    Turn a pydantic error into lines that name each field and its fix (never echoing secrets).

    :param only_field: keep only the errors of this field (None when it has none).
    """
    lines = []
    errors = exc.errors()
    if only_field is not None:
        errors = [error for error in errors if error["loc"][:1] == (only_field,)]
        if not errors:
            return None
    for error in errors:
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  - {field}: {message}" if field else f"  - {message}")
    return f"{title}:\n" + "\n".join(lines)


# Generation runs

MAX_SAMPLES = 20000
REVISION_TYPES = ("coherence_flow", "consistency", "distinguishability", "conformance")
FILTERING_TYPES = ("structural", "conformance")
SEED_SHUFFLING_LEVELS = ("none", "sample", "field", "prompt")
RUN_TOOLS = ("calculator",)
RUN_MODEL_FIELDS = ("generation_model", "outline_model", "revision_model")
THINKING_BUDGETS = {
    "generation_thinking_budget": "generation_model",
    "outline_thinking_budget": "outline_model",
    "revision_thinking_budget": "revision_model",
}


class RunCreateRequest(BaseModel):
    """
    The body of ``POST /api/dataframer/runs/``, validated against the documented rules.

    Fields left as None are not sent, so the server applies its own defaults. Enumerated values
    that this provider does not know (models, revision and filtering types, tools) are sent as they
    are, since the API adds them over time; :meth:`advice` lists them so that the task log says so.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    spec_id: str
    number_of_samples: int
    spec_version: int | None = None
    generation_model: str | None = None
    outline_model: str | None = None
    revision_model: str | None = None
    revision_types: list[str] | None = None
    filtering_types: list[str] | None = None
    max_revision_cycles: int | None = None
    seed_shuffling_level: str | None = None
    max_examples_in_prompt: int | None = None
    unified_multifield: bool | None = None
    skip_outline: bool | None = None
    generation_thinking_budget: int | None = None
    outline_thinking_budget: int | None = None
    revision_thinking_budget: int | None = None
    tools: list[str] | None = None

    @field_validator("spec_id")
    @classmethod
    def _spec_id_is_uuid(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError(
                f"must be a spec UUID, got {value!r}: pass the id returned by CreateSpecOperator "
                "(e.g. create_spec.output)"
            ) from None

    @field_validator(
        "number_of_samples",
        "spec_version",
        "max_revision_cycles",
        "max_examples_in_prompt",
        *THINKING_BUDGETS,
        mode="before",
    )
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be a whole number, got {value!r}")
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)  # a rendered template
        return value

    @field_validator("number_of_samples")
    @classmethod
    def _samples_in_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_SAMPLES:
            raise ValueError(
                f"must be between 1 and {MAX_SAMPLES}, got {value}: split a larger job into several runs"
            )
        return value

    @field_validator("spec_version", "max_revision_cycles", "max_examples_in_prompt", *THINKING_BUDGETS)
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be at least 1, got {value}: omit it to use the server's default")
        return value

    @field_validator(*RUN_MODEL_FIELDS, "seed_shuffling_level", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator(*RUN_MODEL_FIELDS)
    @classmethod
    def _model_is_well_formed(cls, value: str | None) -> str | None:
        if value is not None and not MODEL_NAME_PATTERN.match(value):
            raise ValueError(
                f"must look like 'provider/model', got {value!r}: e.g. 'anthropic/claude-haiku-4-5'"
            )
        return value

    @field_validator("revision_types", "filtering_types", "tools", mode="before")
    @classmethod
    def _list_of_names(cls, value: Any) -> Any:
        if isinstance(value, str):  # a rendered template such as "consistency,conformance"
            value = [part for part in (item.strip() for item in value.split(",")) if part]
        if isinstance(value, (list, tuple)):
            if not all(isinstance(item, str) and item.strip() for item in value):
                raise ValueError(f"must be a list of non-empty names, got {value!r}")
            if len(set(value)) != len(value):
                raise ValueError(f"lists a name more than once: {value!r}")
            return [item.strip() for item in value]
        return value

    def advice(self) -> list[str]:
        """Warnings about values that are sent as they are but may not do what the user expects."""
        notes = []
        for field in RUN_MODEL_FIELDS:
            model = getattr(self, field)
            if model and not is_known_model(model):
                notes.append(f"{field} {model!r} is not in the list this provider knows; the server decides.")
        for field, known in (
            ("revision_types", REVISION_TYPES),
            ("filtering_types", FILTERING_TYPES),
            ("tools", RUN_TOOLS),
        ):
            unknown = [item for item in getattr(self, field) or () if item not in known]
            if unknown:
                notes.append(
                    f"{field} {unknown} not among the documented {list(known)}; sent as is, the server decides."
                )
        if self.seed_shuffling_level and self.seed_shuffling_level not in SEED_SHUFFLING_LEVELS:
            notes.append(
                f"seed_shuffling_level {self.seed_shuffling_level!r} is not one of "
                f"{list(SEED_SHUFFLING_LEVELS)}; sent as is, the server decides."
            )
        if not (self.revision_types or self.filtering_types):
            for field in ("revision_model", "max_revision_cycles", "revision_thinking_budget"):
                if getattr(self, field) is not None:
                    notes.append(f"{field} has no effect without revision_types or filtering_types.")
        for budget, model_field in THINKING_BUDGETS.items():
            model = getattr(self, model_field)
            if getattr(self, budget) is not None and model and not model.endswith("-thinking"):
                notes.append(f"{budget} only applies to a '-thinking' model, and {model_field} is {model!r}.")
        return notes

    def to_body(self) -> dict[str, Any]:
        """The JSON body: only the fields that are set."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def build(cls, **fields: Any) -> "RunCreateRequest":
        """Validate ``fields``; raise :class:`DataframerValidationError` naming each bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise DataframerValidationError(validation_message("Invalid Dataframer run", exc)) from None


# Seed datasets

DATASET_TYPES = ("SINGLE_FILE", "MULTI_FILE", "MULTI_FOLDER")


class SeedDatasetFile(_Response):
    """One file of a seed dataset (``sha256`` when the API gives it)."""

    id: str | None = None
    path: Text = ""
    file_type: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None


class SeedDataset(_Response):
    """A seed dataset, as created, read or listed."""

    id: str
    name: Text = ""
    dataset_type: str | None = None
    description: str | None = None
    file_count: int | None = None
    folder_count: int | None = None
    sample_count: int | None = None
    created_at: str | None = None
    files: Annotated[list[SeedDatasetFile], BeforeValidator(_none_is_empty)] = Field(default_factory=list)


# Downloads


class DownloadLink(_Response):
    """
    The answer of a ready download: a presigned URL (valid one hour) and the size to expect.

    The URL grants access by itself, so it is kept out of ``repr`` and therefore out of logs. It is
    null while the ZIP is prepared (the hook then waits).
    """

    download_url: str | None = Field(default=None, repr=False)
    size_bytes: int | None = None
    filename: str | None = None
    content_type: str | None = None


# ----------------------------------------------------------------------------- platform jobs
# Evaluations, anonymization runs and red teaming. A kind's ``model`` holds only what a wait needs
# (its events are stored with a deferred task); the hook reads the whole object at the end.


class _ErrorMessage(StatusResource):
    """A job that reports its failure in ``error_message`` rather than ``error``."""

    error: str | None = Field(default=None, validation_alias=AliasChoices("error", "error_message"))


class EvaluationStatus(_ErrorMessage):
    """An evaluation, as far as a wait is concerned."""

    run_id: str | None = None
    completed_at: str | None = None


class PropertyDistribution(_Response):
    """How one property of the spec came out in a run (percentages per value)."""

    property_name: Text = ""
    requested_distributions: dict[str, float] | None = None
    expected_distributions: dict[str, float] | None = None
    evaluated_distributions: dict[str, float] | None = None
    total_samples: int | None = None
    total_samples_analyzed: int | None = None

    def max_deviation(self) -> float | None:
        """The largest gap, in percentage points, between an evaluated and an expected share."""
        expected = self.expected_distributions or self.requested_distributions
        if not expected or self.evaluated_distributions is None:
            return None
        values = set(expected) | set(self.evaluated_distributions)
        return round(
            max(abs(self.evaluated_distributions.get(v, 0.0) - expected.get(v, 0.0)) for v in values), 2
        )

    def analyzed_ratio(self) -> float | None:
        """The share of the run's samples the evaluator could classify for this property."""
        if not self.total_samples or self.total_samples_analyzed is None:
            return None
        return round(self.total_samples_analyzed / self.total_samples, 4)


class Evaluation(EvaluationStatus):
    """An evaluation, as read from ``GET /api/dataframer/evaluations/{id}/``."""

    created_at: str | None = None
    distribution_analysis: list[PropertyDistribution] | None = None


class AnonymizationResults(_Response):
    """What an anonymization run found."""

    entity_summary: dict[str, int] | None = None
    samples_processed: int | None = None
    error: str | None = None


class AnonymizationStatus(StatusResource):
    """An anonymization run, as far as a wait is concerned (its failure is in ``results.error``)."""

    dataset_id: str | None = None
    results: AnonymizationResults | None = None

    @model_validator(mode="after")
    def _error_from_results(self) -> "AnonymizationStatus":
        if self.error is None and self.results is not None and self.results.error:
            self.error = self.results.error
        return self

    def progress(self) -> str:
        if self.results is None or not self.results.samples_processed:
            return ""
        found = sum((self.results.entity_summary or {}).values())
        return f"{self.results.samples_processed} samples, {found} PII entities found"


class AnonymizedFile(_Response):
    """One masked file of an anonymization run."""

    id: str
    path: Text = ""
    content_type: str | None = None
    size_in_bytes: int | None = None


class AnonymizationRun(AnonymizationStatus):
    """An anonymization run, as read from ``GET /api/dataframer/anonymization-runs/{id}/``."""

    dataset_name: str | None = None
    detection_method: str | None = None
    pii_types: list[str] | None = None
    anonymized_files: list[AnonymizedFile] = Field(default_factory=list)


class RedTeamRunStatus(_ErrorMessage):
    """A red-team run, as its light ``/status/`` endpoint shows it."""

    red_team_spec_id: str | None = None
    number_of_behaviors: int | None = None
    number_of_prompts_per_behavior: int | None = None

    def progress(self) -> str:
        if not self.number_of_behaviors:
            return ""
        return f"{self.number_of_behaviors} behaviors x {self.number_of_prompts_per_behavior} prompts"


class RedTeamRun(RedTeamRunStatus):
    """A red-team run with its prompts, from ``GET /api/dataframer/red-team-runs/{id}/``."""

    spec_name: str | None = None
    model_name: str | None = None
    created_at: str | None = None
    results_json: dict[str, Any] | None = None

    def prompts(self) -> dict[str, list[dict[str, Any]]]:
        """Behavior -> its ``{"query", "adversarial_prompt"}`` items (empty until SUCCEEDED)."""
        found = (self.results_json or {}).get("behavior_to_enhanced_queries") or {}
        return {str(k): list(v or []) for k, v in found.items()} if isinstance(found, dict) else {}


class RedTeamSpec(_Response):
    """A red-team spec: the application attacked, its domain and the concerns to probe."""

    id: str
    name: Text = ""
    app_description: str | None = None
    domain_description: str | None = None
    concerns: str | None = None
    created_at: str | None = None


DETECTION_METHODS = ("pii_m1", "llm", "all")


def _check_model_name(value: str | None) -> str | None:
    if value is not None and not MODEL_NAME_PATTERN.match(value):
        raise ValueError(f"must look like 'provider/model', got {value!r}: e.g. 'openai/gpt-6-astra'")
    return value


class _PlatformRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    title: ClassVar[str] = "Invalid Dataframer request"

    @classmethod
    def build(cls, **fields: Any) -> Any:
        """Validate ``fields``; raise :class:`DataframerValidationError` naming each bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            raise DataframerValidationError(validation_message(cls.title, exc)) from None

    def to_body(self) -> dict[str, Any]:
        """The JSON body: only the fields that are set."""
        return self.model_dump(exclude_none=True)


def _uuid_field(value: str, what: str, source: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"must be {what} UUID, got {value!r}: pass the id returned by {source}") from None


class EvaluationCreateRequest(_PlatformRequest):
    """The body of ``POST /api/dataframer/evaluations/``."""

    title: ClassVar[str] = "Invalid Dataframer evaluation"

    run_id: str
    evaluation_model: str | None = None

    @field_validator("run_id")
    @classmethod
    def _run_id_is_uuid(cls, value: str) -> str:
        return _uuid_field(value, "a run", "CreateRunOperator (e.g. generate.output)")

    @field_validator("evaluation_model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        return _check_model_name(value or None)


class AnonymizationCreateRequest(_PlatformRequest):
    """The body of ``POST /api/dataframer/anonymization-runs/``."""

    title: ClassVar[str] = "Invalid Dataframer anonymization run"

    dataset_id: str
    detection_method: str = "pii_m1"
    pii_types: list[str]
    llm_model_name: str | None = None
    mask_config: dict[str, str] | None = None
    threshold: float | None = None

    @field_validator("dataset_id")
    @classmethod
    def _dataset_id_is_uuid(cls, value: str) -> str:
        return _uuid_field(value, "a seed dataset", "UploadSeedDatasetOperator (e.g. upload.output)")

    @field_validator("pii_types", mode="before")
    @classmethod
    def _pii_types(cls, value: Any) -> Any:
        if isinstance(value, str):  # a rendered template such as "email,phone_number"
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError("list at least one PII type, e.g. ['email', 'phone_number', 'first_name']")
            bad = [
                item
                for item in value
                if not isinstance(item, str) or item != item.lower() or not item.strip()
            ]
            if bad:
                raise ValueError(f"must be lowercase names such as 'email', got {bad!r}")
        return value

    @field_validator("llm_model_name")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        return _check_model_name(value or None)

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float | None) -> float | None:
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(
                f"must be between 0.0 and 1.0, got {value}: lower finds more, higher is stricter"
            )
        return value

    @model_validator(mode="after")
    def _method(self) -> "AnonymizationCreateRequest":
        if self.detection_method not in DETECTION_METHODS:
            raise ValueError(
                f"detection_method must be one of {list(DETECTION_METHODS)}, got {self.detection_method!r}"
            )
        if self.detection_method != "pii_m1" and not self.llm_model_name:
            raise ValueError(
                f"detection_method {self.detection_method!r} needs llm_model_name: name the LLM, or use 'pii_m1'"
            )
        return self


class RedTeamSpecRequest(_PlatformRequest):
    """The body of ``POST /api/dataframer/red-team-specs/``."""

    title: ClassVar[str] = "Invalid Dataframer red-team spec"

    name: str
    app_description: str
    domain_description: str
    concerns: str | None = None

    @field_validator("name", "app_description", "domain_description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("is required and must not be blank")
        return value


class RedTeamRunRequest(_PlatformRequest):
    """The body of ``POST /api/dataframer/red-team-runs/``."""

    title: ClassVar[str] = "Invalid Dataframer red-team run"

    red_team_spec_id: str
    model_name: str
    number_of_behaviors: int
    number_of_prompts_per_behavior: int

    @field_validator("red_team_spec_id")
    @classmethod
    def _spec_id_is_uuid(cls, value: str) -> str:
        return _uuid_field(value, "a red-team spec", "CreateRedTeamSpecOperator (e.g. red_team_spec.output)")

    @field_validator("model_name")
    @classmethod
    def _model(cls, value: str) -> str:
        _check_model_name(value)
        return value

    @field_validator("number_of_behaviors", "number_of_prompts_per_behavior", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"must be a whole number, got {value!r}")
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value

    @field_validator("number_of_behaviors", "number_of_prompts_per_behavior")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value


RED_TEAM_SPECS_PATH = "/api/dataframer/red-team-specs/"


class RunListing(Run):
    """A run as listed, with its creation time (to keep the newest runs of a spec)."""

    spec_version: int | None = None
    created_at: str | None = None

    def sort_key(self) -> str:
        """``created_at`` normalised to sort chronologically (a missing one sorts oldest)."""
        return (self.created_at or "").replace("Z", "+00:00")
