"""
Event-driven scheduling on Dataframer runs: a trigger for Airflow 3's ``AssetWatcher``.

:class:`RunFinishedTrigger` yields one event per run that finishes, whoever started it (a DAG,
the Dataframer app, another team's script), so that a DAG scheduled on the watched asset runs
once per finished run. It needs Airflow 3 (``BaseEventTrigger``); on Airflow 2 the module still
imports, and making the trigger says that it needs Airflow 3.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fnmatch
import hashlib
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_dataframer import DEFAULT_CONN_ID
from airflow_provider_dataframer.timestamps import api_time
from airflow_provider_dataframer.triggers.base import import_waiting_stack

try:
    from airflow.triggers.base import BaseEventTrigger as _EventTrigger

    EVENT_TRIGGERS_SUPPORTED = True
except ImportError:  # Airflow 2: no event-driven scheduling
    from airflow.triggers.base import BaseTrigger as _EventTrigger  # type: ignore[assignment]

    EVENT_TRIGGERS_SUPPORTED = False

if TYPE_CHECKING:
    from airflow_provider_dataframer.triggers.shared_call import SharedCall
    from airflow_provider_dataframer.triggers.shared_client import SharedClient

RUN_TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "CANCELED")
"""The statuses in which a run is finished (today's API spelling), the default of ``statuses``."""

_STATUS_SPELLINGS = {"CANCELLED": "CANCELED"}

LOOKBACK = timedelta(minutes=15)
"""
How far behind the newest finish seen the watermark stays.

A run that finished at ``t`` may show in the list only after a run that finished later (server
clocks, commit order): runs finished up to this long before the newest one seen are still fired
if they were not yet, and their ids are kept to fire each once.
"""

MIN_POLL_INTERVAL = 1.0
"""The shortest ``poll_interval`` accepted: each poll lists every run of the account."""

SAVE_AFTER_EVENTS = 10.0
"""
Seconds after its events were yielded before a watermark is saved (or one interval, if longer).

The triggerer's supervisor stores yielded events on its own loop (about every second); a
watermark saved before they are stored would lose them if the triggerer stopped in between.
"""

PERMANENT_ERROR_RECHECK = 10
"""
After an error that waiting does not fix (a refused API key, a missing connection or spec), the
watcher logs it once and checks again every this many intervals, instead of ending: a watcher
that ends is started again by the triggerer at once, as long as its asset is watched.
"""

STATE_KEY_PREFIX = "dataframer.run_finished."
"""The asset state store key of a watcher: this prefix and a digest of what it watches."""


@dataclass
class Watermark:
    """
    Which finished runs a watcher has already fired (or chose not to fire).

    :param floor: runs that finished before it are never fired (None: no run finished yet).
    :param seen: the runs that finished at or after ``floor`` and were fired, or that had finished
        when the watcher was first started: run id -> finish time (ISO 8601).
    """

    floor: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)

    def is_new(self, run_id: str, finished: datetime) -> bool:
        """Whether a run that finished at ``finished`` is to be fired."""
        return run_id not in self.seen and (self.floor is None or finished >= self.floor)

    def record(self, finished: Iterable[tuple[str, datetime]]) -> None:
        """Remember ``finished`` runs and move the floor to ``LOOKBACK`` before the newest one."""
        for run_id, at in finished:
            self.seen[run_id] = at.isoformat()
        if not self.seen:
            return
        newest = max(datetime.fromisoformat(at) for at in self.seen.values())
        floor = newest - LOOKBACK
        self.floor = floor if self.floor is None else max(self.floor, floor)
        self.seen = {
            run_id: at for run_id, at in self.seen.items() if datetime.fromisoformat(at) >= self.floor
        }

    def to_json(self) -> dict[str, Any]:
        """What is stored in the asset state store."""
        return {"floor": self.floor.isoformat() if self.floor else None, "seen": dict(self.seen)}

    @classmethod
    def from_json(cls, stored: Any) -> Watermark | None:
        """A stored watermark, or None when ``stored`` is not one (never saved, or unreadable)."""
        if not isinstance(stored, dict) or not isinstance(stored.get("seen"), dict):
            return None
        floor = api_time(stored.get("floor")) if stored.get("floor") is not None else None
        seen = {
            str(run_id): at
            for run_id, at in stored["seen"].items()
            if isinstance(at, str) and api_time(at) is not None
        }
        return cls(floor=floor, seen=seen)


@dataclass(frozen=True)
class FinishedRun:
    """A listed run in a watched status, with the time it finished."""

    item: dict[str, Any]
    finished: datetime

    @property
    def run_id(self) -> str:
        return str(self.item["id"])


class RunFinishedTrigger(_EventTrigger):
    """
    Fire once for each Dataframer run of a spec (or of specs whose name matches) that finishes.

    For an ``AssetWatcher`` (Airflow 3): the DAGs scheduled on the watched asset run once per
    finished run, whoever started the run. Each poll is one ``GET runs/`` (the API cannot filter
    it; the watchers of one connection in one triggerer share the call and the triggerer's pooled
    client). A run that reached one of ``statuses`` since the last poll fires an event whose
    payload, found in the asset event's ``extra["payload"]``, is::

        {"run_id", "spec_id", "spec_name", "spec_version", "status", "samples_completed",
         "samples_failed", "samples_requested", "total_cost", "created_at", "completed_at",
         "dataframer_conn_id"}

    (``samples_requested`` is read with one ``GET runs/{id}/`` per fired run, None if that
    fails). Runs that had already finished when the watcher first started are not fired, unless
    ``finished_after`` asks for them (only with a state store, see below).

    **Once per run, across triggerer restarts.** What was fired is kept as a watermark (the newest
    finish seen minus :data:`LOOKBACK`, and the ids fired since) in the watched asset's state
    store (Airflow 3.3+), which every triggerer reads: a restarted triggerer, or another one that
    takes the watcher over, goes on from there. The watermark is saved :data:`SAVE_AFTER_EVENTS`
    seconds (or one interval, if longer) after its events were handed to the triggerer, which
    stores them within a second or two when it is healthy. So the guarantee is **at least once**,
    and it assumes the triggerer stored the events within that delay: a triggerer that stops
    before the save may fire those runs again after its restart (one that hangs for longer than
    the delay before storing them could lose them). Consumers that must not act twice dedupe on
    ``run_id``.
    Without a state store (Airflow 3.0-3.2, a trigger run outside a watcher, or one trigger with
    the same arguments watching several assets), the watermark lives in memory only: each start
    is a first start, so runs that finish while no triggerer runs the watcher are never fired (at
    most once), and ``finished_after`` is ignored (with a warning), since it would fire the same
    runs again on every start.

    Transient errors (5xx, timeouts, 429) are logged once per change and retried at the next
    interval (or after ``Retry-After``). A refused API key (401/403), a missing connection or a
    ``spec_id`` that does not exist are logged once at error level and checked again every
    :data:`PERMANENT_ERROR_RECHECK` intervals: the trigger does not end, since the triggerer would
    start it again at once (a tight loop) as long as its asset is watched.

    :param spec_id: watch the runs of this spec (exactly one of ``spec_id`` and ``spec_name``).
    :param spec_name: watch the runs of the specs whose name matches this pattern (``fnmatch``,
        case-sensitive, e.g. ``"churn-*"``; ``"*"`` watches every run of the account).
    :param statuses: the run statuses that fire (default: every finished one, ``SUCCEEDED``,
        ``FAILED``, ``CANCELED``); e.g. ``["SUCCEEDED"]`` for successes only.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between two list calls (at least 1).
    :param finished_after: ISO 8601 time; when the watcher first starts with a state store and
        nothing saved in it, also fire the runs that finished after it (default: none of those
        finished before the start). Ignored without a state store.
    """

    def __init__(
        self,
        *,
        spec_id: str | None = None,
        spec_name: str | None = None,
        statuses: Sequence[str] | None = None,
        dataframer_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        finished_after: str | None = None,
    ) -> None:
        if not EVENT_TRIGGERS_SUPPORTED:
            raise RuntimeError(
                "RunFinishedTrigger needs Airflow 3 (BaseEventTrigger, used by AssetWatcher); "
                "on Airflow 2, wait for a known run with DataframerRunSensor instead."
            )
        super().__init__()
        if (spec_id is None) == (spec_name is None):
            raise ValueError(
                "RunFinishedTrigger: give exactly one of spec_id (one spec's runs) and spec_name "
                "(a name pattern such as 'churn-*'; '*' for every run)."
            )
        for name, value in (("spec_id", spec_id), ("spec_name", spec_name)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"RunFinishedTrigger: {name} must be a non-empty string, got {value!r}.")
        if spec_id is not None:
            try:
                spec_id = str(uuid.UUID(spec_id.strip()))
            except ValueError:
                raise ValueError(
                    f"RunFinishedTrigger: spec_id must be a UUID such as "
                    f"'9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21', got {spec_id!r}; to watch specs by "
                    f"name, pass spec_name instead."
                ) from None
        self.spec_id = spec_id
        self.spec_name = spec_name
        self.statuses = _checked_statuses(statuses)
        if not isinstance(dataframer_conn_id, str) or not dataframer_conn_id:
            raise ValueError("RunFinishedTrigger: dataframer_conn_id must be a connection id.")
        self.dataframer_conn_id = dataframer_conn_id
        try:
            self.poll_interval = float(poll_interval)
        except (TypeError, ValueError):
            raise ValueError(
                f"RunFinishedTrigger: poll_interval must be seconds, got {poll_interval!r}."
            ) from None
        if not self.poll_interval >= MIN_POLL_INTERVAL:
            raise ValueError(
                f"RunFinishedTrigger: poll_interval must be at least {MIN_POLL_INTERVAL:g} s "
                f"(each poll lists every run of the account), got {poll_interval!r}."
            )
        if finished_after is not None and api_time(finished_after) is None:
            raise ValueError(
                f"RunFinishedTrigger: finished_after must be an ISO 8601 time such as "
                f"'2026-05-01T00:00:00Z', got {finished_after!r}."
            )
        self.finished_after = finished_after
        self._problem: str | None = None
        self._loaded = False
        self._watermark: Watermark | None = None
        self._saved: dict[str, Any] | None = None
        self._fired: collections.deque[tuple[float, dict[str, Any]]] = collections.deque()
        self._unsaved: dict[str, Any] | None = None
        self._seen_finished: dict[str, datetime] = {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "spec_id": self.spec_id,
                "spec_name": self.spec_name,
                "statuses": list(self.statuses),
                "dataframer_conn_id": self.dataframer_conn_id,
                "poll_interval": self.poll_interval,
                "finished_after": self.finished_after,
            },
        )

    @property
    def state_key(self) -> str:
        """
        The asset state store key of this watcher: what it watches, not how often it polls.

        A watcher whose interval changes keeps its watermark; one watching other runs starts anew.
        """
        watched = json.dumps(
            [self.dataframer_conn_id, self.spec_id, self.spec_name, sorted(self.statuses)], sort_keys=True
        )
        return STATE_KEY_PREFIX + hashlib.sha256(watched.encode()).hexdigest()[:16]

    def matches(self, item: Any) -> FinishedRun | None:
        """
        The listed run as a :class:`FinishedRun` if it is watched and in a watched status.

        A run listed without ``completed_at`` finished, as far as the watcher knows, when it first
        saw it finished (after a restart, that is seen anew: such a run may fire again then).
        """
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            return None
        status = item.get("status")
        if not isinstance(status, str) or _STATUS_SPELLINGS.get(status, status) not in self.statuses:
            return None
        if self.spec_id is not None:
            if item.get("spec_id") != self.spec_id:
                return None
        elif not isinstance(item.get("spec_name"), str) or not fnmatch.fnmatchcase(
            item["spec_name"], self.spec_name or ""
        ):
            return None
        finished = api_time(item.get("completed_at"))
        if finished is None:
            # Not created_at: it may be far below the watermark's floor, and the run never fire.
            finished = self._seen_finished.setdefault(item["id"], datetime.now(timezone.utc))
        return FinishedRun(item, finished)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.to_thread(import_waiting_stack)
        while True:
            try:
                async with contextlib.aclosing(self._watch()) as events:
                    async for event in events:
                        yield event
            except Exception as exc:
                # Raising would not end a watcher: the triggerer starts it again within a second
                # while its asset is watched, a tight loop of lookups, requests and error logs.
                pause = self.poll_interval * PERMANENT_ERROR_RECHECK
                problem = f"{type(exc).__name__}: {exc}"
                if problem != self._problem:
                    self.log.error(
                        "Dataframer runs of %s: %s. Nothing fires until this is fixed; checking "
                        "again every %g s.",
                        self._watched(),
                        problem,
                        pause,
                    )
                    self._problem = problem
                await asyncio.sleep(pause)

    async def _watch(self) -> AsyncGenerator[TriggerEvent, None]:
        from airflow_provider_dataframer.triggers.shared_client import shared_client

        async with shared_client(self.dataframer_conn_id) as client:
            runs = client.runs()
            await self._check_spec(client)
            if not self._loaded:
                self._watermark, self._saved = await self._load()
                self._loaded = True
            asked = -float("inf")
            while True:
                listed, pause = await self._poll(runs, asked)
                if listed is not None:
                    asked, items = listed
                    finished = [run for run in map(self.matches, items) if run is not None]
                    still_listed = {run.run_id for run in finished}
                    for gone in self._seen_finished.keys() - still_listed:
                        del self._seen_finished[gone]
                    if self._watermark is None:  # first start: what has finished is the baseline
                        self._watermark = self._baseline(finished)
                        if self._watermark.floor is not None and not self._watermark.seen:
                            self.log.info(
                                "Watching Dataframer runs of %s (%s): firing those finished since %s.",
                                self._watched(),
                                "/".join(self.statuses),
                                self._watermark.floor.isoformat(),
                            )
                        else:
                            self.log.info(
                                "Watching Dataframer runs of %s (%s): %d already finished, not fired.",
                                self._watched(),
                                "/".join(self.statuses),
                                len(self._watermark.seen),
                            )
                        self._saved = await self._save(self._watermark.to_json()) or self._saved
                    else:
                        watermark = self._watermark
                        new = sorted(
                            (run for run in finished if watermark.is_new(run.run_id, run.finished)),
                            key=lambda run: (run.finished, run.run_id),
                        )
                        for run in new:
                            yield TriggerEvent(await self._payload(client, run))
                        watermark.record((run.run_id, run.finished) for run in new)
                        if new:
                            self._fired.append((time.monotonic(), watermark.to_json()))
                await asyncio.sleep(pause)
                await self._save_stored_events()

    async def _save_stored_events(self) -> None:
        """
        Save the watermark of the events yielded at least ``SAVE_AFTER_EVENTS`` (or one interval) ago.

        By then the triggerer has stored them (its supervisor does so on a loop of its own), so a
        restart fires a run again rather than never (at least once). Events that keep coming do
        not hold the save back: each poll's watermark is saved once it is old enough.
        """
        due = time.monotonic() - max(self.poll_interval, SAVE_AFTER_EVENTS)
        while self._fired and self._fired[0][0] <= due:
            self._unsaved = self._fired.popleft()[1]
        if self._unsaved is not None and self._unsaved != self._saved:
            saved = await self._save(self._unsaved)
            if saved is not None:
                self._saved, self._unsaved = saved, None

    async def _check_spec(self, client: SharedClient) -> None:
        """Fail at once for a spec that does not exist; a transient error leaves it to the list."""
        if self.spec_id is None:
            return
        from airflow_provider_dataframer.exceptions import DataframerNotFoundError
        from airflow_provider_dataframer.kinds import SPEC
        from airflow_provider_dataframer.retry import is_transient

        try:
            await client.get_status(SPEC, self.spec_id)
        except DataframerNotFoundError as exc:
            raise DataframerNotFoundError(
                exc.http_status,
                f"RunFinishedTrigger: spec_id {self.spec_id!r} does not exist (or this API key cannot "
                f"see it); fix the watcher's spec_id, or use spec_name to watch specs by name",
                exc.method,
                exc.path,
            ) from None
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._report(f"could not check spec {self.spec_id} yet ({exc})")

    async def _poll(
        self, runs: SharedCall[list[Any]], asked: float
    ) -> tuple[tuple[float, list[Any]] | None, float]:
        """
        One list answer (None after a transient error, logged once per change) and the pause
        before the next (longer when the server asked with ``Retry-After``).
        """
        from airflow_provider_dataframer.retry import is_transient, requested_wait

        try:
            listed = await runs.latest(newer_than=asked, max_age=self.poll_interval)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._report(f"listing runs failed ({exc}); retrying every {self.poll_interval:g} s")
            return None, max(self.poll_interval, requested_wait(exc) or 0.0)
        if self._problem is not None:
            self.log.info("Dataframer runs of %s: listing works again.", self._watched())
            self._problem = None
        return listed, self.poll_interval

    def _report(self, problem: str) -> None:
        if problem != self._problem:
            self.log.warning("Dataframer runs of %s: %s.", self._watched(), problem)
            self._problem = problem

    def _baseline(self, finished: list[FinishedRun]) -> Watermark:
        start = api_time(self.finished_after)
        if start is not None and self._store() is not None:
            return Watermark(floor=start)
        if start is not None:
            # In memory only, every start would be a first start and fire the same runs again.
            self.log.warning(
                "Dataframer runs of %s: finished_after is ignored without an asset state store "
                "(Airflow 3.3+, one watched asset); the runs finished before now do not fire.",
                self._watched(),
            )
        watermark = Watermark()
        watermark.record((run.run_id, run.finished) for run in finished)
        return watermark

    async def _payload(self, client: SharedClient, run: FinishedRun) -> dict[str, Any]:
        from airflow_provider_dataframer.kinds import RUN
        from airflow_provider_dataframer.models import Run

        item = run.item
        requested: int | None = None
        try:
            read = await client.get_status(RUN, run.run_id)
            requested = read.number_of_samples if isinstance(read, Run) else None
        except Exception as exc:  # the event goes out anyway: the list has everything else
            self.log.warning("Reading run %s for its requested size failed: %s", run.run_id, exc)
        status = str(item["status"])
        return {
            "run_id": run.run_id,
            "spec_id": item.get("spec_id"),
            "spec_name": item.get("spec_name"),
            "spec_version": item.get("spec_version"),
            "status": _STATUS_SPELLINGS.get(status, status),
            "samples_completed": item.get("samples_completed"),
            "samples_failed": item.get("samples_failed"),
            "samples_requested": requested,
            "total_cost": item.get("total_cost"),
            "created_at": item.get("created_at"),
            "completed_at": item.get("completed_at"),
            "dataframer_conn_id": self.dataframer_conn_id,
        }

    async def _load(self) -> tuple[Watermark | None, dict[str, Any] | None]:
        """
        The saved watermark (None: first start) and what is saved, as stored.

        A store that cannot be read yet is read again every interval before anything is listed:
        a baseline taken meanwhile would never fire the runs that finished while the watcher was
        down. Only a store that can never answer (one trigger watching several assets) is dropped.
        """
        failing = False
        while (store := self._store()) is not None:
            try:
                stored = await store.aget(self.state_key)
            except Exception as exc:
                if _several_assets(exc):
                    self.log.warning(
                        "This watcher has no single asset state store (%s): its state lives in "
                        "memory, and runs that finish while it is not running will not fire.",
                        exc,
                    )
                    self.asset_state_store = None
                    break
                if not failing:
                    self.log.warning(
                        "Cannot read this watcher's state from the asset state store (%s); "
                        "trying again every %g s before watching.",
                        exc,
                        self.poll_interval,
                    )
                    failing = True
                await asyncio.sleep(self.poll_interval)
                continue
            if failing:
                self.log.info("This watcher's state is readable again.")
            watermark = Watermark.from_json(stored)
            return watermark, (watermark.to_json() if watermark is not None else None)
        return None, None

    async def _save(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``state`` (a watermark's JSON); what was stored, None if nothing was."""
        store = self._store()
        if store is None:
            return None
        try:
            await store.aset(self.state_key, state)
        except Exception as exc:  # the next interval tries again
            self.log.warning("Saving this watcher's state failed (%s); retrying next interval.", exc)
            return None
        return state

    def _store(self) -> Any:
        """The watched asset's state store (Airflow 3.3+, one watched asset), else None."""
        return getattr(self, "asset_state_store", None)

    def _watched(self) -> str:
        return f"spec {self.spec_id}" if self.spec_id is not None else f"specs named {self.spec_name!r}"


def _several_assets(error: Exception) -> bool:
    """
    Whether reading the state store failed because the trigger watches several assets.

    Airflow's accessor raises a plain ``ValueError`` then (it cannot tell which asset to use): that
    never changes, unlike a failed call to the API server. A value that does not parse is a
    pydantic ``ValidationError`` (also a ``ValueError``), which may be transient.
    """
    from pydantic import ValidationError

    return type(error) is ValueError and not isinstance(error, ValidationError)


def _checked_statuses(statuses: Sequence[str] | None) -> tuple[str, ...]:
    if statuses is None:
        return RUN_TERMINAL_STATUSES
    if isinstance(statuses, str) or not statuses:
        raise ValueError(
            f"RunFinishedTrigger: statuses must be a non-empty list of run statuses, e.g. "
            f"['SUCCEEDED'], got {statuses!r}."
        )
    checked = []
    for status in statuses:
        spelled = _STATUS_SPELLINGS.get(str(status).upper(), str(status).upper())
        if spelled not in RUN_TERMINAL_STATUSES:
            raise ValueError(
                f"RunFinishedTrigger: statuses holds {status!r}; a run finishes in one of "
                f"{', '.join(RUN_TERMINAL_STATUSES)}."
            )
        if spelled not in checked:
            checked.append(spelled)
    return tuple(checked)
