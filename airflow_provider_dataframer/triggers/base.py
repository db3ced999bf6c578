"""The deferrable wait shared by the spec and run triggers."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.models import ResourceKind
from airflow_provider_dataframer.waiting import StatusWatch


class DataframerStatusTrigger(BaseTrigger):
    """
    Poll a Dataframer object until it reaches a terminal status, then yield exactly one event.

    Subclasses only name what they wait for (``kind``) and the keyword of its id. The triggers of
    one connection in one triggerer share one status poller (:mod:`airflow_provider_dataframer.polling`):
    one pooled client, and for many specs one list call per interval instead of one GET each. Each
    trigger keeps its own deadline, poll interval and error handling (its own ``StatusWatch``).

    :param resource_id: the id of the spec or run.
    :param dataframer_conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls (the first falls at a random point of the first
        interval, so that triggers started together do not poll together).
    :param deadline: absolute time (epoch seconds) at which the wait times out; kept as is through
        serialization so that a restarted triggerer does not extend it.
    """

    kind: ClassVar[ResourceKind]
    id_field: ClassVar[str]

    def __init__(
        self,
        resource_id: str,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        poll_interval: float = 30.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.resource_id = resource_id
        self.dataframer_conn_id = dataframer_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else time.time() + 24 * 3600

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

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Only the triggerer needs the poller: DAG files that import the operators do not load it.
        # Its first import (with aiohttp: 0.25-0.35 s on a loaded 2-core host) runs in a worker
        # thread, so that the triggerer's event loop, shared with every other trigger, never stalls.
        polling = await asyncio.to_thread(load_poller)
        watch = StatusWatch(self.kind, self.resource_id, self.deadline, self.log)
        event = await polling.wait_for_status(
            self.kind, self.resource_id, self.dataframer_conn_id, self.poll_interval, watch
        )
        yield TriggerEvent(dict(event))


POLLER_MODULE = "airflow_provider_dataframer.polling"
HTTP_STACK_MODULES = ("aiohttp", "httpx_aiohttp")
"""The triggerer's HTTP stack, imported with the poller when installed (both are optional)."""


def load_poller() -> ModuleType:
    """
    Import the status poller and the HTTP stack it builds its client on; blocking, for a thread.

    Later calls find the modules already imported and return at once.
    """
    for name in HTTP_STACK_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    polling = importlib.import_module(POLLER_MODULE)
    # The poller's process-wide TLS context (loading the CA bundle: up to 0.3 s on a loaded host).
    shared_ssl_context = getattr(polling, "shared_ssl_context", None)
    if callable(shared_ssl_context):
        shared_ssl_context()
    return polling
