"""One list call per interval that answers many waiters of one kind (specs or runs).

With few waiters of a kind, each reads its object with ``GET specs/{id}/``. With many
(``>= threshold()``), one ``GET specs/`` serves them all: requests per interval stop growing with
waiters. Each waiter keeps its own loop and pace (:func:`~airflow_provider_dataframer.waiting.wait_async`);
when it polls, it takes the latest list answer if that answer is newer than what it saw last and
younger than its own interval, and otherwise starts the next list call (joined by every waiter
that polls while it is in flight). So the list is called at most about once per interval.

* **What the list can say.** List items carry no ``error`` and no ``content_yaml`` (runs: no
  files), so an object the list shows failed, a run it shows succeeded, or one it does not show
  at all (deleted, or too new) is read once by id. A spec it shows succeeded is done: a successful
  spec wait returns only its id (``COMPLETE_WHEN_LISTED``). Run items carry status and progress
  (the SDK's ``RunListResponseItem``), so progress logs keep flowing.
* **Its cost.** The list is unpaged, so its cost grows with the company's number of objects: the
  threshold rises with the last list's size (one GET is worth ``LIST_ITEMS_PER_GET`` listed
  items, measured by ``benchmarks/triggerer_load.py --mode list``).
* **Failures.** A failing list call switches the kind to per-id GETs for ``LIST_RETRY_AFTER``
  seconds (doubling while it keeps failing). A throttled one (``Retry-After``) stays the list: its
  waiters see the 429 and wait as asked (per-id GETs would only raise the request rate).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from airflow_provider_dataframer.kinds import RUN, SPEC, ResourceKind
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.retry import requested_wait
from airflow_provider_dataframer.status import Phase
from airflow_provider_dataframer.triggers.shared_call import SharedCall

log = logging.getLogger(__name__)

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

COMPLETE_WHEN_LISTED = (SPEC,)
"""Kinds whose listed success is all that a successful wait returns (a spec: its id and status), so
that it needs no GET by id; a run's success carries its files, which only the GET has."""

LISTED_MODELS: dict[str, type[StatusResource]] = {SPEC.name: StatusResource}
"""What a listed item is read into, where less than the kind's whole model serves its waiters: a
listed spec's waiter needs its id and status (a success returns only the id), and 5,000 whole
``Spec`` models held between list calls cost about 1 KB per waiter. A run keeps its ``Run`` model,
whose progress the waiter logs."""

Fetch = Callable[[], Awaitable[StatusResource]]
Answer = dict[str, Any] | Exception
"""A list call's items by id (only those waited for; each parsed on first use, then shared), or
the throttling error it got."""


class FeedReader:
    """
    One waiter of a feed: a context manager (it counts as a waiter while inside) and its fetch.

    Small, since there is one per waiting trigger: ``seen`` is when the list answer it last used
    was asked for.
    """

    __slots__ = ("by_id", "feed", "interval", "resource_id", "seen")

    def __init__(self, feed: ListFeed, resource_id: str, by_id: Fetch, interval: float) -> None:
        self.feed = feed
        self.resource_id = resource_id
        self.by_id = by_id
        self.interval = interval
        self.seen = -math.inf

    def __enter__(self) -> FeedReader:
        self.feed.join(self.resource_id)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.feed.leave(self.resource_id)

    async def __call__(self) -> StatusResource:
        return await self.feed.read(self)


class ListFeed:
    """
    The list calls of one kind on one shared client, and who waits for them.

    :param kind: what is listed (``SPEC`` or ``RUN``).
    :param list_call: makes one list call (one attempt) and returns the raw items.
    :param where: the base URL, for log lines.
    """

    def __init__(
        self, kind: ResourceKind, list_call: Callable[[ResourceKind], Awaitable[list[Any]]], where: str
    ) -> None:
        self.kind = kind
        self.where = where
        self.waiters = 0
        self.listing = False
        self._wanted: dict[str, int] = {}
        self._list_call = list_call
        self._list_size = 0
        self._failures = 0
        self._blocked_until = 0.0
        self._calls: SharedCall[Answer | None] = SharedCall(
            self._list_once, keep=lambda answer: answer is not None
        )

    @staticmethod
    def serves(kind: ResourceKind) -> bool:
        """Whether the list of ``kind`` carries the status (today: specs and runs)."""
        return kind is SPEC or kind is RUN

    def threshold(self) -> int:
        """Waiters from which one list call replaces their per-id GETs."""
        return max(LIST_MIN_WAITERS, math.ceil(self._list_size / LIST_ITEMS_PER_GET))

    def reader(self, resource_id: str, by_id: Fetch, interval: float) -> FeedReader:
        """How one waiter polls ``resource_id`` while it waits: list answers, or ``by_id``."""
        return FeedReader(self, resource_id, by_id, interval)

    async def read(self, reader: FeedReader) -> StatusResource:
        """One poll of ``reader``'s object: from the latest list answer when the list serves."""
        self._reconsider()
        if not self.listing:
            return await reader.by_id()
        asked, answer = await self._calls.latest(newer_than=reader.seen, max_age=reader.interval)
        if answer is None:  # the list failed: per-id for a while
            return await reader.by_id()
        reader.seen = asked
        if isinstance(answer, Exception):
            raise answer  # throttled: the watch logs it, the loop waits as the server asked
        resource = self._resource(answer, reader.resource_id)
        phase = self.kind.phase(resource.status) if resource is not None else None
        if phase is Phase.WORKING or (phase is Phase.SUCCEEDED and self.kind in COMPLETE_WHEN_LISTED):
            return resource  # type: ignore[return-value]
        # A failure (read it whole: the list has no error message), a run's success (its files)
        # or not listed (deleted, or too new to be listed): one GET by id, as a per-id wait.
        return await reader.by_id()

    def close(self) -> None:
        """Cancel a list call in flight (its shared client is closing)."""
        self._calls.close()

    def join(self, resource_id: str) -> None:
        """Count a waiter of ``resource_id`` in."""
        self.waiters += 1
        self._wanted[resource_id] = self._wanted.get(resource_id, 0) + 1

    def leave(self, resource_id: str) -> None:
        """Count a waiter of ``resource_id`` out."""
        self.waiters -= 1
        left = self._wanted.pop(resource_id) - 1
        if left:
            self._wanted[resource_id] = left

    def _resource(self, answer: dict[str, Any], resource_id: str) -> StatusResource | None:
        """The listed object, parsed once for all its waiters (a bad item counts as not listed)."""
        item = answer.get(resource_id)
        if isinstance(item, dict):
            try:
                item = LISTED_MODELS.get(self.kind.name, self.kind.model).model_validate(item)
            except ValidationError:
                item = None
            answer[resource_id] = item
        return item if isinstance(item, StatusResource) else None

    def _reconsider(self) -> None:
        if self._blocked_until and time.monotonic() >= self._blocked_until:
            self._blocked_until = 0.0
        if self._blocked_until:
            self.listing = False
        elif self.listing:
            # Hysteresis: no flapping at the threshold, but never a whole list for a lone waiter.
            self.listing = self.waiters >= max(LIST_MIN_WAITERS - 1, self.threshold() // 2)
        else:
            self.listing = self.waiters >= self.threshold()

    async def _list_once(self) -> Answer | None:
        """One list call: the wanted items by id, a throttle to honour, or None (it failed)."""
        try:
            body = await self._list_call(self.kind)
        except Exception as exc:
            if requested_wait(exc):
                return exc  # throttled: shared, so every waiter waits as the server asked
            self._failed(exc)
            return None
        wanted = self._wanted
        self._list_size = len(body)
        self._failures = 0
        return {
            item["id"]: item
            for item in body
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] in wanted
        }

    def _failed(self, error: Exception) -> None:
        self._failures += 1
        pause = min(LIST_RETRY_AFTER * 2 ** (self._failures - 1), MAX_LIST_RETRY_AFTER)
        self._blocked_until = time.monotonic() + pause
        self.listing = False
        log.warning(
            "Listing Dataframer %ss at %s failed (%s); polling the %d waiting %ss by id for %.0f s.",
            self.kind.name,
            self.where,
            error,
            self.waiters,
            self.kind.name,
            pause,
        )
