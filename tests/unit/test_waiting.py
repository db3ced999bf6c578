from __future__ import annotations

import logging

import pytest

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerAuthError,
    DataframerNotFoundError,
    DataframerTransportError,
    DataframerWaitError,
)
from airflow_provider_dataframer.kinds import RUN, SPEC
from airflow_provider_dataframer.models import Run, Spec
from airflow_provider_dataframer.waiting import (
    StatusWatch,
    resolve_event,
    wait_blocking,
)

log = logging.getLogger("test.waiting")


def spec(status: str, error: str | None = None) -> Spec:
    return Spec(id="s1", status=status, error=error)


def fetcher(*answers: object):  # type: ignore[no-untyped-def]
    queue = list(answers)

    def fetch() -> object:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return fetch


def test_blocking_wait_logs_each_change_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.waiting")
    watch = StatusWatch(SPEC, "s1", deadline=float("inf"), log=log)
    sleeps: list[float] = []
    event = wait_blocking(
        fetcher(spec("PROCESSING"), spec("PROCESSING"), spec("PROCESSING"), spec("SUCCEEDED")),
        watch,
        poll_interval=5,
        sleep=sleeps.append,
    )
    assert event["status"] == "success"
    assert event["resource_status"] == "SUCCEEDED"
    assert sleeps == [5, 5, 5]
    assert caplog.text.count("is PROCESSING") == 1
    assert caplog.text.count("is SUCCEEDED") == 1


def test_run_progress_is_logged_on_each_change(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.waiting")
    runs = [
        Run(id="r", status="PROCESSING", number_of_samples=10, samples_completed=0),
        Run(id="r", status="PROCESSING", number_of_samples=10, samples_completed=0),
        Run(id="r", status="PROCESSING", number_of_samples=10, samples_completed=5, total_cost=0.01),
        Run(id="r", status="SUCCEEDED", number_of_samples=10, samples_completed=10, total_cost=0.02),
    ]
    watch = StatusWatch(RUN, "r", deadline=float("inf"), log=log)
    wait_blocking(fetcher(*runs), watch, poll_interval=1, sleep=lambda _: None)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "Dataframer run r is PROCESSING (samples 0/10)",
        "Dataframer run r is PROCESSING (samples 5/10, cost so far $0.01)",
        "Dataframer run r is SUCCEEDED (samples 10/10, cost so far $0.02)",
    ]


def test_failed_event_carries_the_server_error() -> None:
    watch = StatusWatch(SPEC, "s1", deadline=float("inf"), log=log)
    event = wait_blocking(fetcher(spec("FAILED", "seed has no rows")), watch, 1, sleep=lambda _: None)
    assert event["status"] == "failed"
    assert "seed has no rows" in event["message"]
    with pytest.raises(DataframerWaitError, match="ended FAILED: seed has no rows"):
        resolve_event(dict(event))


def test_transient_errors_are_waited_through(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test.waiting")
    watch = StatusWatch(SPEC, "s1", deadline=float("inf"), log=log)
    event = wait_blocking(
        fetcher(
            DataframerTransportError("GET", "/x/", "ReadError"),
            DataframerApiError(503, "busy", "GET", "/x/"),
            DataframerApiError(429, "slow", "GET", "/x/"),
            spec("SUCCEEDED"),
        ),
        watch,
        1,
        sleep=lambda _: None,
    )
    assert event["status"] == "success"
    assert caplog.text.count("will retry") == 3


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (DataframerNotFoundError(404, "Not found.", "GET", "/x/"), "no longer exists (HTTP 404)"),
        (DataframerAuthError(401, "bad key", "GET", "/x/"), "HTTP 401: bad key"),
    ],
)
def test_fatal_errors_end_the_wait(error: Exception, expected: str) -> None:
    watch = StatusWatch(SPEC, "s1", deadline=float("inf"), log=log)
    event = wait_blocking(fetcher(error), watch, 1, sleep=lambda _: None)
    assert event["status"] == "error"
    assert expected in event["message"]


def test_unknown_status_is_logged_and_waited_through(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.waiting")
    watch = StatusWatch(SPEC, "s1", deadline=float("inf"), log=log)
    event = wait_blocking(fetcher(spec("QUEUED"), spec("SUCCEEDED")), watch, 1, sleep=lambda _: None)
    assert event["status"] == "success"
    assert "QUEUED, a status this provider does not know" in caplog.text


def test_deadline_gives_a_timeout_event_with_the_last_status(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    watch = StatusWatch(SPEC, "s1", deadline=1010.0, log=log)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr("airflow_provider_dataframer.waiting.time.time", lambda: now[0])
    event = wait_blocking(lambda: spec("PROCESSING"), watch, poll_interval=4, sleep=sleep)
    assert event["status"] == "timeout"
    assert "last status PROCESSING" in event["message"]
    assert now[0] == 1010.0  # the last sleep was shortened to the deadline


def test_legacy_ready_resolves_to_the_resource() -> None:
    watch = StatusWatch(SPEC, "s1", deadline=float("inf"), log=log)
    event = wait_blocking(
        fetcher(spec("PROCESSING"), DataframerApiError(502, "x", "GET", "/"), spec("READY")),
        watch,
        poll_interval=0,
        sleep=lambda _: None,
    )
    assert event["status"] == "success" and event["resource_status"] == "READY"
    assert resolve_event(dict(event)).status == "READY"  # type: ignore[union-attr]
