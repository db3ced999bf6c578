"""The deferrable wait shared by the spec and run triggers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import ResourceKind
from airflow_provider_dataframer.waiting import StatusWatch, wait_async


class DataframerStatusTrigger(BaseTrigger):
    """
    Poll a Dataframer object until it reaches a terminal status, then yield exactly one event.

    Subclasses only name what they wait for (``kind``) and the keyword of its id. :meth:`run` is
    the loop of :func:`~airflow_provider_dataframer.waiting.wait_async` ("observe, decide, sleep")
    over this trigger's own ``StatusWatch`` (its deadline, interval and error handling). The
    triggers of one connection in one triggerer share a pooled client, and for many specs or runs
    one list call per interval (:mod:`~airflow_provider_dataframer.triggers.shared_client`).

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
        # Only the triggerer needs the shared client: DAG files that import operators skip it.
        from airflow_provider_dataframer.triggers.shared_client import shared_client

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
