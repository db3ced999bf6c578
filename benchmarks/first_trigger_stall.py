"""How long the first Dataframer trigger of a fresh triggerer blocks its event loop.

A triggerer runs every deferred task in one event loop: while one callback runs, no other trigger
moves. The first Dataframer trigger of a process pays once for what later ones reuse (importing
the SDK and its aiohttp transport, building the pooled client and its TLS context). This measures
the longest time the loop could not run anything while that first trigger started and waited for
a spec, in a fresh process against the loopback server of ``triggerer_load.py``:

* a heartbeat task sleeps 1 ms at a time and records how late each wake-up comes (the stall);
* asyncio's debug mode names every callback slower than ``--slow`` seconds.

What a running triggerer has loaded before any trigger starts (Airflow, its trigger base class,
its trigger runner module) is imported before the loop starts; the trigger's own module is imported inside the loop, as the
triggerer does. Each repetition is a fresh process.

Run:  PYTHONPATH=$PWD python benchmarks/first_trigger_stall.py [--repeat 5] [--slow 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.abspath(__file__)
LOAD = os.path.join(os.path.dirname(HERE), "triggerer_load.py")


def _load_module() -> Any:
    spec = importlib.util.spec_from_file_location("triggerer_load", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _SlowCallbacks(logging.Handler):
    """Collects asyncio debug mode's "Executing <Handle ...> took 0.123 seconds" records."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "took" in message and "seconds" in message:
            # The head names the callback, the tail says how long it took.
            self.found.append(message if len(message) <= 400 else f"{message[:300]} ... {message[-60:]}")


class _GcPauses:
    """
    The longest garbage collection while the first trigger starts (a ``gc.callbacks`` entry).

    A collection stops every thread; a full one walks every object of the process, so it can
    stall the loop longer than any callback (the imports of the first trigger allocate enough to
    bring one on).
    """

    def __init__(self) -> None:
        self.longest = 0.0
        self.tracked = len(gc.get_objects())
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)


def measure(url: str, slow: float) -> dict[str, Any]:
    """Child process: one fresh triggerer-like process, one trigger; the loop's longest stall."""
    load = _load_module()
    load._configure_client_env(url)
    import airflow.providers.common.compat.sdk
    import airflow.triggers.base

    # The triggerer's own runner module, which a triggerer has loaded before any trigger starts;
    # it brings airflow.sdk.execution_time.supervisor, which Airflow 3's aget_connection imports
    # lazily (28 ms when a bare process pays it on the loop, a cost no triggerer pays).
    with contextlib.suppress(ImportError):
        import airflow.jobs.triggerer_job_runner  # noqa: F401

    created = json.loads(
        load.urllib.request.urlopen(
            load.urllib.request.Request(
                f"{url}/api/dataframer/specs/",
                data=b'{"name": "stall"}',
                headers={"Authorization": f"Bearer {load.API_KEY}", "Content-Type": "application/json"},
                method="POST",
            ),
            timeout=30,
        ).read()
    )
    spec_id = created["id"]
    preloaded = sorted(m for m in ("dataframer", "aiohttp", "httpx_aiohttp") if m in sys.modules)
    handler = _SlowCallbacks()
    logging.getLogger("asyncio").addHandler(handler)
    logging.getLogger("asyncio").setLevel(logging.WARNING)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = slow
        stalls: list[float] = []
        done = asyncio.Event()

        async def heartbeat() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.001)
                stalls.append(time.perf_counter() - before - 0.001)

        beat = asyncio.ensure_future(heartbeat())
        await asyncio.sleep(0.05)  # the heartbeat runs before the trigger arrives
        started = time.perf_counter()
        module = importlib.import_module("airflow_provider_dataframer.triggers.spec")
        trigger = module.SpecStatusTrigger(
            spec_id=spec_id,
            dataframer_conn_id="dataframer_bench",
            poll_interval=0.2,
            deadline=time.time() + 60,
        )
        events = [event.payload async for event in trigger.run()]
        elapsed = time.perf_counter() - started
        done.set()
        await beat
        return {
            "status": events[0]["status"] if events else None,
            "max_stall_s": round(max(stalls), 4),
            "stalls_over_50ms": sum(1 for s in stalls if s > 0.05),
            "wall_s": round(elapsed, 3),
        }

    pauses = _GcPauses()
    gc.callbacks.append(pauses)
    try:
        result = asyncio.run(main(), debug=True)
    finally:
        gc.callbacks.remove(pauses)
    result["slow_callbacks"] = handler.found
    result["longest_gc_s"] = round(pauses.longest, 4)
    result["tracked_objects"] = pauses.tracked
    result["preloaded"] = preloaded
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes to measure")
    parser.add_argument("--slow", type=float, default=0.05, help="asyncio slow_callback_duration (s)")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        print(json.dumps(measure(args._child, args.slow)), flush=True)
        return
    # What a deployment runs is compiled at install time (a wheel's modules are byte-compiled);
    # compiling a module from source holds the GIL for the whole module, which would stall the
    # loop while the waiting stack is imported in a worker thread.
    import compileall

    import airflow_provider_dataframer

    compileall.compile_dir(os.path.dirname(airflow_provider_dataframer.__file__), quiet=1)
    load = _load_module()
    server = load.Server()
    try:
        load._control(server.url, "reset", polls=2)
        results = []
        for _ in range(args.repeat):
            completed = subprocess.run(
                [sys.executable, HERE, "--_child", server.url, "--slow", str(args.slow)],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
            if not lines:
                raise SystemExit(f"child failed: {completed.stderr[-2000:]}")
            results.append(json.loads(lines[-1]))
    finally:
        server.close()
    stalls = [r["max_stall_s"] for r in results]
    for r in results:
        print(
            f"status={r['status']} max stall {r['max_stall_s'] * 1000:.0f} ms, "
            f"{r['stalls_over_50ms']} over 50 ms, first event after {r['wall_s']:.2f} s; "
            f"longest garbage collection {r['longest_gc_s'] * 1000:.0f} ms "
            f"({r['tracked_objects']:,} objects tracked before the trigger)"
        )
        for line in r["slow_callbacks"]:
            print(f"    slow callback: {line}")
    print(
        f"longest event-loop stall of the first trigger: median {statistics.median(stalls) * 1000:.0f} ms, "
        f"max {max(stalls) * 1000:.0f} ms over {len(stalls)} fresh processes"
    )


if __name__ == "__main__":
    main()
