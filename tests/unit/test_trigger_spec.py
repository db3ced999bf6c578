from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx

from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger
from tests.conftest import TEST_API_KEY, TEST_BASE_URL

SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
SPEC_URL = f"{TEST_BASE_URL}/api/dataframer/specs/{SPEC_ID}/"


def make_trigger(**overrides: object) -> SpecStatusTrigger:
    kwargs: dict[str, object] = {"spec_id": SPEC_ID, "poll_interval": 0.01, "deadline": time.time() + 30}
    kwargs.update(overrides)
    return SpecStatusTrigger(**kwargs)  # type: ignore[arg-type]


async def run_to_event(trigger: SpecStatusTrigger) -> dict[str, object]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1, "a trigger yields exactly one event"
    return events[0]  # type: ignore[no-any-return]


def test_serialize_round_trip_is_json_safe_and_secret_free() -> None:
    import json

    deadline = 1_900_000_000.5
    trigger = SpecStatusTrigger(spec_id=SPEC_ID, dataframer_conn_id="df", poll_interval=7, deadline=deadline)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_dataframer.triggers.spec.SpecStatusTrigger"
    assert kwargs == {
        "spec_id": SPEC_ID,
        "dataframer_conn_id": "df",
        "poll_interval": 7.0,
        "deadline": deadline,
    }
    assert TEST_API_KEY not in json.dumps(kwargs)
    rebuilt = SpecStatusTrigger(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


@respx.mock
async def test_success_after_processing() -> None:
    route = respx.get(SPEC_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": SPEC_ID, "status": "PROCESSING"}),
            httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED", "content_yaml": "a: 1"}),
        ]
    )
    event = await run_to_event(make_trigger())
    assert event["status"] == "success"
    assert event["id"] == SPEC_ID
    assert route.call_count == 2


@respx.mock
async def test_failed_with_server_message() -> None:
    respx.get(SPEC_URL).respond(json={"id": SPEC_ID, "status": "FAILED", "error": "no usable rows"})
    event = await run_to_event(make_trigger())
    assert event["status"] == "failed"
    assert "no usable rows" in str(event["message"])


@respx.mock
async def test_transient_errors_in_the_middle_do_not_fail_the_wait() -> None:
    respx.get(SPEC_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": SPEC_ID, "status": "PROCESSING"}),
            httpx.ConnectError("refused"),
            httpx.ConnectError("refused"),
            httpx.ConnectError("refused"),  # the hook's retries are exhausted: the trigger waits on
            httpx.Response(503, json={"detail": "maintenance"}),
            httpx.Response(429, headers={"retry-after-ms": "10"}, json={}),
            httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"}),
        ]
    )
    event = await run_to_event(make_trigger())
    assert event["status"] == "success"


@respx.mock
async def test_timeout_event_after_the_absolute_deadline() -> None:
    respx.get(SPEC_URL).respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    event = await run_to_event(make_trigger(deadline=time.time() + 0.05))
    assert event["status"] == "timeout"
    assert "Timed out" in str(event["message"])


@respx.mock
async def test_error_event_when_the_spec_disappears() -> None:
    respx.get(SPEC_URL).respond(404, json={"detail": "Not found."})
    event = await run_to_event(make_trigger())
    assert event["status"] == "error"
    assert "no longer exists" in str(event["message"])


@respx.mock
async def test_cancellation_closes_the_http_client(mocker) -> None:  # type: ignore[no-untyped-def]
    respx.get(SPEC_URL).respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    aclose = mocker.spy(httpx.AsyncClient, "aclose")
    trigger = make_trigger(poll_interval=10)
    task = asyncio.ensure_future(trigger.run().__anext__())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Cancelled while its client was still being built (in a thread) or while it waited: either
    # way the client is closed, at the latest once it is built.
    for _ in range(1000):
        if aclose.call_count:
            break
        await asyncio.sleep(0.01)
    assert aclose.call_count == 1
