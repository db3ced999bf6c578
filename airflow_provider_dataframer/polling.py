"""One status poller per Dataframer connection and event loop, shared by every waiting trigger.

A triggerer runs every deferred task of a deployment in one event loop. Polling each spec or run
on its own would cost one request per waiter per interval (Dataframer rate-limits) and one HTTP
stack per trigger. Instead, the triggers of one connection register with one :class:`StatusPoller`:

* **Keying.** One poller per running event loop and per *resolved* connection: base URL, API key
  (hashed), timeouts and retry policy. Two connection ids that resolve to the same account share a
  poller; connections to different deployments or keys never do. A new event loop (a test, a
  restarted triggerer) gets new pollers; those of a closed loop are dropped.
* **Feeding.** Each trigger keeps its own :class:`~airflow_provider_dataframer.waiting.StatusWatch`
  (the one place that decides what is terminal, what a failure says, which errors are transient
  and when the deadline has passed). The poller only fetches: it hands each answer to the watch
  of each waiter concerned, inside that trigger's own context (so its log lines reach its own task
  log), and wakes the trigger once, with the watch's final event.
* **List or per-id.** With few waiters of a kind, each is read with ``GET specs/{id}/`` (or
  ``runs/{id}/``). With many (``>= list_threshold()``), one ``GET specs/`` (``runs/``) serves them
  all: requests per interval stop growing with waiters. The list is unpaged, so its cost grows with
  the company's number of objects: the threshold rises with the last list's size (one GET is worth
  ``LIST_ITEMS_PER_GET`` list items of client CPU, measured by ``benchmarks/triggerer_load.py
  --mode list``). List items carry no ``error`` and no ``content_yaml`` (runs: no files), so an
  object the list shows terminal (or does not show at all: deleted, or too new) is read once by
  id: the final event is exactly what a per-id wait gives. Run list items carry status and
  progress (samples, cost), as the official SDK's ``RunListResponseItem`` says, so progress logs
  keep flowing in list mode. A failing list call (after the usual retries) switches that kind's
  waiters to per-id GETs for ``LIST_RETRY_AFTER`` seconds (doubling while it keeps failing).
* **Intervals and jitter.** Per-id, each waiter is polled at its own interval: the first poll at a
  uniformly random point of its first interval, each later one an interval plus 0-10 % after the
  previous started, so 500 triggers started together spread evenly and never poll a resource more
  than once per interval. In list mode one call serves all spec waiters and is made when the
  earliest of them is due: its cadence is the smallest interval among them (a waiter never waits
  longer than it asked; the others get their observations early, for free).
* **Deadlines.** Each waiter has a timer at its absolute deadline: one last poll, then the watch's
  timeout event (as :func:`~airflow_provider_dataframer.waiting.wait_blocking` does in a worker).
* **Errors and rate limits.** A poll is one request, never retried inside: the next poll is the
  retry, so a request slot is never held through a backoff and a deadline is never overshot by
  one. A ``Retry-After`` (429, 503) pushes that waiter's next poll, or the next list call, back;
  a throttled list stays the list (per-id GETs would only raise the request rate).
* **One client.** One pooled SDK client (``dataframer.AsyncDataframer``) per poller, made by the
  hook (:meth:`~airflow_provider_dataframer.hooks.dataframer.DataframerHook.for_triggerer`): on the
  SDK's aiohttp client (``DefaultAioHttpClient``), which costs half to a third of httpx's own
  transport's CPU per request and does not degrade at 500 in flight, with at most
  ``MAX_IN_FLIGHT`` requests at once and no retries of its own. httpx's own transport is used when
  ``httpx-aiohttp`` is not installed, when a proxy environment variable applies to the base URL
  (httpx honours those, the aiohttp transport would not), or when
  ``DATAFRAMER_TRIGGERER_TRANSPORT=httpx``.
* **Lifecycle.** A cancelled or finished trigger unregisters; the last one to go closes the poller:
  timers and in-flight requests are cancelled and the client is closed.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import math
import random
import time
import weakref
from collections.abc import Coroutine
from typing import Any

from pydantic import ValidationError

from airflow_provider_dataframer.hooks.dataframer import POOL_SIZE, ConnectionSettings, DataframerHook
from airflow_provider_dataframer.models import RUN, SPEC, Phase, ResourceKind, StatusResource
from airflow_provider_dataframer.retry import MAX_HONOURED_RETRY_AFTER, requested_wait
from airflow_provider_dataframer.waiting import StatusWatch, WaitEvent

log = logging.getLogger(__name__)

LIST_KINDS = frozenset({SPEC.name, RUN.name})
"""Kinds whose list items carry the status (and, for runs, the progress): see the module doc."""

LIST_MIN_WAITERS = 3
"""
Waiters of one kind and connection from which one list call replaces their per-id GETs.

Measured (``--mode load -n N -k 10``, small list): client CPU per wait step, list vs per-id,
1.90 vs 1.83 ms at N=1, 0.99 vs 1.27 at N=2, 0.77 vs 1.49 at N=3, 0.58 vs 0.95 at N=4; requests
per waiter 1.1 + 1/N vs 1 per interval. The list wins from N=2; 3 leaves a margin for its cost
to the server, which we cannot measure.
"""

LIST_ITEMS_PER_GET = 100
"""
Listed items that cost about as much as one GET: the threshold is at least list size / this.

Measured (``--mode list``): one GET 0.30 ms of client CPU, each listed spec 1.4 us more, so one
GET is worth ~210 listed specs on the client; the server also builds and sends the whole list,
so half of that: the list is used only where it costs at most half the GETs it replaces.
"""

LIST_RETRY_AFTER = 300.0
"""Seconds of per-id polling after a failed list call before the list is tried again (doubling)."""

MAX_LIST_RETRY_AFTER = 3600.0

JITTER = 0.1
"""Each later poll comes an interval plus up to this fraction of it after the previous one."""

MAX_IN_FLIGHT = POOL_SIZE
"""Requests one poller has in flight at once (and the size of its connection pool)."""

SETTINGS_TTL = 60.0
"""Seconds for which a connection id's resolved settings are reused by newly started triggers."""

TRANSPORT_ENV_VAR = "DATAFRAMER_TRIGGERER_TRANSPORT"


class Waiter:
    """One trigger's registration: what it waits for, its watch, and when it is next polled."""

    __slots__ = (
        "active",
        "context",
        "deadline_timer",
        "due",
        "future",
        "in_flight",
        "interval",
        "kind",
        "poll",
        "resource_id",
        "timer",
        "watch",
    )

    def __init__(
        self,
        kind: ResourceKind,
        resource_id: str,
        watch: StatusWatch,
        interval: float,
        future: asyncio.Future[WaitEvent],
    ) -> None:
        self.kind = kind
        self.resource_id = resource_id
        self.watch = watch
        self.interval = interval
        self.future = future
        self.context = contextvars.copy_context()  # the trigger's: its log lines go to its task log
        self.due = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.deadline_timer: asyncio.TimerHandle | None = None
        self.in_flight = False
        self.poll: asyncio.Task[None] | None = None  # the poll in flight, cancelled at the deadline
        self.active = True


class _Group:
    """The waiters of one kind (specs or runs) of one poller, and the state of their list calls."""

    def __init__(self, kind: ResourceKind) -> None:
        self.kind = kind
        self.waiters: dict[Waiter, None] = {}  # an ordered set
        self.listing = False
        self.list_timer: asyncio.TimerHandle | None = None
        self.list_task: asyncio.Task[None] | None = None
        self.list_size = 0
        self.list_failures = 0
        self.list_blocked_until = 0.0


class StatusPoller:
    """
    Polls the specs and runs that the triggers of one connection wait for, in one event loop.

    Obtain it through :func:`wait_for_status`; it closes itself when its last waiter leaves.

    :param settings: the resolved connection settings.
    :param loop: the event loop it runs in.
    """

    def __init__(self, settings: ConnectionSettings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.key = poller_key(settings)
        self._loop = loop
        # Each poll is one attempt: the next poll is its retry (see "Errors and rate limits").
        self._hook = DataframerHook.for_triggerer(settings)
        self._groups: dict[str, _Group] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._neutral = contextvars.Context()  # list calls belong to no trigger
        self._closing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        waiting = {name: len(group.waiters) for name, group in self._groups.items()}
        return f"StatusPoller({self.settings.base_url}, waiting={waiting}, closed={self.closed})"

    @property
    def closed(self) -> bool:
        """Whether the poller has been closed (a new one is then made for new waiters)."""
        return self._closing is not None

    def waiting(self, kind: ResourceKind) -> int:
        """How many waiters of ``kind`` are registered."""
        group = self._groups.get(kind.name)
        return len(group.waiters) if group else 0

    def is_listing(self, kind: ResourceKind) -> bool:
        """Whether ``kind`` is currently polled with one list call instead of per-id GETs."""
        group = self._groups.get(kind.name)
        return bool(group and group.listing)

    def list_threshold(self, kind: ResourceKind) -> int:
        """Waiters of ``kind`` from which one list call replaces their per-id GETs."""
        group = self._groups.get(kind.name)
        size = group.list_size if group else 0
        return max(LIST_MIN_WAITERS, math.ceil(size / LIST_ITEMS_PER_GET))

    # Registration

    def register(self, kind: ResourceKind, resource_id: str, watch: StatusWatch, interval: float) -> Waiter:
        """Start polling ``resource_id`` for ``watch``; its future gets the final event."""
        if self.closed:
            raise RuntimeError("this Dataframer status poller is closed")
        loop = self._loop
        waiter = Waiter(kind, resource_id, watch, max(float(interval), 0.0), loop.create_future())
        group = self._groups.get(kind.name)
        if group is None:
            group = self._groups[kind.name] = _Group(kind)
        now = loop.time()
        was_listing = group.listing
        # A new waiter of a list joins its next call (at the latest after its own interval); a
        # per-id waiter's first poll falls at a random point of its first interval (no stampede).
        waiter.due = now + (waiter.interval if was_listing else random.uniform(0, waiter.interval))
        group.waiters[waiter] = None
        remaining = watch.deadline - time.time()
        waiter.deadline_timer = loop.call_later(max(remaining, 0.0), self._deadline_reached, waiter)
        self._reconsider(group)
        if group.listing:
            if was_listing:
                self._schedule_list(group, waiter.due)
        else:
            self._schedule_one(waiter, waiter.due)
        return waiter

    async def release(self, waiter: Waiter) -> None:
        """Unregister ``waiter`` (finished or cancelled); the last one out closes the poller."""
        self._drop(waiter)
        if not self.closed and not any(group.waiters for group in self._groups.values()):
            await self.aclose()

    async def aclose(self) -> None:
        """Stop polling, cancel what is in flight and close the client (idempotent)."""
        if self._closing is None:
            self._closing = self._neutral.copy().run(self._loop.create_task, self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        state = _LOOP_STATES.get(id(self._loop))
        if state is not None and state.pollers.get(self.key) is self:
            del state.pollers[self.key]
        for group in self._groups.values():
            if group.list_timer is not None:
                group.list_timer.cancel()
            for waiter in list(group.waiters):
                waiter.future.cancel()
                self._drop(waiter)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._hook.aclose()

    def _drop(self, waiter: Waiter) -> None:
        if not waiter.active:
            return
        waiter.active = False
        for timer in (waiter.timer, waiter.deadline_timer):
            if timer is not None:
                timer.cancel()
        waiter.timer = waiter.deadline_timer = None
        group = self._groups[waiter.kind.name]
        group.waiters.pop(waiter, None)
        if group.waiters:
            self._reconsider(group)
        elif group.list_timer is not None:
            group.list_timer.cancel()
            group.list_timer = None

    # Feeding the watches

    def _settle(self, waiter: Waiter, resource: StatusResource | None, error: Exception | None) -> None:
        """Hand a poll's outcome to the waiter's watch, in the waiter's context; finish if it says so."""
        if waiter.active:
            waiter.context.run(self._settle_in_context, waiter, resource, error)

    def _settle_in_context(
        self, waiter: Waiter, resource: StatusResource | None, error: Exception | None
    ) -> None:
        watch = waiter.watch
        event = watch.observe(resource) if resource is not None else watch.observe_error(error)  # type: ignore[arg-type]
        event = event or watch.check_deadline()
        if event is not None:
            if not waiter.future.done():
                waiter.future.set_result(event)
            self._drop(waiter)

    def _deadline_reached(self, waiter: Waiter) -> None:
        waiter.deadline_timer = None
        if not waiter.active:
            return
        remaining = waiter.watch.deadline - time.time()
        if remaining > 0:  # the monotonic clock ran ahead of the wall clock
            waiter.deadline_timer = self._loop.call_later(remaining, self._deadline_reached, waiter)
            return
        # One last poll (a resource that finished meanwhile ends in success), then the timeout.
        if waiter.timer is not None:
            waiter.timer.cancel()
            waiter.timer = None
        if waiter.in_flight and waiter.poll is not None:
            # The deadline is kept with a poll in flight: cancel it, then make the last poll.
            waiter.poll.add_done_callback(lambda _: self._poll_one_soon(waiter))
            waiter.poll.cancel()
            return
        self._poll_one_soon(waiter)

    # Per-id polling

    def _schedule_one(self, waiter: Waiter, when: float) -> None:
        if waiter.timer is not None:
            waiter.timer.cancel()
        waiter.due = when
        waiter.timer = self._loop.call_at(when, self._poll_one_soon, waiter, context=waiter.context)

    def _poll_one_soon(self, waiter: Waiter) -> None:
        waiter.timer = None
        if waiter.active and not waiter.in_flight:
            waiter.in_flight = True
            waiter.poll = self._spawn(self._poll_one(waiter), waiter.context)

    async def _poll_one(self, waiter: Waiter) -> None:
        started = self._loop.time()
        pause = 0.0
        try:
            async with self._slots:
                if not waiter.active:
                    return
                try:
                    resource = await self._hook.aget_resource(waiter.kind, waiter.resource_id)
                except Exception as exc:  # the watch decides: transient, 404 or fatal
                    pause = retry_after(exc)
                    self._settle(waiter, None, exc)
                else:
                    self._settle(waiter, resource, None)
        finally:
            waiter.in_flight = False
        if not waiter.active:
            return
        group = self._groups[waiter.kind.name]
        if group.list_blocked_until:
            self._reconsider(group)  # the list may be tried again
        if not group.listing:
            delay = waiter.interval * (1 + random.uniform(0, JITTER))
            self._schedule_one(waiter, max(self._loop.time() + pause, started + delay))

    # List polling

    def _reconsider(self, group: _Group) -> None:
        """Switch a group between one list call and per-id GETs when its size says so."""
        if group.kind.name not in LIST_KINDS:
            return
        now = self._loop.time()
        if group.list_blocked_until and now >= group.list_blocked_until:
            group.list_blocked_until = 0.0
        threshold = self.list_threshold(group.kind)
        count = len(group.waiters)
        if group.list_blocked_until:
            want = False
        elif group.listing:
            # Hysteresis: no flapping at the threshold, but never a whole list for a lone waiter.
            want = count >= max(LIST_MIN_WAITERS - 1, threshold // 2)
        else:
            want = count >= threshold
        if want and not group.listing:
            group.listing = True
            for waiter in group.waiters:
                if waiter.timer is not None:
                    waiter.timer.cancel()
                    waiter.timer = None
            self._schedule_list(group, min((waiter.due for waiter in group.waiters), default=now))
        elif group.listing and not want:
            group.listing = False
            if group.list_timer is not None:
                group.list_timer.cancel()
                group.list_timer = None
            for waiter in group.waiters:
                if not waiter.in_flight:
                    self._schedule_one(waiter, now + random.uniform(0, waiter.interval))

    def _schedule_list(self, group: _Group, when: float) -> None:
        if group.list_task is not None:
            return  # it schedules the next call when it is done, from every waiter's due time
        if group.list_timer is not None:
            if group.list_timer.when() <= when:
                return
            group.list_timer.cancel()
        group.list_timer = self._loop.call_at(when, self._poll_list_soon, group, context=self._neutral)

    def _poll_list_soon(self, group: _Group) -> None:
        group.list_timer = None
        if group.listing and group.waiters and group.list_task is None:
            group.list_task = self._spawn(self._poll_list(group), self._neutral)

    async def _poll_list(self, group: _Group) -> None:
        kind = group.kind
        started = self._loop.time()
        pause = 0.0
        try:
            try:
                async with self._slots:
                    body = await self._hook.alist_resources(kind)
                self._feed_list(group, body, started)
            except Exception as exc:
                pause = retry_after(exc)
                if pause:
                    log.warning(
                        "Listing Dataframer %ss at %s was throttled (%s); listing again in %.0f s.",
                        kind.name,
                        self.settings.base_url,
                        exc,
                        pause,
                    )
                else:
                    self._list_failed(group, exc)
        finally:
            group.list_task = None
        if group.listing and group.waiters:
            due = min(w.due for w in group.waiters)
            self._schedule_list(group, max(self._loop.time() + pause, due))

    def _feed_list(self, group: _Group, body: list[Any], started: float) -> None:
        kind = group.kind
        group.list_size = len(body)
        group.list_failures = 0
        wanted = {waiter.resource_id for waiter in group.waiters}
        items: dict[str, dict[str, Any]] = {}
        for item in body:
            if isinstance(item, dict) and item.get("id") in wanted:
                items[item["id"]] = item
        factor = 1 + random.uniform(0, JITTER)
        for waiter in list(group.waiters):
            waiter.due = started + waiter.interval * factor
            if not waiter.active or waiter.in_flight:
                continue
            resource = None
            item = items.get(waiter.resource_id)
            if item is not None:
                try:
                    resource = kind.model.model_validate(item)
                except ValidationError:
                    resource = None
            if resource is not None and kind.phase(resource.status) is Phase.WORKING:
                self._settle(waiter, resource, None)
            else:
                # Terminal (read it whole: the list has no error message) or not listed (deleted,
                # or too new to be listed): one GET by id gives the same event as a per-id wait.
                self._poll_one_soon(waiter)
        self._reconsider(group)

    def _list_failed(self, group: _Group, error: Exception) -> None:
        group.list_failures += 1
        pause = min(LIST_RETRY_AFTER * 2 ** (group.list_failures - 1), MAX_LIST_RETRY_AFTER)
        group.list_blocked_until = self._loop.time() + pause
        log.warning(
            "Listing Dataframer %ss at %s failed (%s); polling the %d waiting %ss by id for %.0f s.",
            group.kind.name,
            self.settings.base_url,
            error,
            len(group.waiters),
            group.kind.name,
            pause,
        )
        self._reconsider(group)

    def _spawn(self, coro: Coroutine[Any, Any, None], context: contextvars.Context) -> asyncio.Task[None]:
        # A task runs in a copy of ``context`` (create_task copies the current one; Python 3.10 has
        # no create_task(context=...)), so that the context itself can still be entered to settle.
        task = context.copy().run(self._loop.create_task, coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def retry_after(error: BaseException) -> float:
    """The seconds a throttled server asked us to wait (``Retry-After``, at most a minute), or 0."""
    return min(requested_wait(error) or 0.0, MAX_HONOURED_RETRY_AFTER)


# The pollers of each event loop


class _LoopState:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop_ref = weakref.ref(loop)
        self.pollers: dict[tuple[Any, ...], StatusPoller] = {}
        self.settings: dict[str, tuple[float, asyncio.Future[ConnectionSettings]]] = {}


_LOOP_STATES: dict[int, _LoopState] = {}


def _loop_state() -> _LoopState:
    loop = asyncio.get_running_loop()
    state = _LOOP_STATES.get(id(loop))
    if state is None or state.loop_ref() is not loop:
        for key, other in list(_LOOP_STATES.items()):  # forget the pollers of closed loops
            other_loop = other.loop_ref()
            if other_loop is None or other_loop.is_closed():
                del _LOOP_STATES[key]
        state = _LOOP_STATES[id(loop)] = _LoopState(loop)
    return state


def poller_key(settings: ConnectionSettings) -> tuple[Any, ...]:
    """What makes two connections share a poller: same deployment, key, timeouts and retries."""
    timeout = settings.timeout
    return (
        settings.base_url,
        hashlib.sha256(settings.api_key.encode()).hexdigest(),
        (timeout.connect, timeout.read, timeout.write, timeout.pool),
        settings.retry,
        settings.extra_headers,
    )


def pollers() -> list[StatusPoller]:
    """The open pollers of the running event loop (for diagnostics and tests)."""
    return list(_loop_state().pollers.values())


def get_poller(settings: ConnectionSettings) -> StatusPoller:
    """The poller of ``settings`` in the running event loop (made on first use)."""
    state = _loop_state()
    key = poller_key(settings)
    poller = state.pollers.get(key)
    if poller is None or poller.closed:
        poller = state.pollers[key] = StatusPoller(settings, asyncio.get_running_loop())
    return poller


async def resolve_settings(dataframer_conn_id: str) -> ConnectionSettings:
    """
    The settings of a connection id, read once for all the triggers that start together.

    Concurrent callers share one lookup, and the answer is reused for ``SETTINGS_TTL`` seconds (a
    changed API key reaches triggers started after that); failures are not remembered.
    """
    loop = asyncio.get_running_loop()
    state = _loop_state()
    now = loop.time()
    cached = state.settings.get(dataframer_conn_id)
    if cached is None or cached[0] <= now:
        lookup = loop.create_task(DataframerHook(dataframer_conn_id).aget_settings())
        entry = (now + SETTINGS_TTL, lookup)
        state.settings[dataframer_conn_id] = entry

        def forget_failure(task: asyncio.Future[ConnectionSettings]) -> None:
            failed = task.cancelled() or task.exception() is not None
            if failed and state.settings.get(dataframer_conn_id) is entry:
                del state.settings[dataframer_conn_id]

        lookup.add_done_callback(forget_failure)
        cached = entry
    future = cached[1]
    if future.done():
        return future.result()
    return await asyncio.shield(future)


async def wait_for_status(
    kind: ResourceKind,
    resource_id: str,
    dataframer_conn_id: str,
    poll_interval: float,
    watch: StatusWatch,
) -> WaitEvent:
    """
    Wait through the shared poller until ``watch`` reports the end; return its final event.

    The outcome is the one :func:`~airflow_provider_dataframer.waiting.wait_blocking` gives for the
    same answers: the watch is fed every poll of this resource and decides.
    """
    try:
        settings = await resolve_settings(dataframer_conn_id)
    except Exception as exc:  # no API key, no such connection: the watch makes it an error event
        event = watch.observe_error(exc)
        if event is None:
            raise
        return event
    poller = get_poller(settings)
    waiter = poller.register(kind, resource_id, watch, poll_interval)
    try:
        return await waiter.future
    finally:
        await poller.release(waiter)
