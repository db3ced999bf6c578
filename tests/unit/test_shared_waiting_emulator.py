"""Shared waiting over real HTTP: the emulator on loopback, the pooled client's real transport."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.triggers import shared_client
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger
from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger
from dataframer_emulator.server import EmulatorServer
from tests.conftest import connection_json


@pytest.fixture
def emulator_connection(
    dataframer_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> EmulatorServer:
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAFRAMER_DEFAULT",
        connection_json(dataframer_emulator.url, dataframer_emulator.api_key, retry_initial_backoff=0.01),
    )
    return dataframer_emulator


async def run_all(*triggers: DataframerStatusTrigger) -> list[dict[str, Any]]:
    async def one(trigger: DataframerStatusTrigger) -> dict[str, Any]:
        events = [event.payload async for event in trigger.run()]
        assert len(events) == 1
        return events[0]  # type: ignore[no-any-return]

    return await asyncio.gather(*(one(trigger) for trigger in triggers))


async def test_specs_and_runs_over_real_http_on_the_pooled_transport(
    emulator_connection: EmulatorServer, mocker: Any
) -> None:
    hook = DataframerHook()
    specs = hook.get_conn().dataframer.specs
    spec_ids = [specs.create(name=f"poller-{n}", generation_objectives="tickets").id for n in range(8)]
    failing = {"id": specs.create(name="poller [fail]", generation_objectives="x").id}
    aclose = mocker.spy(httpx.AsyncClient, "aclose")
    deadline = time.time() + 30
    triggers = [SpecStatusTrigger(spec_id=i, poll_interval=0.05, deadline=deadline) for i in spec_ids]
    triggers.append(SpecStatusTrigger(spec_id=failing["id"], poll_interval=0.05, deadline=deadline))
    task = asyncio.ensure_future(run_all(*triggers))
    for _ in range(200):
        if shared_client.open_clients():
            break
        await asyncio.sleep(0.01)
    [client] = shared_client.open_clients()
    transport = type(client.hook._async_client._client._transport).__name__  # type: ignore[union-attr]
    events = await task

    assert [e["status"] for e in events[:8]] == ["success"] * 8
    assert all(e["resource"]["status"] == "SUCCEEDED" for e in events[:8])
    assert events[8]["status"] == "failed" and events[8]["message"]
    assert transport == "AiohttpTransport", "the SDK's aiohttp client: the cheapest per request"
    assert aclose.call_count == 1 and client.closed and not shared_client.open_clients()

    # Generation runs from a finished spec: listed with their progress, finished with their files.
    runs = hook.get_conn().dataframer.runs
    run_ids = [runs.create(spec_id=spec_ids[0], number_of_samples=3).id for _ in range(4)]
    events = await run_all(
        *(RunStatusTrigger(run_id=i, poll_interval=0.05, deadline=time.time() + 30) for i in run_ids)
    )
    assert [e["status"] for e in events] == ["success"] * 4
    assert all(e["resource"]["generated_files"] for e in events)
    hook.close()


async def test_the_pooled_client_uses_the_aiohttp_transport_when_installed() -> None:
    pytest.importorskip("httpx_aiohttp")
    from httpx_aiohttp import AiohttpTransport

    hook = DataframerHook.for_triggerer(DataframerHook().settings)
    client = await hook.get_async_conn()
    transport = client._client._transport
    assert isinstance(transport, AiohttpTransport)
    assert transport.limits.max_connections == shared_client.MAX_IN_FLIGHT
    await hook.aclose()
