"""One wait, one retry policy: a poll in a worker is one attempt, as a poll of the triggerer."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import httpx
import pytest
import respx

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import SPEC
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from airflow_provider_dataframer.waiting import StatusWatch, wait_blocking
from tests.conftest import TEST_BASE_URL

SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
SPEC_URL = f"{TEST_BASE_URL}/api/dataframer/specs/{SPEC_ID}/"
BUSY = httpx.Response(503, json={"detail": "busy"})


@respx.mock
def test_a_poll_is_one_attempt_and_other_reads_keep_the_sdk_retries() -> None:
    get = respx.get(SPEC_URL).mock(side_effect=[BUSY, BUSY, BUSY, BUSY])
    with DataframerHook() as hook:
        with pytest.raises(Exception, match="HTTP 503"):
            hook.get_status(SPEC, SPEC_ID, retries=False)
        assert get.call_count == 1
        with pytest.raises(Exception, match="HTTP 503"):
            hook.get_status(SPEC, SPEC_ID)  # the SDK's retries (the connection's max_retries: 2)
        assert get.call_count == 4


@respx.mock
def test_the_blocking_wait_polls_through_a_5xx_at_the_interval() -> None:
    get = respx.get(SPEC_URL).mock(
        side_effect=[BUSY, httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"})]
    )
    sleeps: list[float] = []
    watch = StatusWatch(SPEC, SPEC_ID, time.time() + 60, mock.MagicMock())
    with DataframerHook() as hook:
        event = wait_blocking(
            lambda: hook.get_status(SPEC, SPEC_ID, retries=False), watch, 7.0, sleep=sleeps.append
        )
    assert event["status"] == "success"
    assert get.call_count == 2 and len(sleeps) == 1 and 6.9 < sleeps[0] <= 7.0
    watch.log.warning.assert_called_once()  # "Polling spec ... failed, will retry"


@respx.mock
def test_the_operator_waits_in_the_worker_with_one_attempt_per_poll() -> None:
    get = respx.get(SPEC_URL).mock(
        side_effect=[BUSY, BUSY, httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"})]
    )
    operator = CreateSpecOperator(
        task_id="create_spec", name="n", generation_objectives="tickets", poll_interval=0.01
    )
    context: dict[str, Any] = {"ti": mock.MagicMock()}
    read = DataframerHook.get_status
    with mock.patch.object(DataframerHook, "get_status", autospec=True, side_effect=read) as polls:
        assert operator.get_job_result(SPEC_ID, context) == SPEC_ID
    assert get.call_count == 3 and polls.call_count == 3, "each 503 was one poll, not retried inside it"
    assert all(call.kwargs == {"retries": False} for call in polls.call_args_list)
