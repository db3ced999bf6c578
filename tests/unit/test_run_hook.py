from __future__ import annotations

import json

import httpx
import pytest
import respx

from airflow_provider_dataframer.exceptions import DataframerApiError, DataframerTransportError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.models import RunCreateRequest
from tests.conftest import TEST_API_KEY, TEST_BASE_URL

RUNS_URL = f"{TEST_BASE_URL}/api/dataframer/runs/"
RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"


@pytest.fixture(autouse=True)
def no_sleep(mocker):  # type: ignore[no-untyped-def]
    return mocker.patch("dataframer._base_client.time.sleep")


@respx.mock
def test_create_run_sends_the_request_body() -> None:
    route = respx.post(RUNS_URL).respond(201, json={"id": RUN_ID, "status": "PENDING"})
    request = RunCreateRequest.build(spec_id=SPEC_ID, number_of_samples=3, tools=["calculator"])
    assert DataframerHook().create_run(request) == RUN_ID
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {TEST_API_KEY}"
    assert json.loads(sent.content) == {"spec_id": SPEC_ID, "number_of_samples": 3, "tools": ["calculator"]}


@respx.mock
def test_create_run_is_not_retried_when_the_answer_may_be_lost() -> None:
    route = respx.post(RUNS_URL).mock(side_effect=httpx.ReadTimeout("lost"))
    with pytest.raises(DataframerTransportError):
        DataframerHook().create_run(RunCreateRequest.build(spec_id=SPEC_ID, number_of_samples=3))
    assert route.call_count == 1, "a paid run is never created twice by a blind retry"


@respx.mock
def test_create_run_is_one_attempt_even_when_refused() -> None:
    """The SDK would retry a 429 POST itself: creates go with max_retries=0, send_once decides."""
    route = respx.post(RUNS_URL).respond(429, json={"detail": "slow down"})
    with pytest.raises(DataframerApiError) as refused:
        DataframerHook().create_run(RunCreateRequest.build(spec_id=SPEC_ID, number_of_samples=3))
    assert refused.value.http_status == 429 and route.call_count == 1


@respx.mock
def test_runs_carry_their_size_in_runtime_params_and_no_error() -> None:
    """Today's API: number_of_samples only in runtime_params, no error field, files null while working."""
    respx.get(f"{RUNS_URL}{RUN_ID}/").respond(
        json={
            "id": RUN_ID,
            "status": "PROCESSING",
            "samples_completed": 4,
            "runtime_params": {"number_of_samples": 10},
            "generated_files": None,
        }
    )
    run = DataframerHook().get_run(RUN_ID)
    assert run.number_of_samples == 10 and run.generated_files == []
    assert run.progress() == "samples 4/10"


@respx.mock
def test_get_list_and_cancel() -> None:
    run = {
        "id": RUN_ID,
        "status": "IN_PROGRESS",
        "samples_completed": 2,
        "generated_files": [],
        "unknown": 1,
    }
    respx.get(f"{RUNS_URL}{RUN_ID}/").respond(json=run)
    respx.get(RUNS_URL).respond(json=[run, {**run, "id": "other", "status": "SUCCEEDED"}])
    cancel = respx.post(f"{RUNS_URL}{RUN_ID}/cancel/").respond(204)  # today's API: no body
    hook = DataframerHook()
    assert hook.get_run(RUN_ID).samples_completed == 2
    assert [r.status for r in hook.list_runs()] == ["IN_PROGRESS", "SUCCEEDED"]
    assert hook.cancel_run(RUN_ID) is None
    cancel.respond(json={**run, "status": "CANCELED"})  # older deployments answer the run: ignored
    hook.cancel_run(RUN_ID)
    assert cancel.call_count == 2


@respx.mock
def test_cancel_of_a_finished_run_carries_the_server_message() -> None:
    respx.post(f"{RUNS_URL}{RUN_ID}/cancel/").respond(400, json={"detail": "Run is already SUCCEEDED"})
    with pytest.raises(DataframerApiError, match="already SUCCEEDED"):
        DataframerHook().cancel_run(RUN_ID)


@respx.mock
async def test_async_cancel() -> None:
    route = respx.post(f"{RUNS_URL}{RUN_ID}/cancel/").respond(204)
    hook = DataframerHook()
    try:
        assert await hook.acancel_run(RUN_ID) is None
    finally:
        await hook.aclose()
    assert route.call_count == 1
