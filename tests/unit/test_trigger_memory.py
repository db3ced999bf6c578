"""
What a waiting trigger holds between polls: its object's id, status and error, nothing more.

A triggerer may hold thousands of waiting triggers; each whole spec kept between polls (name,
description, runtime parameters, the decoded strings behind them) cost about 1.5 KB per trigger
(``benchmarks/triggerer_load.py --mode memory``).
"""

from __future__ import annotations

import gc
import logging
import time
import weakref

import pytest

from airflow_provider_dataframer.kinds import RUN, SPEC
from airflow_provider_dataframer.models import Run, Spec, StatusResource
from airflow_provider_dataframer.triggers import list_feed
from airflow_provider_dataframer.triggers.list_feed import ListFeed
from airflow_provider_dataframer.waiting import StatusWatch, wait_async

SPEC_ID = "5d0c6f0e-2a8f-4c55-8f7e-0b9f6a1c3e72"
WHOLE_SPEC = {
    "id": SPEC_ID,
    "status": "PROCESSING",
    "name": "support-tickets",
    "description": "benchmark spec",
    "runtime_params": {"spec_generation_model_name": "anthropic/claude-sonnet-4-6"},
    "created_at": "2026-01-05T10:00:00Z",
}


def a_watch(kind: object = SPEC) -> StatusWatch:
    return StatusWatch(kind, SPEC_ID, time.time() + 60, logging.getLogger(__name__))  # type: ignore[arg-type]


def test_a_watch_keeps_only_id_status_and_error_of_a_working_object() -> None:
    watch = a_watch()
    assert watch.observe(Spec.model_validate(WHOLE_SPEC)) is None
    assert type(watch.last) is StatusResource
    assert watch.last.model_dump() == {"id": SPEC_ID, "status": "PROCESSING", "error": None}
    timeout = watch.check_deadline(now=time.time() + 3600)
    assert timeout is not None and timeout["resource_status"] == "PROCESSING"
    assert timeout["resource"] == {"id": SPEC_ID, "status": "PROCESSING", "error": None}


def test_a_run_still_logs_its_progress_once_per_change() -> None:
    watch = a_watch(RUN)
    logged: list[str] = []
    watch.log = type("Log", (), {"info": lambda self, m, *a: logged.append(m % a), "warning": None})()
    for completed in (1, 1, 2):
        run = Run.model_validate({"id": SPEC_ID, "status": "PROCESSING", "samples_completed": completed})
        assert watch.observe(run) is None
    assert len(logged) == 2, logged


def test_a_terminal_event_carries_the_whole_object() -> None:
    watch = a_watch()
    event = watch.observe(Spec.model_validate({**WHOLE_SPEC, "status": "SUCCEEDED"}))
    assert event is not None and event["resource"] is not None
    assert event["resource"]["description"] == "benchmark spec"


async def test_the_wait_loop_does_not_hold_the_last_answer_while_it_sleeps() -> None:
    answers: list[weakref.ref[Spec]] = []
    alive_while_sleeping: list[bool] = []

    async def fetch() -> StatusResource:
        spec = Spec.model_validate(WHOLE_SPEC if not answers else {**WHOLE_SPEC, "status": "SUCCEEDED"})
        answers.append(weakref.ref(spec))
        return spec

    async def sleep(seconds: float) -> None:
        if answers:
            gc.collect()
            alive_while_sleeping.append(answers[-1]() is not None)

    event = await wait_async(fetch, a_watch(), 1.0, sleep=sleep)
    assert event["status"] == "success"
    assert alive_while_sleeping == [False]


async def test_a_listed_spec_is_read_into_its_id_and_status_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(list_feed, "LIST_MIN_WAITERS", 1)

    async def list_call(kind: object) -> list[object]:
        return [WHOLE_SPEC]

    async def by_id() -> StatusResource:
        raise AssertionError("a working spec that is listed is not read by id")

    feed = ListFeed(SPEC, list_call, "http://dataframer.test")  # type: ignore[arg-type]
    with feed.reader(SPEC_ID, by_id, interval=60.0) as read:
        resource = await read()
    assert type(resource) is StatusResource
    assert resource.model_dump() == {"id": SPEC_ID, "status": "PROCESSING", "error": None}
