"""RunFinishedTrigger over real HTTP: the emulator on loopback, the SDK, the pooled client."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import RUN, ResourceKind
from airflow_provider_dataframer.timestamps import api_time
from airflow_provider_dataframer.triggers import run_finished
from airflow_provider_dataframer.triggers.run_finished import (
    EVENT_TRIGGERS_SUPPORTED,
    RunFinishedTrigger,
    Watermark,
)
from airflow_provider_dataframer.triggers.shared_call import SharedCall
from airflow_provider_dataframer.triggers.shared_client import SharedClient, open_clients
from dataframer_emulator.server import EmulatorServer
from tests.conftest import connection_json

pytestmark = pytest.mark.skipif(
    not EVENT_TRIGGERS_SUPPORTED, reason="RunFinishedTrigger needs Airflow 3 (BaseEventTrigger)"
)

INTERVAL = 0.05
RUNS = "runs/"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}


class MemoryStateStore:
    """The asset state store's async accessor (``aget``/``aset``), kept in a dict (one asset)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)  # as stored: JSON, not the live object
        self.writes += 1


class FailingStateStore(MemoryStateStore):
    """A state store whose first ``failures`` reads raise ``error``."""

    def __init__(self, failures: int, error: Exception) -> None:
        super().__init__()
        self.failures = failures
        self.error = error
        self.reads = 0

    async def aget(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        if self.reads <= self.failures:
            raise self.error
        return await super().aget(key, default)


@pytest.fixture(autouse=True)
def short_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_finished, "MIN_POLL_INTERVAL", 0.0)
    monkeypatch.setattr(run_finished, "SAVE_AFTER_EVENTS", 0.0)


@pytest.fixture
def emulator(dataframer_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAFRAMER_DEFAULT",
        connection_json(dataframer_emulator.url, dataframer_emulator.api_key, retry_initial_backoff=0.01),
    )
    return dataframer_emulator


@pytest.fixture
def sdk(emulator: EmulatorServer) -> Any:
    hook = DataframerHook()
    yield hook.get_conn().dataframer
    hook.close()


def make_spec(sdk: Any, name: str) -> str:
    spec_id: str = sdk.specs.create(name=name, generation_objectives="support tickets").id
    wait_until(lambda: sdk.specs.retrieve(spec_id).status == "SUCCEEDED")
    return spec_id


def finished_run(sdk: Any, spec_id: str, samples: int = 2) -> str:
    """A run started outside Airflow, returned once the emulator shows it finished."""
    run_id: str = sdk.runs.create(spec_id=spec_id, number_of_samples=samples).id
    wait_until(lambda: sdk.runs.retrieve(run_id).status in TERMINAL)
    return run_id


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the emulator did not get there in time"
        time.sleep(0.02)


class Watching:
    """A trigger's run() driven in a task; its events collected; its polls counted on the emulator."""

    def __init__(self, trigger: RunFinishedTrigger, emulator: EmulatorServer) -> None:
        self.trigger = trigger
        self.emulator = emulator
        self.events: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watching:
        async def collect(events: AsyncIterator[Any]) -> None:
            async for event in events:
                self.events.append(event.payload)

        self.task = asyncio.ensure_future(collect(self.trigger.run()))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def list_calls(self) -> int:
        return len(self.emulator.requests(method="GET", path=RUNS))

    async def polls(self, count: int, timeout: float = 20.0) -> None:
        """
        Wait until ``count`` more list answers have been handled.

        The trigger lists again only after it handled the previous answer and slept: list call
        n + count + 1 means answers up to n + count were handled (events yielded, state saved).
        """
        target = self.list_calls() + count + 1
        deadline = time.monotonic() + timeout
        while self.list_calls() < target:
            assert self.task is not None
            if self.task.done():
                self.task.result()  # raises what ended it
                raise AssertionError("the trigger returned: a watcher never returns")
            assert time.monotonic() < deadline, f"no {count} polls in {timeout} s"
            await asyncio.sleep(0.01)


def watcher(store: MemoryStateStore | None = None, **kwargs: Any) -> RunFinishedTrigger:
    trigger = RunFinishedTrigger(poll_interval=INTERVAL, **kwargs)
    trigger.asset_state_store = store  # type: ignore[assignment]  # as the triggerer injects it
    return trigger


def test_serialize_round_trip_with_no_secret() -> None:
    trigger = RunFinishedTrigger(
        spec_name="churn-*", statuses=["succeeded", "CANCELLED"], dataframer_conn_id="df", poll_interval=5
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_dataframer.triggers.run_finished.RunFinishedTrigger"
    assert kwargs == {
        "spec_id": None,
        "spec_name": "churn-*",
        "statuses": ["SUCCEEDED", "CANCELED"],
        "dataframer_conn_id": "df",
        "poll_interval": 5.0,
        "finished_after": None,
    }
    again = RunFinishedTrigger(**json.loads(json.dumps(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert again.state_key == trigger.state_key
    slower = RunFinishedTrigger(**{**kwargs, "poll_interval": 60})
    assert slower.state_key == trigger.state_key, "a new interval keeps the watermark"
    assert RunFinishedTrigger(spec_name="other-*").state_key != trigger.state_key


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({}, "exactly one of spec_id"),
        ({"spec_id": "a", "spec_name": "b*"}, "exactly one of spec_id"),
        ({"spec_id": " "}, "spec_id must be a non-empty string"),
        ({"spec_id": "churn"}, "spec_id must be a UUID"),
        ({"spec_name": "*", "statuses": ["PROCESSING"]}, "statuses holds 'PROCESSING'"),
        ({"spec_name": "*", "statuses": "SUCCEEDED"}, "statuses must be a non-empty list"),
        ({"spec_name": "*", "poll_interval": "soon"}, "poll_interval must be seconds"),
        ({"spec_name": "*", "finished_after": "yesterday"}, "finished_after must be an ISO 8601 time"),
    ],
)
def test_bad_arguments_name_the_field_before_any_request(kwargs: dict[str, Any], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        RunFinishedTrigger(**kwargs)


def test_the_interval_has_a_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_finished, "MIN_POLL_INTERVAL", 1.0)
    with pytest.raises(ValueError, match="poll_interval must be at least 1 s"):
        RunFinishedTrigger(spec_name="*", poll_interval=0.5)


def test_the_watermark_keeps_only_the_lookback_window() -> None:
    watermark = Watermark()
    old = api_time("2026-05-01T10:00:00Z")
    new = api_time("2026-05-01T11:00:00Z")
    assert old is not None and new is not None
    watermark.record([("old", old), ("new", new)])
    assert watermark.floor == new - run_finished.LOOKBACK
    assert set(watermark.seen) == {"new"}
    assert not watermark.is_new("old", old), "before the floor: never fired"
    assert not watermark.is_new("new", new), "seen: never fired again"
    late = new - run_finished.LOOKBACK / 2
    assert watermark.is_new("late", late), "shown late, within the lookback: still fired"
    assert Watermark.from_json(json.loads(json.dumps(watermark.to_json()))) == watermark
    assert Watermark.from_json("garbage") is None


def test_a_run_listed_without_completed_at_finished_when_first_seen_so() -> None:
    trigger = RunFinishedTrigger(spec_name="*")
    item = {
        "id": "r1",
        "spec_name": "tickets",
        "status": "SUCCEEDED",
        "created_at": "2000-01-01T00:00:00Z",
        "completed_at": None,
    }
    watermark = Watermark(floor=api_time("2026-05-01T00:00:00Z"))
    seen = trigger.matches(item)
    assert seen is not None and seen.finished > datetime.now(timezone.utc) - timedelta(minutes=1)
    assert watermark.is_new(seen.run_id, seen.finished), "not its created_at, below the floor"
    again = trigger.matches(item)
    assert again is not None and again.finished == seen.finished, "the first sighting counts"


async def test_a_run_finished_before_start_does_not_fire_one_finished_after_fires_once(
    emulator: EmulatorServer, sdk: Any
) -> None:
    spec_id = make_spec(sdk, "tickets")
    before = finished_run(sdk, spec_id)
    other_spec = make_spec(sdk, "other")

    async with Watching(watcher(spec_id=spec_id), emulator) as watching:
        await watching.polls(2)
        assert watching.events == [], "finished before the watcher started: no backfill"

        after = await asyncio.to_thread(finished_run, sdk, spec_id, 3)
        await asyncio.to_thread(finished_run, sdk, other_spec)  # another spec's run: not watched
        await watching.polls(3)

    assert [event["run_id"] for event in watching.events] == [after]
    [event] = watching.events
    assert event == {
        "run_id": after,
        "spec_id": spec_id,
        "spec_name": "tickets",
        "spec_version": event["spec_version"],
        "status": "SUCCEEDED",
        "samples_completed": 3,
        "samples_failed": 0,
        "samples_requested": 3,
        "total_cost": event["total_cost"],
        "created_at": event["created_at"],
        "completed_at": event["completed_at"],
        "dataframer_conn_id": "dataframer_default",
    }
    assert isinstance(event["total_cost"], float) and event["completed_at"]
    assert before != after
    assert emulator.api_key not in json.dumps(watching.events)


async def test_each_run_fires_once_and_a_quiet_poll_is_one_list_call(
    emulator: EmulatorServer, sdk: Any
) -> None:
    spec_id = make_spec(sdk, "churn-weekly")
    async with Watching(watcher(spec_name="churn-*"), emulator) as watching:
        await watching.polls(1)
        first = await asyncio.to_thread(finished_run, sdk, spec_id)
        second = await asyncio.to_thread(finished_run, sdk, spec_id)
        await watching.polls(2)
        assert sorted(e["run_id"] for e in watching.events) == sorted([first, second])

        emulator.clear_requests()
        await watching.polls(4)
        requests = [(r.method, r.path) for r in emulator.requests()]
    assert len(watching.events) == 2, "each run fires once, however often it is listed"
    assert set(requests) == {("GET", "/api/dataframer/runs/")}, "when nothing changes: the list only"


async def test_statuses_choose_what_fires(emulator: EmulatorServer, sdk: Any) -> None:
    good = make_spec(sdk, "watched")
    bad = make_spec(sdk, "watched [fail-run]")
    async with Watching(watcher(spec_name="watched*", statuses=["FAILED"]), emulator) as watching:
        await watching.polls(1)
        await asyncio.to_thread(finished_run, sdk, good)
        failed = await asyncio.to_thread(finished_run, sdk, bad)
        await watching.polls(2)
    assert [(e["run_id"], e["status"]) for e in watching.events] == [(failed, "FAILED")]


async def test_a_restart_does_not_refire_and_goes_on_from_the_saved_watermark(
    emulator: EmulatorServer, sdk: Any
) -> None:
    store = MemoryStateStore()
    spec_id = make_spec(sdk, "restarted")
    finished_run(sdk, spec_id)  # before the first start: the baseline

    async with Watching(watcher(store, spec_id=spec_id), emulator) as first:
        await first.polls(1)
        fired = await asyncio.to_thread(finished_run, sdk, spec_id)
        await first.polls(2)  # fired, then saved one interval later
    assert [e["run_id"] for e in first.events] == [fired]
    key = first.trigger.state_key
    assert fired in json.loads(store.values[key])["seen"]

    # Between the two triggerers: a run finishes while none is running.
    while_down = finished_run(sdk, spec_id)

    # A restarted triggerer re-creates the trigger from the same kwargs: memory is gone.
    again = RunFinishedTrigger(**first.trigger.serialize()[1])
    again.asset_state_store = store  # type: ignore[assignment]
    async with Watching(again, emulator) as second:
        await second.polls(3)
    assert [e["run_id"] for e in second.events] == [while_down], "only the run it had not fired"


async def test_the_watermark_is_not_saved_before_the_events_can_be_stored(
    emulator: EmulatorServer, sdk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_finished, "SAVE_AFTER_EVENTS", 3600.0)
    store = MemoryStateStore()
    spec_id = make_spec(sdk, "stored first")
    async with Watching(watcher(store, spec_id=spec_id), emulator) as watching:
        await watching.polls(1)
        assert store.writes == 1, "the baseline fires nothing: saved at once"
        fired = await asyncio.to_thread(finished_run, sdk, spec_id)
        await watching.polls(4)
    assert [e["run_id"] for e in watching.events] == [fired]
    assert store.writes == 1, "not saved while the triggerer may not have stored the event yet"
    assert fired not in json.loads(store.values[watching.trigger.state_key])["seen"]


async def test_a_state_store_down_at_start_is_read_again_and_keeps_saving(
    emulator: EmulatorServer, sdk: Any
) -> None:
    healthy = MemoryStateStore()
    spec_id = make_spec(sdk, "store down")
    async with Watching(watcher(healthy, spec_id=spec_id), emulator) as first:
        await first.polls(1)
    while_down = finished_run(sdk, spec_id)

    store = FailingStateStore(failures=3, error=RuntimeError("API server unreachable"))
    store.values = dict(healthy.values)
    again = RunFinishedTrigger(**first.trigger.serialize()[1])
    again.asset_state_store = store  # type: ignore[assignment]
    async with Watching(again, emulator) as second:
        await second.polls(3)
    assert store.reads == 4, "read again until it answers"
    assert [e["run_id"] for e in second.events] == [while_down], "the saved watermark was used"
    assert while_down in json.loads(store.values[again.state_key])["seen"], "and saving goes on"


async def test_a_trigger_watching_several_assets_keeps_its_state_in_memory(
    emulator: EmulatorServer, sdk: Any
) -> None:
    spec_id = make_spec(sdk, "several assets")
    store = FailingStateStore(failures=1_000, error=ValueError("Task has 2 concrete inlets and outlets"))
    async with Watching(watcher(store, spec_id=spec_id), emulator) as watching:
        await watching.polls(1)
        fired = await asyncio.to_thread(finished_run, sdk, spec_id)
        await watching.polls(2)
    assert [e["run_id"] for e in watching.events] == [fired]
    assert store.reads == 1 and store.writes == 0, "a store that can never answer is not asked again"


async def test_without_a_saved_watermark_a_restart_refires_nothing_old(
    emulator: EmulatorServer, sdk: Any
) -> None:
    spec_id = make_spec(sdk, "memory only")
    async with Watching(watcher(spec_id=spec_id), emulator) as first:
        await first.polls(1)
        fired = await asyncio.to_thread(finished_run, sdk, spec_id)
        await first.polls(2)
    assert [e["run_id"] for e in first.events] == [fired]
    async with Watching(watcher(spec_id=spec_id), emulator) as second:
        await second.polls(3)
    assert second.events == [], "no store: a new start is a new baseline (at most once)"


async def test_finished_after_asks_for_the_runs_before_the_first_start(
    emulator: EmulatorServer, sdk: Any
) -> None:
    store = MemoryStateStore()
    spec_id = make_spec(sdk, "backfilled")
    early = finished_run(sdk, spec_id)
    async with Watching(
        watcher(store, spec_id=spec_id, finished_after="2000-01-01T00:00:00Z"), emulator
    ) as watching:
        await watching.polls(3)
    assert [e["run_id"] for e in watching.events] == [early]

    again = RunFinishedTrigger(**watching.trigger.serialize()[1])
    again.asset_state_store = store  # type: ignore[assignment]
    async with Watching(again, emulator) as restarted:
        await restarted.polls(3)
    assert restarted.events == [], "finished_after counts on the first start only"


async def test_finished_after_without_a_state_store_is_ignored_not_refired_on_each_start(
    emulator: EmulatorServer, sdk: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_id = make_spec(sdk, "no store")
    finished_run(sdk, spec_id)
    for _start in range(2):
        with caplog.at_level(logging.WARNING):
            async with Watching(
                watcher(spec_id=spec_id, finished_after="2000-01-01T00:00:00Z"), emulator
            ) as watching:
                await watching.polls(2)
        assert watching.events == [], "in memory, every start would fire the same runs again"
    text = caplog.text + capsys.readouterr().out
    assert text.count("finished_after is ignored without an asset state store") == 2, "once per start"


async def test_transient_list_errors_are_retried_and_logged_once(
    emulator: EmulatorServer, sdk: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_id = make_spec(sdk, "flaky")
    async with Watching(watcher(spec_id=spec_id), emulator) as watching:
        await watching.polls(1)
        emulator.add_fault(method="GET", path=RUNS, status_code=503, times=4)
        run_id = await asyncio.to_thread(finished_run, sdk, spec_id)
        with caplog.at_level(logging.INFO):
            await watching.polls(6)
    assert [e["run_id"] for e in watching.events] == [run_id]
    # Airflow 3 logs triggers through structlog (stdout), Airflow 2 through logging.
    text = caplog.text + capsys.readouterr().out
    assert text.count("listing runs failed") == 1, "logged once per change, not once per poll"
    assert "HTTP 503" in text and "listing works again" in text


async def gets_paced(watching: Watching, path: str, count: int) -> list[float]:
    """Wait for ``count`` GETs of ``path`` while the trigger runs; the gaps between them (s)."""
    deadline = time.monotonic() + 20.0
    while len(records := watching.emulator.requests(method="GET", path=path)) < count:
        assert watching.task is not None and not watching.task.done(), "a watcher never ends"
        assert time.monotonic() < deadline, f"no {count} GETs of {path}"
        await asyncio.sleep(0.01)
    times = [record.time for record in records]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_a_refused_api_key_is_logged_once_and_checked_again_slowly(
    dataframer_emulator_factory: Any,
    monkeypatch: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = dataframer_emulator_factory(api_key="the-right-key")
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(server.url, "a-wrong-key"))
    with caplog.at_level(logging.ERROR):
        async with Watching(watcher(spec_name="*"), server) as watching:
            gaps = await gets_paced(watching, RUNS, 3)
    assert min(gaps) >= run_finished.PERMANENT_ERROR_RECHECK * INTERVAL - 0.01, "not a tight loop"
    text = caplog.text + capsys.readouterr().out
    assert text.count("DataframerAuthError") == 1, "logged once, not once per check"
    assert "a-wrong-key" not in text


async def test_a_spec_that_does_not_exist_is_logged_once_and_checked_again_slowly(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "0b6f0d7e-0000-4000-8000-000000000000"
    with caplog.at_level(logging.ERROR):
        async with Watching(watcher(spec_id=missing), emulator) as watching:
            gaps = await gets_paced(watching, f"specs/{missing}/", 3)
    assert min(gaps) >= run_finished.PERMANENT_ERROR_RECHECK * INTERVAL - 0.01, "not a tight loop"
    text = caplog.text + capsys.readouterr().out
    assert text.count(f"spec_id '{missing}' does not exist") == 1
    assert emulator.requests(method="GET", path=RUNS) == [], "nothing listed for a missing spec"


async def test_a_closed_shared_client_is_not_kept_alive_by_its_run_list(
    emulator: EmulatorServer, sdk: Any
) -> None:
    spec_id = make_spec(sdk, "let go")
    async with Watching(watcher(spec_id=spec_id), emulator) as watching:
        await watching.polls(1)
        [client] = open_clients()
        gone = weakref.ref(client)
        del client
    del watching  # the cancelled task's traceback holds the trigger's frames
    for _ in range(3):  # and its callbacks, until the loop has run them
        await asyncio.sleep(0)
    gc.collect()
    assert gone() is None, "closed: the client, its hook and its last run list are freed"


class ListNeverAnswers:
    """A shared client's list call that never answers until cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def list_statuses(self, kind: ResourceKind) -> list[Any]:
        self.started.set()
        await asyncio.Event().wait()
        raise AssertionError("never answered")


async def test_closing_the_run_list_cancels_its_call_in_flight() -> None:
    client = ListNeverAnswers()
    runs = SharedCall(lambda: client.list_statuses(RUN))
    waiter = asyncio.ensure_future(runs.latest(newer_than=-float("inf"), max_age=1.0))
    await client.started.wait()
    runs.close()
    with pytest.raises(asyncio.CancelledError):
        await waiter


def test_a_shared_client_keeps_one_run_list() -> None:
    client = SharedClient.__new__(SharedClient)
    client._runs = None
    assert client.runs() is client.runs()
