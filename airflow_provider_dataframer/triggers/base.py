"""The deferrable wait shared by the spec and run triggers."""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataframer import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow_provider_dataframer.kinds import ResourceKind

WAITING_STACK = (
    "airflow_provider_dataframer.kinds",
    "airflow_provider_dataframer.waiting",
    "airflow_provider_dataframer.triggers.shared_client",
)
"""What a trigger needs to wait (the hook, the wire models, the SDK's types come with them)."""


def import_waiting_stack() -> None:
    """
    Import :data:`WAITING_STACK`; blocking, for a worker thread.

    The triggerer imports a trigger's module on its event loop, and the first import of the hook
    and the wire models costs tens of ms of CPU: so a trigger module imports only this light one,
    and the rest is imported off the loop when the first trigger runs (later calls return at once).
    """
    for module in WAITING_STACK:
        importlib.import_module(module)


def task_trigger_timeout(trigger: BaseTrigger) -> float | None:
    """
    The trigger timeout of the trigger's task (epoch seconds), or None.

    Airflow 3's triggerer sets it on the trigger (``timeout_after``); Airflow 2's trigger holds the
    task instance row itself (``trigger_timeout``).
    """
    when = getattr(trigger, "timeout_after", None) or getattr(trigger.task_instance, "trigger_timeout", None)
    if not isinstance(when, datetime):
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def canonical_id(resource_id: str) -> str:
    """
    ``resource_id`` in the form the API writes it (lower-case UUID, no spaces), as the hook's
    ``checked_id`` reads it; anything else as given, for the first poll to refuse with a clear error.

    So a waiter matches its object in a list answer as well as by id.
    """
    try:
        return str(uuid.UUID(str(resource_id).strip()))
    except (ValueError, AttributeError, TypeError):
        return resource_id


class DataframerStatusTrigger(BaseTrigger):
    """
    Poll a Dataframer object until it reaches a terminal status, then yield exactly one event.

    Subclasses only name what they wait for (``kind_name``, see :mod:`~airflow_provider_dataframer.kinds`)
    and the keyword of its id. :meth:`run` is
    the loop of :func:`~airflow_provider_dataframer.waiting.wait_async` ("observe, decide, sleep")
    over this trigger's own ``StatusWatch`` (its deadline, interval and error handling). The
    triggers of one connection in one triggerer share a pooled client, and for many specs or runs
    one list call per interval (:mod:`~airflow_provider_dataframer.triggers.shared_client`).

    :param resource_id: the id of the spec or run.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls (the first falls at a random point of the first
        interval, so that triggers started together do not poll together).
    :param deadline: absolute time (epoch seconds) at which the wait times out; kept as is through
        serialization so that a restarted triggerer does not extend it. Without one, the task's
        trigger timeout when it has one (a sensor started in the triggerer), else 24 hours.
    """

    kind_name: ClassVar[str]
    id_field: ClassVar[str]

    def __init__(
        self,
        resource_id: str,
        dataframer_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.resource_id = canonical_id(resource_id)
        self.dataframer_conn_id = dataframer_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else time.time() + 24 * 3600
        self._deadline_given = deadline is not None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                self.id_field: self.resource_id,
                "dataframer_conn_id": self.dataframer_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    @property
    def kind(self) -> ResourceKind:
        """What is waited for."""
        from airflow_provider_dataframer.kinds import RESOURCE_KINDS

        return RESOURCE_KINDS[self.kind_name]

    def rendered_id(self) -> str:
        """
        The id to wait for: the id attribute, which the triggerer renders for a task started there
        (a summary rendered as a native object gives its id).
        """
        value: Any = getattr(self, self.id_field, self.resource_id)
        if isinstance(value, Mapping):
            value = value.get(self.id_field)
        return str(value).strip() if value is not None else ""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.to_thread(import_waiting_stack)
        from airflow_provider_dataframer.triggers.shared_client import shared_client
        from airflow_provider_dataframer.waiting import StatusWatch, wait_async

        self.resource_id = canonical_id(self.rendered_id())
        if not self._deadline_given:
            self.deadline = task_trigger_timeout(self) or self.deadline
        watch = StatusWatch(self.kind, self.resource_id, self.deadline, self.log)
        try:
            async with shared_client(self.dataframer_conn_id) as client:
                with client.watching(self.kind, self.resource_id, self.poll_interval) as fetch:
                    event = await wait_async(fetch, watch, self.poll_interval)
        except Exception as exc:  # no such connection, no API key: an error event, not a crash
            failed = watch.observe_error(exc)
            if failed is None:
                raise
            event = failed
        yield TriggerEvent(dict(event))
