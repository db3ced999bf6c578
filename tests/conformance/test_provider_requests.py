"""The provider's requests against the official SDK's params: what we send is what today's API takes.

The requests go through the real stack (the hook, the SDK client, httpx); respx records them at
the httpx client. Each body is checked against the SDK's TypedDict (keys, required keys, types and
enum values, validated by pydantic), and the headers against what the API and a customer-hosted
data plane need.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import httpx
import pytest
import respx
from pydantic import TypeAdapter

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.models import (
    DATABRICKS_FIELDS,
    FILTERING_TYPES,
    REVISION_TYPES,
    SDK_RUN_MODELS,
    SDK_SPEC_GENERATION_MODELS,
    SEED_SHUFFLING_LEVELS,
    RunCreateRequest,
    SpecCreateRequest,
)
from tests.conftest import TEST_API_KEY, TEST_BASE_URL, connection_json

dataframer = pytest.importorskip("dataframer")
from dataframer.types.dataframer.run_create_params import RunCreateParams  # noqa: E402
from dataframer.types.dataframer.spec_create_params import SpecCreateParams  # noqa: E402

SPECS_URL = f"{TEST_BASE_URL}/api/dataframer/specs/"
RUNS_URL = f"{TEST_BASE_URL}/api/dataframer/runs/"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
DATASET_ID = "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11"
FILE_ID = "0a7e4b1c-2d3f-4e5a-8b9c-1d2e3f4a5b6c"


def hints(params: type) -> dict[str, Any]:
    return typing.get_type_hints(params, include_extras=True)


def literal_values(annotation: Any) -> tuple[str, ...]:
    """The values of a ``Literal`` (or of the ``Literal`` inside a ``List[...]``)."""
    while typing.get_origin(annotation) is not typing.Literal:
        (annotation,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)][:1]
    return typing.get_args(annotation)


def required_keys(params: type) -> set[str]:
    return set(getattr(params, "__required_keys__", set()))


def check_body(body: dict[str, Any], params: type, extra_allowed: frozenset[str] = frozenset()) -> None:
    """``body`` has only ``params``'s keys (besides ``extra_allowed``), all required ones, valid values."""
    known = set(hints(params))
    assert set(body) - known <= extra_allowed, (
        f"keys the SDK does not know: {set(body) - known - extra_allowed}"
    )
    assert required_keys(params) <= set(body)
    TypeAdapter(params).validate_python({key: value for key, value in body.items() if key in known})


def sent_json(route: respx.Route) -> dict[str, Any]:
    return dict(json.loads(route.calls.last.request.content))


# The lists the provider keeps are the SDK's lists


def test_the_model_and_enum_lists_are_the_sdks() -> None:
    spec = hints(SpecCreateParams)
    run = hints(RunCreateParams)
    assert literal_values(spec["spec_generation_model_name"]) == SDK_SPEC_GENERATION_MODELS
    for field in ("generation_model", "outline_model", "revision_model"):
        assert literal_values(run[field]) == SDK_RUN_MODELS, field
    assert literal_values(run["revision_types"]) == REVISION_TYPES
    assert literal_values(run["filtering_types"]) == FILTERING_TYPES
    assert literal_values(run["seed_shuffling_level"]) == SEED_SHUFFLING_LEVELS


# Spec creates


SPEC_REQUESTS = {
    "seeded, no model": {"name": "s", "dataset_id": DATASET_ID},
    "seedless": {"name": "s", "generation_objectives": "support tickets", "description": "d"},
    "every flag": {
        "name": "s",
        "dataset_id": DATASET_ID,
        "generate_distributions": True,
        "generate_conditional_distributions": True,
        "extrapolate_values": False,
        "extrapolate_axes": True,
    },
    **{
        f"model {model}": {"name": "s", "generation_objectives": "x", "spec_generation_model_name": model}
        for model in SDK_SPEC_GENERATION_MODELS
    },
}


@respx.mock
@pytest.mark.parametrize("fields", SPEC_REQUESTS.values(), ids=SPEC_REQUESTS.keys())
def test_spec_create_bodies_are_the_sdks_params(fields: dict[str, Any]) -> None:
    route = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    assert DataframerHook().create_spec(SpecCreateRequest.build(**fields)) == SPEC_ID
    body = sent_json(route)
    check_body(body, SpecCreateParams)
    if "spec_generation_model_name" not in fields:
        assert "spec_generation_model_name" not in body, "the server has its own default"


@respx.mock
def test_databricks_credentials_are_extra_body_fields_only_when_given() -> None:
    route = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    request = SpecCreateRequest.build(
        name="s",
        generation_objectives="x",
        spec_generation_model_name="databricks/databricks-gpt-5",  # an older deployment's model
        databricks_client_id="cid",
        databricks_client_secret="dbx-conformance-secret",
        databricks_api_base="https://adb.example/serving-endpoints",
    )
    DataframerHook().create_spec(request)
    body = sent_json(route)
    assert set(DATABRICKS_FIELDS) <= set(body)
    known = set(hints(SpecCreateParams))
    assert set(body) - known == set(DATABRICKS_FIELDS), "nothing else outside the SDK's params"


# Run creates


RUN_REQUESTS = {
    "minimal": {"spec_id": SPEC_ID, "number_of_samples": 1},
    "everything": {
        "spec_id": SPEC_ID,
        "number_of_samples": 20000,
        "spec_version": 2,
        "generation_model": SDK_RUN_MODELS[0],
        "outline_model": SDK_RUN_MODELS[3],
        "revision_model": SDK_RUN_MODELS[-1],
        "revision_types": list(REVISION_TYPES),
        "filtering_types": list(FILTERING_TYPES),
        "max_revision_cycles": 2,
        "seed_shuffling_level": "field",
        "max_examples_in_prompt": 5,
        "unified_multifield": True,
        "skip_outline": False,
        "generation_thinking_budget": 1024,
        "outline_thinking_budget": 512,
        "revision_thinking_budget": 256,
        "tools": ["calculator"],
    },
    "templated strings": {"spec_id": SPEC_ID, "number_of_samples": "7", "revision_types": "consistency"},
}


@respx.mock
@pytest.mark.parametrize("fields", RUN_REQUESTS.values(), ids=RUN_REQUESTS.keys())
def test_run_create_bodies_are_the_sdks_params(fields: dict[str, Any]) -> None:
    route = respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    assert DataframerHook().create_run(RunCreateRequest.build(**fields)) == RUN_ID
    check_body(sent_json(route), RunCreateParams)


# Headers


@respx.mock
def test_headers_of_requests_creates_and_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(extra_headers={"X-Gateway-Team": "data"})
    )
    create = respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    read = respx.get(f"{RUNS_URL}{RUN_ID}/").respond(json={"id": RUN_ID, "status": "PENDING"})
    zip_link = respx.get(f"{RUNS_URL}{RUN_ID}/files/download/").respond(202, json={"status": "PENDING"})
    file_link = respx.get(f"{RUNS_URL}{RUN_ID}/files/{FILE_ID}/download/").respond(
        json={"download_url": "https://storage.test/x?sig=1", "filename": "a.txt"}
    )
    hook = DataframerHook()
    hook.create_run(RunCreateRequest.build(spec_id=SPEC_ID, number_of_samples=1))
    hook.get_run(RUN_ID)
    hook.get_download_link(RUN_ID)
    hook.get_download_link(RUN_ID, FILE_ID)
    for route in (create, read, zip_link, file_link):
        headers = route.calls.last.request.headers
        assert headers["Authorization"] == f"Bearer {TEST_API_KEY}"
        assert headers["User-Agent"].startswith("airflow-provider-dataframer/")
        assert headers["X-Gateway-Team"] == "data", "the connection's extra headers reach every request"
    assert create.calls.last.request.headers["Content-Type"] == "application/json"
    assert create.calls.last.request.headers["x-stainless-retry-count"] == "0"
    for route in (zip_link, file_link):
        assert route.calls.last.request.headers["X-Data-Plane-Follow"] == "1"
    assert "X-Data-Plane-Follow" not in read.calls.last.request.headers


@respx.mock
def test_redirects_are_followed() -> None:
    moved = respx.get(f"{RUNS_URL}{RUN_ID}/").respond(
        301, headers={"Location": f"{TEST_BASE_URL}/v2/api/dataframer/runs/{RUN_ID}/"}
    )
    there = respx.get(f"{TEST_BASE_URL}/v2/api/dataframer/runs/{RUN_ID}/").respond(
        json={"id": RUN_ID, "status": "SUCCEEDED"}
    )
    assert DataframerHook().get_run(RUN_ID).status == "SUCCEEDED"
    assert moved.called and there.called
    assert there.calls.last.request.headers["Authorization"] == f"Bearer {TEST_API_KEY}"


def test_transport_errors_name_the_endpoint_and_never_chain_the_sdks_exception() -> None:
    with respx.mock:
        respx.get(f"{RUNS_URL}{RUN_ID}/").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(Exception) as caught:
            DataframerHook().get_run(RUN_ID)
    assert f"GET /api/dataframer/runs/{RUN_ID}/" in str(caught.value)
    assert caught.value.__suppress_context__ and caught.value.__cause__ is None
