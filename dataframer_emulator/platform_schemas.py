"""Request bodies of the platform endpoints; a wrong type or a missing field is a 422 naming it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr

DEFAULT_EVALUATION_MODEL = "anthropic/claude-sonnet-5-thinking"


class EvaluationCreate(BaseModel):
    """Body of ``POST /api/dataframer/evaluations/``."""

    model_config = ConfigDict(extra="ignore")

    run_id: StrictStr
    evaluation_model: StrictStr = DEFAULT_EVALUATION_MODEL


class AnonymizationCreate(BaseModel):
    """Body of ``POST /api/dataframer/anonymization-runs/``."""

    model_config = ConfigDict(extra="ignore")

    dataset_id: StrictStr
    detection_method: StrictStr
    pii_types: list[StrictStr]
    llm_model_name: StrictStr | None = None
    mask_config: dict[StrictStr, StrictStr] | None = None
    threshold: StrictFloat | StrictInt | None = None


class RedTeamSpecCreate(BaseModel):
    """Body of ``POST /api/dataframer/red-team-specs/``."""

    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    app_description: StrictStr
    domain_description: StrictStr
    concerns: StrictStr | None = None


class RedTeamSpecUpdate(BaseModel):
    """Body of ``PUT /api/dataframer/red-team-specs/{id}/``: only the fields given change."""

    model_config = ConfigDict(extra="ignore")

    name: StrictStr | None = None
    app_description: StrictStr | None = None
    domain_description: StrictStr | None = None
    concerns: StrictStr | None = None


class RedTeamRunCreate(BaseModel):
    """Body of ``POST /api/dataframer/red-team-runs/``."""

    model_config = ConfigDict(extra="ignore")

    red_team_spec_id: StrictStr
    model_name: StrictStr
    number_of_behaviors: StrictInt
    number_of_prompts_per_behavior: StrictInt
