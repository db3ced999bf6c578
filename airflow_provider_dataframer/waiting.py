"""One waiting mechanism, shared by the operators, triggers and sensors.

:class:`StatusWatch` decides everything about a wait (what is terminal, what a failure says,
which errors are transient, when the deadline has passed, how long to sleep, what to log). The
loop around it is "observe, decide, sleep": :func:`wait_blocking` in a worker, :func:`wait_async`
in the triggerer (``DataframerStatusTrigger.run``), and one observation per poke in a sensor. All
end in the same JSON-safe event, which :func:`resolve_event` turns into a resource or an error.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, TypedDict

from airflow_provider_dataframer import wording
from airflow_provider_dataframer.deadlines import cut_at
from airflow_provider_dataframer.exceptions import (
    DataframerError,
    DataframerNotFoundError,
    DataframerTransportError,
    DataframerWaitError,
)
from airflow_provider_dataframer.kinds import RESOURCE_KINDS, ResourceKind
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.retry import is_transient, requested_wait
from airflow_provider_dataframer.status import Phase

JITTER = 0.1
"""In the triggerer, each later poll comes an interval plus up to this fraction of it after the last."""

EventStatus = Literal["success", "failed", "timeout", "error"]

BULKY_FIELDS = frozenset({"content_yaml", "runtime_params", "versions"})
"""Spec fields left out of a wait's event: it is stored in the metadata database with the deferred
task, and no waiter needs them (a spec's YAML can run to many kilobytes)."""


class TaskLogger(Protocol):
    """The part of a logger a wait uses: Airflow's task and trigger loggers, or ``logging``'s."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


class WaitEvent(TypedDict):
    """The outcome of a wait; JSON-safe, so it is also the payload of a ``TriggerEvent``."""

    status: EventStatus
    kind: str
    id: str
    message: str
    resource_status: str | None
    resource: dict[str, Any] | None


class StatusWatch:
    """
    The state of one wait: it is fed what each poll returned and says when the wait is over.

    Each status change (and, for runs, each change of progress) is logged once, not once per poll.

    :param kind: what is waited for (``SPEC`` or ``RUN``).
    :param resource_id: the id of the spec or run.
    :param deadline: the absolute time (``time.time()``) at which the wait gives up.
    :param log: where progress goes (the task log, or the triggerer's log).
    """

    __slots__ = ("_last_error", "_last_report", "deadline", "kind", "last", "log", "resource_id")

    def __init__(self, kind: ResourceKind, resource_id: str, deadline: float, log: TaskLogger) -> None:
        self.kind = kind
        self.resource_id = resource_id
        self.deadline = deadline
        self.log = log
        self.last: StatusResource | None = None
        self._last_report = ""
        self._last_error = ""

    def observe(self, resource: StatusResource) -> WaitEvent | None:
        """Record a poll's answer; return the final event if the status is terminal."""
        self.last = resource
        self._last_error = ""
        report = wording.describe(self.kind.name, resource)
        if report != self._last_report:
            self._last_report = report
            if resource.status and not self.kind.status.is_known(resource.status):
                self.log.warning("%s", wording.unknown_status(report))
            else:
                self.log.info("%s", report)
        phase = self.kind.phase(resource.status)
        if phase is Phase.SUCCEEDED:
            return self._event("success", wording.succeeded(self.kind.name, resource))
        if phase is Phase.FAILED:
            return self._event("failed", wording.failure_message(self.kind.name, resource))
        self.last = _kept_between_polls(resource)
        return None

    def observe_error(self, error: Exception) -> WaitEvent | None:
        """Record a failed poll; transient errors are logged and waited through, others end the wait."""
        if isinstance(error, DataframerNotFoundError):
            return self._event("error", wording.gone(self.kind.name, self.resource_id))
        if isinstance(error, DataframerError) and is_transient(error):
            if str(error) != self._last_error:
                self._last_error = str(error)
                self.log.warning(
                    "Polling %s %s failed, will retry: %s", self.kind.name, self.resource_id, error
                )
            return None
        return self._event("error", wording.poll_failed(self.kind.name, self.resource_id, error))

    def check_deadline(self, now: float | None = None) -> WaitEvent | None:
        """The timeout event once the deadline has passed."""
        if (now if now is not None else time.time()) < self.deadline:
            return None
        last = self.last.status if self.last else None
        return self._event("timeout", wording.timed_out(self.kind.name, self.resource_id, last))

    def pause(self, poll_interval: float, fetched: StatusResource | Exception | None = None) -> float:
        """
        How long to sleep before the next poll: the interval, or longer when a throttled server
        asked for it (``Retry-After``), but never past the deadline (the last poll falls on it).
        """
        asked = requested_wait(fetched) if isinstance(fetched, Exception) else None
        remaining = self.deadline - time.time()
        return max(min(max(poll_interval, asked or 0.0), remaining), 0.0)

    def outcome(self, fetched: StatusResource | Exception, last_poll: bool = True) -> WaitEvent | None:
        """
        Record what a poll gave (an object or an error); the final event once the wait is over.

        :param last_poll: whether this poll was made at or after the deadline; only then can the
            wait time out (a poll cut at the deadline is followed by one last poll).
        """
        event = self.observe_error(fetched) if isinstance(fetched, Exception) else self.observe(fetched)
        return event or (self.check_deadline() if last_poll else None)

    def is_last_poll(self) -> bool:
        """Whether a poll made now is the last one (the deadline has come)."""
        return time.time() >= self.deadline

    def cut(self) -> DataframerTransportError:
        """The transient error of a poll cut at the deadline (the last poll follows it)."""
        return DataframerTransportError(
            "GET", f"{self.kind.name} {self.resource_id}", "cut at the wait's deadline"
        )

    def _event(self, status: EventStatus, message: str) -> WaitEvent:
        resource = self.last
        return WaitEvent(
            status=status,
            kind=self.kind.name,
            id=self.resource_id,
            message=message,
            resource_status=resource.status if resource else None,
            resource=resource.model_dump(mode="json", exclude=set(BULKY_FIELDS)) if resource else None,
        )


def _kept_between_polls(resource: StatusResource) -> StatusResource:
    """
    What a watch keeps of a working object until its next poll: its id, status and error.

    That is all that a timeout or error event reports of it; thousands of triggers waiting in
    one triggerer each holding a whole spec (its description, runtime parameters, ...) cost
    about 1.5 KB apiece (``benchmarks/triggerer_load.py --mode memory``).
    """
    if type(resource) is StatusResource:
        return resource
    return StatusResource.model_construct(id=resource.id, status=resource.status, error=resource.error)


def wait_blocking(
    fetch: Callable[[], StatusResource],
    watch: StatusWatch,
    poll_interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitEvent:
    """
    Wait in the worker: observe, decide, sleep, until ``watch`` says the wait is over.

    As in :func:`wait_async`, ``fetch`` makes one attempt (``DataframerHook.get_status(...,
    retries=False)``) and the next poll is its retry: a 5xx or a dropped connection is decided by
    the watch, logged once and polled through at the interval (or the server's ``Retry-After``),
    never retried with the SDK's backoff inside a poll, which could hold the wait past its deadline.
    """
    while True:
        # The deadline holds with a poll in flight: a poll started before it is cut at it, and the
        # poll at the deadline (bounded by the request's own limit) is the last one.
        last = watch.is_last_poll()
        fetched: StatusResource | Exception
        try:
            with cut_at(None if last else watch.deadline):
                fetched = fetch()
        except DataframerError as exc:
            fetched = exc
        event = watch.outcome(fetched, last_poll=last)
        if event is not None:
            return event
        sleep(watch.pause(poll_interval, fetched))


async def wait_async(
    fetch: Callable[[], Awaitable[StatusResource]],
    watch: StatusWatch,
    poll_interval: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> WaitEvent:
    """
    Wait in the triggerer: observe, decide, sleep, until ``watch`` says the wait is over.

    The first poll falls at a random point of the first interval and each later one comes up to
    ``JITTER`` of an interval late, so that many triggers started together never poll together.
    A poll is one attempt (the next poll is its retry), so a backoff never holds a wait past its
    deadline. Anything a poll raises goes to the watch, which decides: transient errors are waited
    through, the rest end the wait with an error event (a trigger always yields its one event).
    """
    await sleep(min(random.uniform(0, poll_interval), max(watch.deadline - time.time(), 0.0)))
    while True:
        last = watch.is_last_poll()
        fetched: StatusResource | Exception
        try:
            # Cut at the deadline, then the last poll is made. asyncio.timeout, not wait_for: on
            # Python 3.11 wait_for swallows a cancel that comes as the poll returns, and the
            # cancelled trigger would go on polling.
            async with asyncio.timeout(None if last else max(watch.deadline - time.time(), 0.0)):
                fetched = await fetch()
        except TimeoutError:
            fetched = watch.cut()
        except Exception as exc:
            fetched = exc
        event = watch.outcome(fetched, last_poll=last)
        if event is not None:
            return event
        pause = watch.pause(poll_interval * (1 + random.uniform(0, JITTER)), fetched)
        del fetched  # not held while sleeping (a whole object per waiting trigger): the watch kept its part
        await sleep(pause)


def resolve_event(event: dict[str, Any]) -> StatusResource | None:
    """The final resource of a successful wait; raise :class:`DataframerWaitError` otherwise."""
    if event.get("status") != "success":
        raise DataframerWaitError(event)
    kind = RESOURCE_KINDS[event["kind"]]
    return kind.model.model_validate(event["resource"]) if event.get("resource") else None
