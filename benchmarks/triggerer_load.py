"""How much a waiting Dataframer task costs the triggerer, next to the generic HTTP sensor.

N concurrent waits x K polls run in one event loop (as in a triggerer) against a loopback server
in a child process. Each peer runs in its own fresh client process, so that its CPU time and peak
RSS are its own; the server counts requests and TCP connections per peer.

Peers:
  project-spec         SpecStatusTrigger built by CreateSpecOperator(deferrable=True) (shared client and list feed)
  project-spec-per-id  the same with the list endpoint disabled (per-id GETs on the shared client)
  project-run          RunStatusTrigger built by CreateRunOperator(deferrable=True), when present
  http-sensor          HttpSensorTrigger of apache-airflow-providers-http (404 until done)
  httpx                a bare shared httpx.AsyncClient (default transport), one loop per waiter
  httpx-aiohttp        the same with the httpx-aiohttp AiohttpTransport
  aiohttp              a bare shared aiohttp.ClientSession, one loop per waiter (the floor)

Modes:
  load    the peers above at N waiters x K polls (default)
  memory  peak RSS of --memory-triggers (5,000) waiting SpecStatusTriggers in one process
  import  time that importing the operator modules adds to a DAG file's parse
  list    client CPU of one list call by list size next to one GET (the list feed's threshold)
  all     every mode

Run:  python benchmarks/triggerer_load.py --mode all
      python benchmarks/triggerer_load.py --waiters 500 --polls 5 --interval 0.2 --peers project-spec,http-sensor
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

HERE = os.path.abspath(__file__)
ALL_PEERS = (
    "project-spec",
    "project-spec-per-id",
    "project-run",
    "http-sensor",
    "httpx",
    "httpx-aiohttp",
    "aiohttp",
)
DEFAULT_PEERS = (
    "project-spec",
    "project-spec-per-id",
    "project-run",
    "http-sensor",
    "httpx",
    "httpx-aiohttp",
)
REFERENCE_PEER = "http-sensor"
API_KEY = "bench-api-key-0123456789"


# --------------------------------------------------------------------------------------------
# The loopback server: a minimal HTTP/1.1 keep-alive server on asyncio, fast enough that the
# client is what is measured. A resource is PROCESSING for its first K-1 observations and
# SUCCEEDED from the K-th on; a list call observes every resource it lists.
# --------------------------------------------------------------------------------------------


class _State:
    def __init__(self) -> None:
        self.reset({})

    def reset(self, params: dict[str, str]) -> dict[str, Any]:
        self.polls = int(params.get("polls", 5))
        self.specs: dict[str, int] = {}
        self.runs: dict[str, int] = {}
        self.sensors: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.marked: dict[str, int] = {}
        self.stats: dict[str, int] = {
            "requests": 0,
            "connections": 0,
            "create": 0,
            "get_spec": 0,
            "list_specs": 0,
            "get_run": 0,
            "list_runs": 0,
            "sensor": 0,
        }
        done = 10**9
        for _ in range(int(params.get("finished_specs", 0))):  # other specs of the company
            self.specs[str(uuid.uuid4())] = done
        self.waiting = [str(uuid.uuid4()) for _ in range(int(params.get("waiting_specs", 0)))]
        for spec_id in self.waiting:
            self.specs[spec_id] = 0
        return {"waiting_specs": len(self.waiting)}

    def spec_body(self, spec_id: str, observed: int, full: bool) -> dict[str, Any]:
        done = observed >= self.polls
        body: dict[str, Any] = {
            "id": spec_id,
            "name": self.names.get(spec_id, f"spec-{spec_id[:8]}"),
            "status": "SUCCEEDED" if done else "PROCESSING",
            "dataset_id": "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11",
            "dataset_name": "support-tickets",
            "description": "benchmark spec",
            "created_at": "2026-01-05T10:00:00Z",
        }
        if full:
            body.update(
                {
                    "error": None,
                    "dataset_type": "SINGLE_FILE",
                    "content_yaml": "fields:\n  - name: subject\n" if done else None,
                    "runtime_params": {"spec_generation_model_name": "anthropic/claude-sonnet-4-6"},
                    "updated_at": "2026-01-05T10:05:00Z",
                    "created_by_email": "bench@example.com",
                }
            )
        return body

    def run_body(self, run_id: str, observed: int) -> dict[str, Any]:
        done = observed >= self.polls
        total = 100
        return {
            "id": run_id,
            "spec_id": "00000000-0000-0000-0000-000000000000",
            "status": "SUCCEEDED" if done else "PROCESSING",
            "number_of_samples": total,
            "samples_completed": total if done else min(total, observed * total // max(self.polls, 1)),
            "samples_failed": 0,
            "total_cost": 0.01 * observed,
            "completed_at": "2026-01-05T11:00:00Z" if done else None,
            "generated_files": [{"id": "f1", "path": "samples.jsonl", "file_type": "jsonl", "size_bytes": 1}]
            if done
            else [],
        }

    def handle(self, method: str, target: str, body: bytes) -> tuple[int, Any]:
        path, _, query = target.partition("?")
        if path.startswith("/_bench/"):
            params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            if path == "/_bench/reset":
                return 200, self.reset(params)
            if path == "/_bench/ids":
                return 200, self.waiting
            if path == "/_bench/mark":
                self.marked = dict(self.stats)
                return 200, {}
            return 200, {key: value - self.marked.get(key, 0) for key, value in self.stats.items()}
        self.stats["requests"] += 1
        parts = [part for part in path.split("/") if part]
        if parts[:2] == ["api", "dataframer"] and len(parts) >= 3:
            collection = parts[2]
            store = self.specs if collection == "specs" else self.runs if collection == "runs" else None
            if store is None:
                return 404, {"detail": "Not found."}
            if method == "POST" and len(parts) == 3:
                self.stats["create"] += 1
                new_id = str(uuid.uuid4())
                store[new_id] = 0
                if collection == "specs" and body:
                    self.names[new_id] = str(json.loads(body).get("name", ""))
                return 201, {"id": new_id}
            if method == "GET" and len(parts) == 3:
                self.stats["list_specs" if collection == "specs" else "list_runs"] += 1
                items = []
                for item_id in store:
                    store[item_id] += 1
                    if collection == "specs":
                        items.append(self.spec_body(item_id, store[item_id], full=False))
                    else:  # the runs list carries only what the docs promise for every list: id, status
                        items.append(
                            {"id": item_id, "status": self.run_body(item_id, store[item_id])["status"]}
                        )
                return 200, items
            if method == "GET" and len(parts) == 4:
                item_id = parts[3]
                if item_id not in store:
                    return 404, {"detail": "Not found."}
                store[item_id] += 1
                if collection == "specs":
                    self.stats["get_spec"] += 1
                    return 200, self.spec_body(item_id, store[item_id], full=True)
                self.stats["get_run"] += 1
                return 200, self.run_body(item_id, store[item_id])
        if parts[:1] == ["sensor"] and len(parts) == 2:  # HttpSensorTrigger: 404 until done
            self.stats["sensor"] += 1
            observed = self.sensors.get(parts[1], 0) + 1
            self.sensors[parts[1]] = observed
            if observed >= self.polls:
                return 200, {"status": "SUCCEEDED"}
            return 404, {"detail": "not yet"}
        return 404, {"detail": "Not found."}


_REASONS = {200: "OK", 201: "Created", 404: "Not Found"}


class _Connection(asyncio.Protocol):
    def __init__(self, state: _State) -> None:
        self.state = state
        self.buffer = b""
        self.counted = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            if not target.startswith("/_bench/") and not self.counted:
                self.counted = True
                self.state.stats["connections"] += 1
            status, payload = self.state.handle(method, target, body)
            content = json.dumps(payload).encode()
            close = headers.get("connection", "").lower() == "close"
            head = (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(content)}\r\n"
                f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
            )
            self.transport.write(head.encode() + content)
            if close:
                self.transport.close()
                self.transport = None


def serve() -> None:
    """Child process: serve on an ephemeral loopback port, print it, run until stdin closes."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        state = _State()
        server = await loop.create_server(lambda: _Connection(state), "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # the parent closes stdin to stop us
        server.close()

    asyncio.run(main())


def _control(url: str, path: str, **params: Any) -> Any:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    with urllib.request.urlopen(f"{url}/_bench/{path}?{query}", timeout=30) as response:
        return json.loads(response.read())


class Server:
    """The parent's handle on the server child."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, HERE, "--_serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, path: str, **params: Any) -> Any:
        return _control(self.url, path, **params)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# Client side: each measurement runs in a fresh process.
# --------------------------------------------------------------------------------------------


def _configure_client_env(url: str) -> None:
    os.environ.setdefault(
        "AIRFLOW_HOME", os.path.join(tempfile.gettempdir(), f"dataframer-bench-{os.getuid()}")
    )
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
    os.environ["AIRFLOW_CONN_DATAFRAMER_BENCH"] = json.dumps(
        {"conn_type": "dataframer", "host": url, "password": API_KEY}
    )
    os.environ["AIRFLOW_CONN_HTTP_BENCH"] = json.dumps({"conn_type": "http", "host": url})


def _warm_up(project: bool) -> None:
    """
    Pay before timing what a long-running triggerer paid once: every peer's HTTP stack is imported
    and its TLS CA bundle loaded (aiohttp, the sensor's, does both on import; the project's shared client
    imports the SDK with its first client).
    """
    import aiohttp  # noqa: F401
    import httpx  # noqa: F401

    with contextlib.suppress(ImportError):
        import httpx_aiohttp  # noqa: F401
    if project:
        import dataframer  # noqa: F401  (the project's pooled client imports the SDK once per process)


class _FakeTaskInstance:
    stats_tags: dict[str, str] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        pass


def _deferred_trigger(operator: Any) -> Any:
    """Run ``operator.execute`` (which creates the object on the server) and return its trigger."""
    from airflow.providers.common.compat.sdk import TaskDeferred

    ti = _FakeTaskInstance()
    try:
        operator.execute({"ti": ti, "task_instance": ti})
    except TaskDeferred as deferred:
        return deferred.trigger
    raise RuntimeError(f"{operator} did not defer")


async def _consume(trigger: Any) -> Any:
    events = [event.payload async for event in trigger.run()]
    if len(events) != 1:
        raise RuntimeError(f"a trigger yielded {len(events)} events")
    return events[0]


def _build_project_spec_triggers(n: int, interval: float) -> list[Any]:
    from airflow_provider_dataframer.operators.spec import CreateSpecOperator

    triggers = []
    for i in range(n):
        operator = CreateSpecOperator(
            task_id=f"create_spec_{i}",
            name=f"bench-spec-{i}",
            generation_objectives="support tickets",
            dataframer_conn_id="dataframer_bench",
            deferrable=True,
            poll_interval=interval,
            timeout=3600,
        )
        triggers.append(_deferred_trigger(operator))
    return triggers


def _build_project_run_triggers(n: int, interval: float) -> list[Any]:
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook, sdk_errors
    from airflow_provider_dataframer.operators.run import CreateRunOperator

    hook = DataframerHook("dataframer_bench")
    with sdk_errors():
        spec_id = hook.get_conn().dataframer.specs.create(name="bench-run-spec").id
    triggers = []
    for i in range(n):
        operator = CreateRunOperator(
            task_id=f"create_run_{i}",
            spec_id=spec_id,
            number_of_samples=100,
            dataframer_conn_id="dataframer_bench",
            deferrable=True,
            poll_interval=interval,
            timeout=3600,
        )
        triggers.append(_deferred_trigger(operator))
    return triggers


def _build_http_sensor_triggers(n: int, interval: float) -> list[Any]:
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    return [
        HttpSensorTrigger(
            endpoint=f"sensor/{uuid.uuid4()}", http_conn_id="http_bench", method="GET", poke_interval=interval
        )
        for _ in range(n)
    ]


async def _bare_waits(
    ids: list[str], interval: float, get: Callable[[str], Awaitable[dict[str, Any]]]
) -> list[Any]:
    """The straightforward poller: one loop per waiter, GET the spec, sleep, until it is done."""

    async def wait(spec_id: str) -> Any:
        while True:
            body = await get(f"/api/dataframer/specs/{spec_id}/")
            if body["status"] in ("SUCCEEDED", "FAILED"):
                return body
            await asyncio.sleep(interval)

    return await asyncio.gather(*(wait(spec_id) for spec_id in ids))


async def _run_bare_httpx(ids: list[str], interval: float, url: str, aiohttp_transport: bool) -> list[Any]:
    import httpx

    kwargs: dict[str, Any] = {}
    if aiohttp_transport:
        from httpx_aiohttp import AiohttpTransport

        kwargs["transport"] = AiohttpTransport()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    # A generous pool timeout: at 500 in flight httpx's own pool queues for many seconds.
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, **kwargs) as client:

        async def get(path: str) -> dict[str, Any]:
            response = await client.get(path)
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]

        return await _bare_waits(ids, interval, get)


async def _run_bare_aiohttp(ids: list[str], interval: float, url: str) -> list[Any]:
    import aiohttp

    async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {API_KEY}"}) as session:

        async def get(path: str) -> dict[str, Any]:
            async with session.get(path) as response:
                response.raise_for_status()
                return await response.json()  # type: ignore[no-any-return]

        return await _bare_waits(ids, interval, get)


def _rss_now_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_peer(peer: str, args: argparse.Namespace, ids: list[str]) -> dict[str, Any]:
    """Child process: build the peer's N waits (untimed), then time them in one event loop."""
    n, interval, url = args.waiters, args.interval, args._url
    _configure_client_env(url)
    _warm_up(project=peer.startswith("project"))
    if peer.startswith("project"):
        from airflow_provider_dataframer.triggers import list_feed

        list_feed.LIST_MIN_WAITERS = 10**9 if peer == "project-spec-per-id" else args.list_min_waiters
    triggers: list[Any] = []
    if peer.startswith("project-spec"):
        triggers = _build_project_spec_triggers(n, interval)
    elif peer == "project-run":
        triggers = _build_project_run_triggers(n, interval)
    elif peer == "http-sensor":
        triggers = _build_http_sensor_triggers(n, interval)

    async def main() -> list[Any]:
        if triggers:
            return await asyncio.gather(*(_consume(t) for t in triggers))
        if peer == "httpx":
            return await _run_bare_httpx(ids, interval, url, aiohttp_transport=False)
        if peer == "httpx-aiohttp":
            return await _run_bare_httpx(ids, interval, url, aiohttp_transport=True)
        if peer == "aiohttp":
            return await _run_bare_aiohttp(ids, interval, url)
        raise SystemExit(f"unknown peer {peer!r}")

    gc.collect()
    _control(url, "mark")  # what the setup sent (creates, their connections) is not the wait's
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):  # a developer's aid: BENCH_PROFILE=/tmp/peer.pstats
        import cProfile

        profiler = cProfile.Profile()
        results = profiler.runcall(asyncio.run, main())
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
    else:
        results = asyncio.run(main())
    cpu1, wall1 = time.process_time(), time.perf_counter()
    ok = sum(
        1
        for r in results
        if r is True or (isinstance(r, dict) and r.get("status") in ("success", "SUCCEEDED"))
    )
    return {"cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0, "ok": ok, "peak_rss_mb": _peak_rss_mb()}


def _spawn_child(args: list[str], timeout: float = 600) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, HERE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    tail = "\n".join(completed.stderr.splitlines()[-15:])
    return {"error": f"exit {completed.returncode}: {tail}"}


def _child_args(args: argparse.Namespace, server: Server, *extra: str) -> list[str]:
    return [
        *extra,
        "--waiters",
        str(args.waiters),
        "--polls",
        str(args.polls),
        "--interval",
        str(args.interval),
        "--list-min-waiters",
        str(args.list_min_waiters),
        "--memory-triggers",
        str(args.memory_triggers),
        "--memory-interval",
        str(args.memory_interval),
        "--_url",
        server.url,
    ]


def peer_available(peer: str) -> str | None:
    """None when the peer can run here, else why not."""
    modules = {
        "project-run": "airflow_provider_dataframer.operators.run",
        "httpx-aiohttp": "httpx_aiohttp",
        "http-sensor": "airflow.providers.http.triggers.http",
    }
    if peer not in ALL_PEERS:
        return "unknown peer"
    if peer in modules:
        try:
            importlib.import_module(modules[peer])
        except ImportError as exc:
            return f"cannot import {modules[peer]} ({exc}); pip install '.[benchmark]'"
    return None


def mode_load(args: argparse.Namespace, server: Server) -> None:
    n, k, interval = args.waiters, args.polls, args.interval
    peers = [peer.strip() for peer in args.peers.split(",") if peer.strip()]
    print(f"\n== load: {n} waits x {k} polls, poll interval {interval} s, each peer in one event loop ==")
    print(f"   the unpaged list also returns {args.list_size} finished specs of other teams")
    rows: dict[str, dict[str, Any]] = {}
    for peer in peers:
        why = peer_available(peer)
        if why:
            print(f"   {peer}: skipped, {why}")
            continue
        bare = peer in ("httpx", "httpx-aiohttp", "aiohttp")
        server.control("reset", polls=k, finished_specs=args.list_size, waiting_specs=n if bare else 0)
        result = _spawn_child(_child_args(args, server, "--_peer", peer))
        if "error" not in result:
            result.update(server.control("stats"))
        rows[peer] = result
    print(
        f"   {'peer':<21}{'CPU ms/step':>12}{'x sensor':>9}{'wall s':>8}{'req/waiter':>11}"
        f"{'req/interval':>13}{'TCP conns':>10}{'peak RSS MB':>12}{'ok':>6}"
    )
    reference = rows.get(REFERENCE_PEER, {}).get("cpu_s")
    for peer, row in rows.items():
        if "error" in row:
            print(f"   {peer:<21}failed: {row['error']}")
            continue
        per_step = row["cpu_s"] * 1000 / (n * k)
        ratio = f"{row['cpu_s'] / reference:.3f}" if reference else "-"
        print(
            f"   {peer:<21}{per_step:>12.3f}{ratio:>9}{row['wall_s']:>8.2f}{row['requests'] / n:>11.2f}"
            f"{row['requests'] / k:>13.1f}{row['connections']:>10}{row['peak_rss_mb']:>12.0f}{row['ok']:>6}"
        )
    for peer, row in rows.items():
        if peer.startswith("project") and "error" not in row:
            lists = row["list_specs"] + row["list_runs"]
            gets = row["get_spec"] + row["get_run"]
            print(
                f"   {peer}: {lists} list calls ({lists / k:.1f} per interval) and {gets} GETs by id "
                f"({gets / n:.1f} per waiter)"
            )
    if reference:
        print("   targets at N=500, K=5: project / http-sensor CPU per wait step <= 0.33 (aim 0.1)")
        for peer in ("project-spec", "project-run"):
            if peer in rows and "error" not in rows[peer]:
                ratio = rows[peer]["cpu_s"] / reference
                verdict = "met" if ratio <= 0.33 else "NOT met"
                print(f"   {peer} / {REFERENCE_PEER}: {ratio:.3f} ({verdict})")
    print("   targets: at most 1 request per waiter per interval; O(1) requests per interval once coalesced")
    for peer in ("project-spec", "project-run"):
        row = rows.get(peer)
        if row and "error" not in row:
            per_waiter = row["requests"] / (n * k)
            lists = (row["list_specs"] + row["list_runs"]) / k
            print(
                f"   {peer}: {per_waiter:.2f} requests per waiter per interval "
                f"({'met' if per_waiter <= 1 else 'NOT met'}); {lists:.1f} list calls per interval for {n} "
                f"waiters ({'met' if lists <= 2 else 'NOT met'})"
            )


def run_memory(args: argparse.Namespace, ids: list[str], per_id: bool) -> dict[str, Any]:
    """
    Child process: N SpecStatusTriggers waiting at once, as a triggerer deserializes them.

    RSS is read after a garbage collection, like the baseline, once every trigger has made its
    first observation and then waited two intervals more: what is measured is N triggers each
    holding what it keeps between polls (at an interval the client keeps up with, so that no
    request queue is counted as the triggers' memory).
    """
    _configure_client_env(args._url)
    _warm_up(project=True)
    from airflow_provider_dataframer import waiting
    from airflow_provider_dataframer.kinds import SPEC
    from airflow_provider_dataframer.triggers import list_feed, shared_client
    from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger

    if per_id:
        list_feed.LIST_MIN_WAITERS = 10**9

    # Readiness, true in both modes: every trigger has observed its spec once. The table is made
    # before the baseline, so that counting adds nothing to what is measured.
    first_seen = dict.fromkeys(ids, False)
    ready = [0]
    observe = waiting.StatusWatch.observe

    def counting_observe(watch: Any, resource: Any) -> Any:
        if not first_seen[watch.resource_id]:
            first_seen[watch.resource_id] = True
            ready[0] += 1
        return observe(watch, resource)

    waiting.StatusWatch.observe = counting_observe  # type: ignore[method-assign]
    gc.collect()
    baseline = _rss_now_mb()
    deadline = time.time() + 3600
    triggers = [
        SpecStatusTrigger(
            spec_id=spec_id,
            dataframer_conn_id="dataframer_bench",
            poll_interval=args.memory_interval,
            deadline=deadline,
        )
        for spec_id in ids
    ]

    async def main() -> dict[str, Any]:
        started = time.perf_counter()
        tasks = [asyncio.ensure_future(_consume(t)) for t in triggers]
        while ready[0] < len(ids):
            await asyncio.sleep(0.05)
        all_seen_s = time.perf_counter() - started
        _control(args._url, "mark")
        intervals = 2
        await asyncio.sleep(intervals * args.memory_interval)
        stats = _control(args._url, "stats")
        gc.collect()
        rss = _rss_now_mb()
        listing = any(feed.listing for client in shared_client.open_clients() if (feed := client.feed(SPEC)))
        started = time.perf_counter()
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "rss_mb": rss,
            "all_seen_s": all_seen_s,
            "cancel_s": time.perf_counter() - started,
            "not_cancelled": sum(not isinstance(o, asyncio.CancelledError) for o in outcomes),
            "clients_left": len(shared_client.open_clients()),
            "requests_per_interval": stats["requests"] / intervals,
            "listing": listing,
        }

    result = asyncio.run(main())
    result.update(baseline_mb=baseline, peak_rss_mb=_peak_rss_mb())
    return result


MEMORY_PER_TRIGGER_KB = 8.4
"""Issue 11's Keep: memory per waiting trigger at or below what it was (RSS after gc, over the baseline)."""


def mode_memory(args: argparse.Namespace, server: Server) -> None:
    n = args.memory_triggers
    print(
        f"\n== memory: {n} SpecStatusTriggers waiting in one process, poll interval {args.memory_interval} s =="
    )
    for label, flag in (
        ("shared client (list)", "--_memory"),
        ("shared client (per-id)", "--_memory-per-id"),
    ):
        server.control("reset", polls=10**9, waiting_specs=n)
        result = _spawn_child(_child_args(args, server, flag))
        if "error" in result:
            print(f"   {label}: failed: {result['error']}")
            continue
        per_trigger = (result["rss_mb"] - result["baseline_mb"]) * 1024 / n
        verdict = "met" if result["peak_rss_mb"] < 300 else "NOT met"
        kept = "met" if per_trigger <= MEMORY_PER_TRIGGER_KB else "NOT met"
        print(
            f"   {label:<24} peak RSS {result['peak_rss_mb']:.0f} MB (target < 300 MB: {verdict}); "
            f"{result['baseline_mb']:.0f} MB before the triggers, {per_trigger:.1f} KB per waiting trigger "
            f"(target <= {MEMORY_PER_TRIGGER_KB} KB: {kept}); "
            f"{result['requests_per_interval']:.1f} requests per interval; all observed after "
            f"{result['all_seen_s']:.1f} s; cancelled in {result['cancel_s']:.2f} s "
            f"({result['not_cancelled']} did not stop), {result['clients_left']} client left"
        )


_IMPORT_PROBE = """
import json, sys, time
try:
    from airflow.sdk import DAG, BaseOperator  # what a DAG file imports anyway (Airflow 3)
except ImportError:
    from airflow import DAG  # Airflow 2
    from airflow.models import BaseOperator
import importlib
started, cpu_started = time.perf_counter(), time.process_time()
loaded = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        loaded.append(name)
    except ImportError:
        pass
ms = (time.perf_counter() - started) * 1000
heavy = [m for m in ("aiohttp", "httpx_aiohttp", "fastapi", "uvicorn") if m in sys.modules]
cpu_ms = (time.process_time() - cpu_started) * 1000
print(json.dumps({"ms": ms, "cpu_ms": cpu_ms, "loaded": loaded, "heavy": heavy}))
"""

OPERATOR_MODULES = (
    "airflow_provider_dataframer.operators.spec",
    "airflow_provider_dataframer.operators.run",
    "airflow_provider_dataframer.operators.dataset",
    "airflow_provider_dataframer.sensors.spec",
    "airflow_provider_dataframer.sensors.run",
)


def _import_probe_runs(runs: int, env: dict[str, str]) -> list[dict[str, Any]]:
    results = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE, *OPERATOR_MODULES],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    return results


def mode_import(args: argparse.Namespace) -> None:
    """
    Time the operator modules' import in fresh processes, with bytecode and without.

    The provider's modules are compiled first (``compileall``, which writes ``.pyc`` files even
    under ``PYTHONDONTWRITEBYTECODE=1``), so the verdict measures what a deployment pays: an
    installed wheel is compiled at install time. The run without any bytecode (an empty
    ``PYTHONPYCACHEPREFIX``, nothing written) shows the cost of a checkout whose ``.pyc`` files
    cannot be written; it compiles every module it loads, Airflow's lazily loaded ones included.
    """
    import compileall

    import airflow_provider_dataframer

    print("\n== import: what importing the operator modules adds to a DAG file's parse ==")
    package_dir = os.path.dirname(airflow_provider_dataframer.__file__)
    compiled = compileall.compile_dir(package_dir, quiet=1)
    print(f"   compiled {package_dir} first ({'ok' if compiled else 'FAILED'})")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPYCACHEPREFIX"}
    runs = _import_probe_runs(args.import_runs, env)
    times = sorted(run["ms"] for run in runs)
    median = statistics.median(times)
    cpu_median = statistics.median(run["cpu_ms"] for run in runs)
    verdict = "met" if median <= 50 else "NOT met"
    print(
        f"   modules: {', '.join(m.rsplit('.', 2)[-2] + '.' + m.rsplit('.', 1)[-1] for m in runs[0]['loaded'])}"
    )
    print(
        f"   with bytecode: median {median:.1f} ms (CPU {cpu_median:.1f} ms), min {times[0]:.1f} ms over "
        f"{len(times)} fresh processes, after airflow's own DAG/BaseOperator import (target <= 50 ms: {verdict})"
    )
    with tempfile.TemporaryDirectory(prefix="no-bytecode-") as empty_cache:
        cold_env = {**env, "PYTHONPYCACHEPREFIX": empty_cache, "PYTHONDONTWRITEBYTECODE": "1"}
        cold = sorted(run["ms"] for run in _import_probe_runs(max(1, args.import_runs // 2), cold_env))
    print(
        f"   without bytecode (every module compiled from source, nothing cached): median "
        f"{statistics.median(cold):.1f} ms over {len(cold)} processes (not the target's measure)"
    )
    print(f"   heavy modules loaded by them: {runs[0]['heavy'] or 'none'}")


def run_list_costs(args: argparse.Namespace) -> dict[str, Any]:
    """Child process: client CPU of one list call by list size, next to one GET by id."""
    _configure_client_env(args._url)
    _warm_up(project=True)
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook
    from airflow_provider_dataframer.kinds import SPEC

    sizes = [int(size) for size in args.list_sizes.split(",")]
    settings = DataframerHook("dataframer_bench").settings

    async def main() -> dict[str, Any]:
        hook = DataframerHook.for_triggerer(settings)
        costs: dict[str, float] = {}
        _control(args._url, "reset", polls=10**9, waiting_specs=10)
        wanted = set(_control(args._url, "ids"))
        spec_id = next(iter(wanted))
        for _ in range(20):
            await hook.aget_status(SPEC, spec_id, retries=False)
        started = time.process_time()
        repeats = 500
        for _ in range(repeats):
            await hook.aget_status(SPEC, spec_id, retries=False)
        costs["get"] = (time.process_time() - started) * 1000 / repeats
        for size in sizes:
            _control(args._url, "reset", polls=10**9, waiting_specs=10, finished_specs=size)
            wanted = set(_control(args._url, "ids"))
            repeats = max(3, min(200, 200_000 // (size + 10)))
            started = time.process_time()
            for _ in range(repeats):
                body = await hook.alist_statuses(SPEC, retries=False)
                items = {item["id"]: item for item in body if item.get("id") in wanted}
                [SPEC.model.model_validate(item) for item in items.values()]
            costs[str(size)] = (time.process_time() - started) * 1000 / repeats
        await hook.aclose()
        return costs

    return asyncio.run(main())


def mode_list(args: argparse.Namespace, server: Server) -> None:
    print("\n== list: client CPU of one unpaged list call by its size, next to one GET by id ==")
    result = _spawn_child(_child_args(args, server, "--_list-costs", "--list-sizes", args.list_sizes))
    if "error" in result:
        print(f"   failed: {result['error']}")
        return
    get = result.pop("get")
    print(f"   one GET by id: {get:.3f} ms")
    sizes = sorted(int(size) for size in result)
    for size in sizes:
        print(
            f"   list of {size + 10:>6} specs: {result[str(size)]:.3f} ms = {result[str(size)] / get:.1f} GETs"
        )
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        per_item = (result[str(big)] - result[str(small)]) / (big - small)
        print(
            f"   marginal cost {per_item * 1000:.2f} us per listed spec: one GET is worth "
            f"{get / per_item:.0f} listed specs (list_feed.LIST_ITEMS_PER_GET)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", default="load", choices=("load", "memory", "import", "list", "all"))
    parser.add_argument("--waiters", "-n", type=int, default=500, help="concurrent waits (N)")
    parser.add_argument("--polls", "-k", type=int, default=5, help="polls until each wait ends (K)")
    parser.add_argument("--interval", type=float, default=0.2, help="poll interval in seconds")
    parser.add_argument(
        "--peers", default=",".join(DEFAULT_PEERS), help=f"comma-separated, of {', '.join(ALL_PEERS)}"
    )
    parser.add_argument("--list-size", type=int, default=0, help="finished specs of other teams in the list")
    parser.add_argument("--list-min-waiters", type=int, default=4, help="the project peers' list threshold")
    parser.add_argument("--memory-triggers", type=int, default=5000)
    parser.add_argument(
        "--memory-interval",
        type=float,
        default=20.0,
        help="poll interval of the memory mode: long enough for 5,000 per-id polls on a loaded 2-core machine",
    )
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--list-sizes", default="0,1000,10000,50000")
    parser.add_argument("--_serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_peer", help=argparse.SUPPRESS)
    parser.add_argument("--_memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_memory-per-id", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_list-costs", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    ids: list[str] = _control(args._url, "ids") if args._url else []
    if args._serve:
        serve()
        return
    if args._peer:
        print(json.dumps(run_peer(args._peer, args, ids)))
        return
    if args._memory or args._memory_per_id:
        print(json.dumps(run_memory(args, ids, per_id=args._memory_per_id)))
        return
    if args._list_costs:
        print(json.dumps(run_list_costs(args)))
        return
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; client CPU = the client process's CPU time"
    )
    server = Server()
    try:
        if args.mode in ("load", "all"):
            mode_load(args, server)
        if args.mode in ("memory", "all"):
            mode_memory(args, server)
        if args.mode in ("list", "all"):
            mode_list(args, server)
        if args.mode in ("import", "all"):
            mode_import(args)
    finally:
        server.close()


if __name__ == "__main__":
    main()
