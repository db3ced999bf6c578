"""
The triggers' one-time set-up stays off the triggerer's event loop.

A triggerer runs every deferred task of a deployment in one event loop; Airflow warns when it is
blocked for over 0.2 s. The first Dataframer trigger of a triggerer used to import the poller and
aiohttp on the loop (0.25-0.35 s measured with py-spy in the scale-out deployment test). This runs
a trigger in a fresh interpreter, where nothing is imported yet, and records which thread imports
each heavy module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import TEST_BASE_URL

ROOT = Path(__file__).resolve().parents[2]
SPEC_ID = "5d0c6f0e-2a8f-4c55-8f7e-0b9f6a1c3e72"

SCRIPT = textwrap.dedent(
    f"""
    import asyncio, json, sys, threading, time

    WATCHED = ("aiohttp", "httpx_aiohttp", "airflow_provider_dataframer.polling")
    imported_on = {{}}

    class RecordImportingThread:
        def find_spec(self, name, path=None, target=None):
            if name in WATCHED and name not in imported_on:
                imported_on[name] = threading.get_ident()
            return None  # the next finder imports it

    sys.meta_path.insert(0, RecordImportingThread())

    import respx
    respx.mocks.DEFAULT_MOCKER = "httpx"
    from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger

    loaded_with_trigger_module = sorted(imported_on)

    async def main():
        url = "{TEST_BASE_URL}/api/dataframer/specs/{SPEC_ID}/"
        with respx.mock:
            respx.get(url).respond(200, json={{"id": "{SPEC_ID}", "status": "SUCCEEDED"}})
            trigger = SpecStatusTrigger(spec_id="{SPEC_ID}", poll_interval=0.01, deadline=time.time() + 60)
            events = [event.payload async for event in trigger.run()]
        return threading.get_ident(), events

    loop_thread, events = asyncio.run(main())
    print(json.dumps({{
        "loop_thread": loop_thread,
        "imported_on": imported_on,
        "loaded_with_trigger_module": loaded_with_trigger_module,
        "events": events,
    }}))
    """
)


def test_first_trigger_imports_the_poller_and_aiohttp_off_the_event_loop() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert [event["status"] for event in result["events"]] == ["success"]
    assert result["loaded_with_trigger_module"] == [], (
        "importing the trigger module (which Airflow does on the triggerer's loop) must not load "
        "the poller or aiohttp"
    )
    imported_on = result["imported_on"]
    assert "airflow_provider_dataframer.polling" in imported_on
    on_loop = sorted(name for name, thread in imported_on.items() if thread == result["loop_thread"])
    assert on_loop == [], f"imported on the event loop's thread: {on_loop}"
