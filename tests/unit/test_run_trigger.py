from __future__ import annotations

import json
import time

import httpx
import respx

from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from tests.conftest import TEST_API_KEY, TEST_BASE_URL

RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
RUN_URL = f"{TEST_BASE_URL}/api/dataframer/runs/{RUN_ID}/"


def make_trigger(**overrides: object) -> RunStatusTrigger:
    kwargs: dict[str, object] = {"run_id": RUN_ID, "poll_interval": 0.01, "deadline": time.time() + 30}
    kwargs.update(overrides)
    return RunStatusTrigger(**kwargs)  # type: ignore[arg-type]


async def run_to_event(trigger: RunStatusTrigger) -> dict[str, object]:
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1, "a trigger yields exactly one event"
    return events[0]  # type: ignore[no-any-return]


def test_serialize_round_trip() -> None:
    trigger = RunStatusTrigger(
        run_id=RUN_ID, dataframer_conn_id="df", poll_interval=4, deadline=1.9e9, cancel_on_kill=True
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_dataframer.triggers.run.RunStatusTrigger"
    assert kwargs == {
        "run_id": RUN_ID,
        "dataframer_conn_id": "df",
        "poll_interval": 4.0,
        "deadline": 1.9e9,
        "cancel_on_kill": True,
    }
    assert TEST_API_KEY not in json.dumps(kwargs)
    assert RunStatusTrigger(**json.loads(json.dumps(kwargs))).serialize() == (classpath, kwargs)


@respx.mock
async def test_working_statuses_then_success_with_the_run_in_the_event(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(RUN_URL).mock(
        side_effect=[
            httpx.Response(200, json={"id": RUN_ID, "status": "PENDING"}),
            httpx.Response(200, json={"id": RUN_ID, "status": "IN_PROGRESS", "samples_completed": 1}),
            httpx.Response(502, json={"detail": "bad gateway"}),
            httpx.Response(
                200, json={"id": RUN_ID, "status": "SUCCEEDED", "samples_completed": 2, "samples_failed": 1}
            ),
        ]
    )
    event = await run_to_event(make_trigger())
    assert event["status"] == "success" and event["kind"] == "run"
    assert event["resource"]["samples_failed"] == 1  # type: ignore[index]


@respx.mock
async def test_canceled_is_a_failure(respx_mock: respx.MockRouter) -> None:
    respx_mock.get(RUN_URL).respond(json={"id": RUN_ID, "status": "CANCELED"})
    event = await run_to_event(make_trigger())
    assert event["status"] == "failed"
    assert f"run {RUN_ID} ended CANCELED" in str(event["message"])


@respx.mock
async def test_on_kill_cancels_only_when_asked(respx_mock: respx.MockRouter) -> None:
    cancel = respx_mock.post(f"{RUN_URL}cancel/").respond(json={"id": RUN_ID, "status": "CANCELED"})
    await make_trigger().on_kill()
    assert not cancel.called, "a sensor's trigger never cancels someone else's run"
    await make_trigger(cancel_on_kill=True).on_kill()
    assert cancel.call_count == 1
