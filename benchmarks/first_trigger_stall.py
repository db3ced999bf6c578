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

For context, each repetition also measures the same way the first stock ``HttpSensorTrigger``
(apache-airflow-providers-http) of a fresh process, asking for the same spec; both print every
full (generation 2) garbage collection and how long it took. One more fresh process measures how
many new long-lived objects, after the same preloads, set off a full collection: when a trigger's
first start keeps more than that, it pays the collection, whatever it is.

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
    Every garbage collection while the first trigger starts (a ``gc.callbacks`` entry).

    A collection stops every thread; a full (generation 2) one walks every object of the process,
    so it can stall the loop longer than any callback (the allocations of the first trigger's
    imports can bring one on).
    """

    def __init__(self) -> None:
        self.longest = 0.0
        self.full: list[float] = []
        self.tracked = len(gc.get_objects())
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        self.longest = max(self.longest, took)
        if info["generation"] == 2:
            self.full.append(round(took, 4))


def _preload(url: str) -> Any:
    """What a running triggerer has loaded before any trigger starts; the benchmark's helpers."""
    load = _load_module()
    load._configure_client_env(url)
    import airflow.providers.common.compat.sdk
    import airflow.triggers.base

    # The triggerer's own runner module, which a triggerer has loaded before any trigger starts;
    # it brings airflow.sdk.execution_time.supervisor, which Airflow 3's aget_connection imports
    # lazily (28 ms when a bare process pays it on the loop, a cost no triggerer pays).
    with contextlib.suppress(ImportError):
        import airflow.jobs.triggerer_job_runner  # noqa: F401
    return load


def measure_headroom(url: str) -> dict[str, Any]:
    """
    Child process: after the same preloads, how many new long-lived objects set off a full collection.

    CPython (before 3.14) collects generation 2 once the objects that survived into it since the
    last full collection pass a quarter of those it held then; a fresh process after its imports is
    a fixed distance from that point, and whatever allocates next pays the collection.
    """
    _preload(url)
    full: list[float] = []
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                full.append(time.perf_counter() - started[0])

    kept: list[dict[str, int]] = []
    gc.callbacks.append(on_gc)
    try:
        while not full and len(kept) < 1_000_000:
            kept.append({})
    finally:
        gc.callbacks.remove(on_gc)
    return {"objects_to_full_gc": len(kept), "full_gc_s": [round(took, 4) for took in full]}


def measure(url: str, slow: float, trigger_name: str) -> dict[str, Any]:
    """Child process: one fresh triggerer-like process, one trigger; the loop's longest stall."""
    load = _preload(url)
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
        trigger = _first_trigger(trigger_name, spec_id, load.API_KEY)
        events = [event.payload async for event in trigger.run()]
        elapsed = time.perf_counter() - started
        done.set()
        await beat
        return {
            "status": _status(events[0]) if events else None,
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
    result["full_gc_s"] = pauses.full
    result["objects_added"] = len(gc.get_objects()) - pauses.tracked
    result["tracked_objects"] = pauses.tracked
    result["preloaded"] = preloaded
    result["trigger"] = trigger_name
    return result


TRIGGERS = ("dataframer", "http")
"""What the children start: the first ``SpecStatusTrigger``, or for comparison the first stock
``HttpSensorTrigger`` (apache-airflow-providers-http) asking for the same spec with aiohttp."""


def _first_trigger(name: str, spec_id: str, api_key: str) -> Any:
    """The trigger ``name``, its module imported on the loop as the triggerer imports it."""
    if name == "dataframer":
        module = importlib.import_module("airflow_provider_dataframer.triggers.spec")
        return module.SpecStatusTrigger(
            spec_id=spec_id,
            dataframer_conn_id="dataframer_bench",
            poll_interval=0.2,
            deadline=time.time() + 60,
        )
    module = importlib.import_module("airflow.providers.http.triggers.http")
    return module.HttpSensorTrigger(
        endpoint=f"api/dataframer/specs/{spec_id}/",
        http_conn_id="http_bench",
        headers={"Authorization": f"Bearer {api_key}"},
        poke_interval=0.2,
    )


def _status(payload: Any) -> str:
    """The event's status (the HTTP sensor's event is a bare True)."""
    return str(payload["status"]) if isinstance(payload, dict) else f"http:{payload}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes to measure")
    parser.add_argument("--slow", type=float, default=0.05, help="asyncio slow_callback_duration (s)")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_trigger", choices=TRIGGERS, default="dataframer", help=argparse.SUPPRESS)
    parser.add_argument("--_headroom", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child and args._headroom:
        print(json.dumps(measure_headroom(args._child)), flush=True)
        return
    if args._child:
        print(json.dumps(measure(args._child, args.slow, args._trigger)), flush=True)
        return
    # What a deployment runs is compiled at install time (a wheel's modules are byte-compiled);
    # compiling a module from source holds the GIL for the whole module, which would stall the
    # loop while the waiting stack is imported in a worker thread.
    import compileall

    import airflow_provider_dataframer

    compileall.compile_dir(os.path.dirname(airflow_provider_dataframer.__file__), quiet=1)
    load = _load_module()
    server = load.Server()
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in TRIGGERS}
    try:
        load._control(server.url, "reset", polls=2)
        for _ in range(args.repeat):
            for name in TRIGGERS:  # interleaved, so that a busy spell of the machine hits both
                results[name].append(_child(server.url, args.slow, name))
        headroom = _child(server.url, args.slow, "dataframer", headroom=True)
    finally:
        server.close()
    for name in TRIGGERS:
        print(f"first {name} trigger of a fresh process:")
        for r in results[name]:
            full = ", ".join(f"{took * 1000:.0f}" for took in r["full_gc_s"]) or "none"
            print(
                f"  status={r['status']} max stall {r['max_stall_s'] * 1000:.0f} ms, "
                f"{r['stalls_over_50ms']} over 50 ms, first event after {r['wall_s']:.2f} s; "
                f"{len(r['full_gc_s'])} full garbage collection(s) ({full} ms), longest of any "
                f"generation {r['longest_gc_s'] * 1000:.0f} ms "
                f"({r['tracked_objects']:,} objects tracked before the trigger, "
                f"{r['objects_added']:+,} after its first event)"
            )
            for line in r["slow_callbacks"]:
                print(f"    slow callback: {line}")
    for name in TRIGGERS:
        stalls = [r["max_stall_s"] for r in results[name]]
        full_runs = sum(1 for r in results[name] if r["full_gc_s"])
        print(
            f"longest event-loop stall of the first {name} trigger: median "
            f"{statistics.median(stalls) * 1000:.0f} ms, max {max(stalls) * 1000:.0f} ms over "
            f"{len(stalls)} fresh processes; a full garbage collection in {full_runs} of them"
        )
    took = ", ".join(f"{t * 1000:.0f} ms" for t in headroom["full_gc_s"])
    added = {name: statistics.median(r["objects_added"] for r in results[name]) for name in TRIGGERS}
    print(
        f"after the same preloads a fresh process is {headroom['objects_to_full_gc']:,} new long-lived "
        f"objects away from a full garbage collection ({took}); the first trigger leaves "
        + ", ".join(f"{added[name]:+,.0f} ({name})" for name in TRIGGERS)
        + " objects tracked: whichever trigger starts first pays that collection"
    )


def _child(url: str, slow: float, trigger_name: str, *, headroom: bool = False) -> dict[str, Any]:
    command = [sys.executable, HERE, "--_child", url, "--slow", str(slow), "--_trigger", trigger_name]
    completed = subprocess.run(
        [*command, "--_headroom"] if headroom else command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"child failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


if __name__ == "__main__":
    main()
