"""Request bodies of the JSON endpoints; a wrong type or a missing field is a 422 naming it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr, StrictBool, StrictInt, StrictStr

DEFAULT_SPEC_MODEL = "anthropic/claude-sonnet-4-6-thinking"


class SpecCreate(BaseModel):
    """Body of ``POST /api/dataframer/specs/``; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    generation_objectives: StrictStr | None = None
    dataset_id: StrictStr | None = None
    spec_generation_model_name: StrictStr = DEFAULT_SPEC_MODEL
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
    """Body of ``POST /api/dataframer/runs/``; optional generation settings are kept as given."""

    model_config = ConfigDict(extra="allow")

    spec_id: StrictStr
    number_of_samples: StrictInt
    spec_version: StrictInt | None = None
