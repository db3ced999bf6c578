"""Request bodies of the JSON endpoints; a wrong type or a missing field is a 422 naming it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr, StrictBool, StrictInt, StrictStr

#: Spec generation models of today's API (``pydataframer`` 0.19.2, ``spec_create_params.py``).
SPEC_MODELS: tuple[str, ...] = (
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
#: Spec generation models of the older deployments (their public docs), still accepted there.
OLDER_SPEC_MODELS: tuple[str, ...] = (
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
#: Run generation parameters reported back in a run's ``runtime_params`` (as today's API does).
RUN_RUNTIME_PARAMS: tuple[str, ...] = (
    "filtering_types",
    "generation_model",
    "generation_thinking_budget",
    "max_examples_in_prompt",
    "max_revision_cycles",
    "outline_model",
    "outline_thinking_budget",
    "revision_model",
    "revision_thinking_budget",
    "revision_types",
    "seed_shuffling_level",
    "skip_outline",
    "tools",
    "unified_multifield",
)


class SpecCreate(BaseModel):
    """
    Body of ``POST /api/dataframer/specs/``; unknown fields are ignored.

    The ``databricks_*`` fields are those of older deployments: accepted, never required.
    """

    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    generation_objectives: StrictStr | None = None
    dataset_id: StrictStr | None = None
    spec_generation_model_name: StrictStr | None = None
    generate_distributions: StrictBool = True
    generate_conditional_distributions: StrictBool = False
    extrapolate_values: StrictBool = True
    extrapolate_axes: StrictBool = False
    description: StrictStr | None = None
    databricks_client_id: StrictStr | None = None
    databricks_client_secret: SecretStr | None = None
    databricks_api_base: StrictStr | None = None


class SpecUpdate(BaseModel):
    """Body of ``PUT /api/dataframer/specs/{id}/``."""

    model_config = ConfigDict(extra="ignore")

    content_yaml: StrictStr


class RunCreate(BaseModel):
    """Body of ``POST /api/dataframer/runs/``: the fields of today's ``RunCreateParams``, typed."""

    model_config = ConfigDict(extra="ignore")

    spec_id: StrictStr
    number_of_samples: StrictInt
    spec_version: StrictInt | None = None
    enable_revisions: StrictBool | None = None
    filtering_types: list[Literal["structural", "conformance"]] | None = None
    generation_model: StrictStr | None = None
    generation_thinking_budget: StrictInt | None = None
    max_examples_in_prompt: StrictInt | None = None
    max_revision_cycles: StrictInt | None = None
    outline_model: StrictStr | None = None
    outline_thinking_budget: StrictInt | None = None
    revision_model: StrictStr | None = None
    revision_thinking_budget: StrictInt | None = None
    revision_types: (
        list[Literal["coherence_flow", "consistency", "distinguishability", "conformance"]] | None
    ) = None
    seed_shuffling_level: Literal["none", "sample", "field", "prompt"] | None = None
    skip_outline: StrictBool | None = None
    tools: list[StrictStr] | None = None
    unified_multifield: StrictBool | None = None
