"""One waiting mechanism for specs and runs, shared by the operators, triggers and sensors.

:class:`StatusWatch` decides everything about a wait (what is terminal, what a failure says,
which errors are transient, when the deadline has passed, what to log). Its callers only fetch:
:func:`wait_blocking` in a worker, the triggers' shared poller (:mod:`~airflow_provider_dataframer.polling`)
in the triggerer, and the sensors one poke at a time. All end in the same JSON-safe event, which
:func:`resolve_event` turns into a result or an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypedDict

from airflow_provider_dataframer.deadlines import cut_at
from airflow_provider_dataframer.exceptions import DataframerError, DataframerNotFoundError
from airflow_provider_dataframer.models import RESOURCE_KINDS, Phase, ResourceKind, StatusResource
from airflow_provider_dataframer.retry import is_transient

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
        report = self.kind.describe(resource)
        if report != self._last_report:
            self._last_report = report
            if resource.status and not self.kind.is_known(resource.status):
                self.log.warning("%s, a status this provider does not know; waiting on.", report)
            else:
                self.log.info("%s", report)
        phase = self.kind.phase(resource.status)
        if phase is Phase.SUCCEEDED:
            return self._event("success", f"Dataframer {self.kind.name} {resource.id} {resource.status}")
        if phase is Phase.FAILED:
            return self._event("failed", self.kind.failure_message(resource))
        return None

    def observe_error(self, error: Exception) -> WaitEvent | None:
        """Record a failed poll; transient errors are logged and waited through, others end the wait."""
        if isinstance(error, DataframerNotFoundError):
            return self._event(
                "error",
                f"Dataframer {self.kind.name} {self.resource_id} no longer exists (HTTP 404): "
                "it was deleted, or the connection points at another account.",
            )
        if isinstance(error, DataframerError) and is_transient(error):
            if str(error) != self._last_error:
                self._last_error = str(error)
                self.log.warning(
                    "Polling %s %s failed, will retry: %s", self.kind.name, self.resource_id, error
                )
            return None
        return self._event(
            "error", f"Waiting for Dataframer {self.kind.name} {self.resource_id} failed: {error}"
        )

    def check_deadline(self, now: float | None = None) -> WaitEvent | None:
        """The timeout event once the deadline has passed."""
        if (now if now is not None else time.time()) < self.deadline:
            return None
        last = f"; last status {self.last.status}" if self.last else ""
        return self._event(
            "timeout",
            f"Timed out waiting for Dataframer {self.kind.name} {self.resource_id} to finish{last}. "
            f"It may still be running; raise `timeout` or wait on it with a sensor.",
        )

    def sleep_seconds(self, poll_interval: float, now: float | None = None) -> float:
        """How long to sleep before the next poll: the interval, but never past the deadline."""
        remaining = self.deadline - (now if now is not None else time.time())
        return max(min(poll_interval, remaining), 0.0)

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


def wait_blocking(
    fetch: Callable[[], StatusResource],
    watch: StatusWatch,
    poll_interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitEvent:
    """Poll ``fetch`` in the worker until ``watch`` reports the end of the wait."""
    while True:
        # The deadline is kept with a poll in flight: a poll started before it is cut at it, and
        # the poll at the deadline (bounded by the request's own limit) is the last one.
        last = time.time() >= watch.deadline
        try:
            with cut_at(None if last else watch.deadline):
                event = watch.observe(fetch())
        except DataframerError as exc:
            event = watch.observe_error(exc)
        if event is None and last:
            event = watch.check_deadline()
        if event:
            return event
        sleep(watch.sleep_seconds(poll_interval))


class DataframerWaitError(DataframerError):
    """
    A wait ended without success.

    :param event: the final event (its ``status`` says failed, timeout or error).
    """

    def __init__(self, event: WaitEvent) -> None:
        self.event = event
        super().__init__(event["message"])


def resolve_event(event: dict[str, Any]) -> StatusResource | None:
    """The final resource of a successful wait; raise :class:`DataframerWaitError` otherwise."""
    if event.get("status") != "success":
        raise DataframerWaitError(WaitEvent(**event))  # type: ignore[typeddict-item]
    kind = RESOURCE_KINDS[event["kind"]]
    return kind.model.model_validate(event["resource"]) if event.get("resource") else None
