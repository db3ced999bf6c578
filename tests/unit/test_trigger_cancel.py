"""
A cancelled trigger stops, even when the cancel comes just as its poll returns.

The triggerer cancels a trigger whose task was cleared, marked or timed out. On Python 3.11,
``asyncio.wait_for`` returns the inner result instead of raising when the cancel and the result
arrive together, so a trigger cancelled at that moment went on polling for ever (5,000 waiting
triggers cancelled at once left a handful running: ``benchmarks/triggerer_load.py --mode memory``
never finished). Each test cancels from inside the awaited call, which makes that race certain.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import SPEC
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.waiting import StatusWatch, wait_async

SPEC_ID = "5d0c6f0e-2a8f-4c55-8f7e-0b9f6a1c3e72"


async def test_a_wait_cancelled_as_its_poll_returns_stops_polling() -> None:
    polls = 0

    async def poll_answered_as_the_trigger_is_cancelled() -> StatusResource:
        nonlocal polls
        polls += 1
        if polls > 1:
            raise AssertionError("polled again after being cancelled")
        waiting.cancel()
        return SPEC.model.model_validate({"id": SPEC_ID, "status": "PROCESSING"})

    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    watch = StatusWatch(SPEC, SPEC_ID, time.time() + 60, logging.getLogger(__name__))
    waiting = asyncio.ensure_future(
        wait_async(poll_answered_as_the_trigger_is_cancelled, watch, 1.0, sleep=no_sleep)
    )
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert polls == 1


async def test_a_request_cancelled_as_it_returns_is_cancelled() -> None:
    hook = DataframerHook.for_triggerer(DataframerHook().settings)

    async def answer_arriving_with_the_cancel() -> str:
        polling.cancel()
        return "answer"

    async def poll() -> str:
        await hook._within_limit("GET /api/dataframer/specs/", answer_arriving_with_the_cancel())
        await asyncio.sleep(0)  # the cancel must still be pending here
        return "went on after the cancel"

    polling = asyncio.ensure_future(poll())
    try:
        with pytest.raises(asyncio.CancelledError):
            await polling
    finally:
        await hook.aclose()
