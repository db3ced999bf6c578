"""Triggers of one connection share a pooled client and list calls; each keeps its own outcome."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import itertools
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import RUN, SPEC, ResourceKind
from airflow_provider_dataframer.triggers import list_feed, shared_client
from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger
from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger
from airflow_provider_dataframer.waiting import StatusWatch, wait_async
from tests.conftest import TEST_API_KEY, TEST_BASE_URL, connection_json

INTERVAL = 0.02
OTHER_BASE_URL = "http://other-deployment.test"
OTHER_API_KEY = "df-other-key-0c9d1e7a22"


_NAMES: dict[str, str] = {}


def uid(name: str) -> str:
    """The UUID that stands for the test object called ``name`` (ids go into URL paths: UUIDs only)."""
    try:
        return str(uuid.UUID(name))
    except ValueError:
        resource_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        _NAMES[resource_id] = name
        return resource_id


def name_of(resource_id: str) -> str:
    """The test name of an id made by :func:`uid`."""
    return _NAMES.get(resource_id, resource_id)


class FakeDataframer:
    """
    The Dataframer API, scripted: each spec or run shows ``script[n]`` at its n-th observation
    (the last entry repeats). A GET by id and a list call each count as one observation.
    """

    def __init__(self, base_url: str = TEST_BASE_URL, api_key: str = TEST_API_KEY) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.scripts: dict[str, dict[str, list[str]]] = {"specs": {}, "runs": {}}
        self.observed: Counter[str] = Counter()
        self.calls: list[tuple[float, str, str]] = []  # (loop time, "get"/"list", id or collection)
        self.failing_lists = 0  # answer HTTP 500 to this many list calls
        self.extra_listed = 0  # finished specs of other teams, listed too

    def add(self, collection: str, name: str, *script: str) -> str:
        """Script the object called ``name`` (its id is ``uid(name)``, a UUID); return the name."""
        self.scripts[collection][uid(name)] = list(script)
        return name

    def mount(self, router: respx.MockRouter) -> None:
        base = re.escape(self.base_url)
        router.get(url__regex=rf"^{base}/api/dataframer/(specs|runs)/$").mock(side_effect=self._list)
        router.get(url__regex=rf"^{base}/api/dataframer/(specs|runs)/([^/?]+)/$").mock(side_effect=self._get)

    def gets(self, resource_id: str | None = None) -> list[float]:
        wanted = name_of(resource_id) if resource_id else None
        return [t for t, what, i in self.calls if what == "get" and wanted in (None, i)]

    def lists(self) -> list[float]:
        return [t for t, what, _ in self.calls if what == "list"]

    def _authorized(self, request: httpx.Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.api_key}"

    def _status(self, collection: str, resource_id: str) -> str:
        script = self.scripts[collection][resource_id]
        seen = self.observed[resource_id]
        self.observed[resource_id] += 1
        return script[min(seen, len(script) - 1)]

    def _body(self, collection: str, resource_id: str, status: str, full: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"id": resource_id, "status": status}
        if collection == "runs":
            body.update(samples_completed=self.observed[resource_id], samples_failed=0, total_cost=0.5)
            if full:
                body["number_of_samples"] = 10
                if status == "SUCCEEDED":
                    body["generated_files"] = [{"id": "f1", "path": "data.jsonl"}]
        else:
            body["name"] = f"spec-{resource_id}"
            if full and status == "SUCCEEDED":
                body["description"] = "read whole"
                body["content_yaml"] = "fields: []"
        if full and status == "FAILED":
            body["error"] = f"{name_of(resource_id)}: no usable rows"
        return body

    def _list(self, request: httpx.Request) -> httpx.Response:
        collection = request.url.path.split("/")[3]
        self.calls.append((asyncio.get_running_loop().time(), "list", collection))
        if not self._authorized(request):
            return httpx.Response(401, json={"detail": "Invalid API key."})
        if self.failing_lists:
            self.failing_lists -= 1
            return httpx.Response(500, json={"detail": "list is down"})
        items = [
            self._body(collection, i, self._status(collection, i), full=False)
            for i in self.scripts[collection]
        ]
        items += [{"id": f"other-{n}", "status": "SUCCEEDED"} for n in range(self.extra_listed)]
        return httpx.Response(200, json=items)

    def _get(self, request: httpx.Request) -> httpx.Response:
        collection, resource_id = request.url.path.split("/")[3:5]
        self.calls.append((asyncio.get_running_loop().time(), "get", name_of(resource_id)))
        if not self._authorized(request):
            return httpx.Response(401, json={"detail": "Invalid API key."})
        if resource_id not in self.scripts[collection]:
            return httpx.Response(404, json={"detail": "Not found."})
        status = self._status(collection, resource_id)
        return httpx.Response(200, json=self._body(collection, resource_id, status, full=True))


@pytest.fixture
def api() -> Iterator[FakeDataframer]:
    fake = FakeDataframer()
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        yield fake


@pytest.fixture(autouse=True)
def _no_leftover_clients() -> Iterator[None]:
    yield
    for loop, shared in list(shared_client._BY_LOOP.items()):
        if not loop.is_closed():
            assert not shared.clients, "a shared client outlived its waiters"


def spec_trigger(spec_id: str, **kwargs: Any) -> SpecStatusTrigger:
    kwargs.setdefault("poll_interval", INTERVAL)
    kwargs.setdefault("deadline", time.time() + 30)
    return SpecStatusTrigger(spec_id=uid(spec_id), **kwargs)


async def until_clients(count: int) -> list[shared_client.SharedClient]:
    """The running loop's shared clients once there are ``count`` (the first lookup is slow)."""
    for _ in range(2000):  # up to 10 s: connection lookups are slow on a loaded CI machine
        if len(shared_client.open_clients()) >= count:
            break
        await asyncio.sleep(0.005)
    return shared_client.open_clients()


async def run_all(*triggers: DataframerStatusTrigger) -> list[dict[str, Any]]:
    async def one(trigger: DataframerStatusTrigger) -> dict[str, Any]:
        events = [event.payload async for event in trigger.run()]
        assert len(events) == 1, "a trigger yields exactly one event"
        return {**events[0], "id": name_of(events[0]["id"])}

    return await asyncio.gather(*(one(trigger) for trigger in triggers))


async def test_many_spec_waiters_share_one_list_call_per_interval(api: FakeDataframer) -> None:
    """50 specs finishing at different polls: O(1) list calls per interval, no GET for a success."""
    ids = [api.add("specs", f"s{n}", *(["PROCESSING"] * (1 + n % 5)), "SUCCEEDED") for n in range(50)]
    events = await run_all(*(spec_trigger(i) for i in ids))

    assert [e["status"] for e in events] == ["success"] * 50, events[0]["message"]
    assert [e["id"] for e in events] == ids
    assert all(e["resource"]["status"] == "SUCCEEDED" for e in events)
    assert all("content_yaml" not in e["resource"] for e in events), "the YAML is not stored in the event"
    # A spec the list shows SUCCEEDED is done (a spec wait returns its id): no GET by id, but for
    # the first waiters, which may read before enough others have joined for the list to serve.
    assert len(api.gets()) < list_feed.LIST_MIN_WAITERS
    assert 5 <= len(api.lists()) <= 9, "about one list call per interval until the slowest spec is done"
    assert not shared_client.open_clients(), "the client closed when its last waiter left"


async def test_ids_written_otherwise_match_the_listed_ids(api: FakeDataframer) -> None:
    """An upper-case id, or one with spaces around it, is the listed spec: no GET by id for it."""
    ids = [api.add("specs", f"written-{n}", "PROCESSING", "SUCCEEDED") for n in range(6)]
    written = [f"  {uid(i).upper()} " if n % 2 else uid(i).upper() for n, i in enumerate(ids)]
    triggers = [
        SpecStatusTrigger(spec_id=w, poll_interval=INTERVAL, deadline=time.time() + 30) for w in written
    ]
    assert [t.serialize()[1]["spec_id"] for t in triggers] == [uid(i) for i in ids]

    events = await run_all(*triggers)

    assert [e["status"] for e in events] == ["success"] * 6
    assert [e["id"] for e in events] == ids
    assert len(api.gets()) < list_feed.LIST_MIN_WAITERS, "the list's ids matched the waiters' ids"


async def test_mixed_outcomes_keep_each_triggers_own_semantics(api: FakeDataframer) -> None:
    api.add("specs", "ok", "PROCESSING", "SUCCEEDED")
    api.add("specs", "legacy", "PROCESSING", "READY")
    api.add("specs", "bad", "PROCESSING", "PROCESSING", "FAILED")
    api.add("specs", "odd", "QUEUED_FOR_GPU", "SUCCEEDED")  # unknown status: waited through
    for n in range(6):
        api.add("specs", f"slow{n}", "PROCESSING")
    triggers = [spec_trigger(i) for i in ("ok", "legacy", "bad", "odd", "gone")]
    triggers += [spec_trigger(f"slow{n}", deadline=time.time() + 0.3) for n in range(6)]
    events = {e["id"]: e for e in await run_all(*triggers)}

    assert events["ok"]["status"] == "success"
    assert events["legacy"]["status"] == "success"
    assert events["bad"]["status"] == "failed"
    assert "bad: no usable rows" in events["bad"]["message"], "the failure carries the server's error"
    assert events["odd"]["status"] == "success"
    assert events["gone"]["status"] == "error"
    assert "no longer exists" in events["gone"]["message"], "not listed, then 404 by id"
    assert {events[f"slow{n}"]["status"] for n in range(6)} == {"timeout"}
    assert "last status PROCESSING" in events["slow0"]["message"]


async def test_timeout_comes_after_one_last_poll(api: FakeDataframer) -> None:
    """A spec that finished before the deadline but after the last poll is a success, not a timeout."""
    api.add("specs", "late", "SUCCEEDED")
    started = time.time()
    # The first poll of a 60 s interval falls somewhere in the first minute: the deadline comes first.
    [event] = await run_all(spec_trigger("late", poll_interval=60, deadline=started + 0.1))
    assert event["status"] == "success"
    assert time.time() - started < 2


async def test_deadlines_are_each_triggers_own(api: FakeDataframer) -> None:
    for n in range(10):
        api.add("specs", f"s{n}", "PROCESSING")
    now = time.time()
    triggers = [spec_trigger(f"s{n}", deadline=now + 0.05 * (n + 1)) for n in range(10)]
    ended: dict[str, float] = {}

    async def one(trigger: SpecStatusTrigger) -> None:
        async for event in trigger.run():
            ended[name_of(event.payload["id"])] = time.time()
            assert event.payload["status"] == "timeout"

    await asyncio.gather(*(one(t) for t in triggers))
    for n in range(10):
        assert now + 0.05 * (n + 1) <= ended[f"s{n}"] < now + 0.05 * (n + 1) + 0.5


async def test_cancelled_triggers_unregister_and_the_last_one_closes_the_client(
    api: FakeDataframer, mocker: Any
) -> None:
    for n in range(8):
        api.add("specs", f"s{n}", "PROCESSING")
    aclose = mocker.spy(httpx.AsyncClient, "aclose")
    tasks = [asyncio.ensure_future(run_all(spec_trigger(f"s{n}"))) for n in range(8)]
    [client] = await until_clients(1)
    await asyncio.sleep(0.05)
    feed = client.feed(SPEC)
    assert feed is not None and feed.waiters == 8 and feed.listing

    for task in tasks[:5]:
        task.cancel()
    await asyncio.gather(*tasks[:5], return_exceptions=True)
    assert feed.waiters == 3
    assert not client.closed and aclose.call_count == 0
    lists_before = len(api.lists())
    await asyncio.sleep(0.1)
    assert len(api.lists()) > lists_before, "the others are still polled"

    for task in tasks[5:]:
        task.cancel()
    await asyncio.gather(*tasks[5:], return_exceptions=True)
    assert client.closed and aclose.call_count == 1
    assert not shared_client.open_clients()
    calls = len(api.calls)
    await asyncio.sleep(0.1)
    assert len(api.calls) == calls, "nothing is polled once every trigger is gone"


async def test_a_failing_list_call_falls_back_to_per_id_gets(
    api: FakeDataframer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(list_feed, "LIST_RETRY_AFTER", 0.15)
    api.failing_lists = 10**6  # the list endpoint is down for good
    ids = [api.add("specs", f"s{n}", *(["PROCESSING"] * 8), "SUCCEEDED") for n in range(6)]
    events = await run_all(*(spec_trigger(i, poll_interval=0.04) for i in ids))

    assert [e["status"] for e in events] == ["success"] * 6, "per-id GETs took over"
    assert len(api.gets()) >= 6 * 8
    lists = api.lists()
    calls = [lists[0]] + [b for a, b in itertools.pairwise(lists) if b - a > 0.1]
    assert len(calls) >= 2, "the list is tried again after LIST_RETRY_AFTER"
    assert len(lists) <= 3 * len(calls), "and not in between"


async def test_a_list_that_is_not_a_list_falls_back_too() -> None:
    api = FakeDataframer()  # not the fixture: its router would answer the list before this one
    with respx.mock(assert_all_called=False) as router:
        paged = router.get(f"{TEST_BASE_URL}/api/dataframer/specs/").respond(
            json={"results": [], "next": "?page=2"}
        )
        api.mount(router)  # later routes do not override the first
        ids = [api.add("specs", f"s{n}", "PROCESSING", "SUCCEEDED") for n in range(5)]
        events = await run_all(*(spec_trigger(i) for i in ids))
    assert [e["status"] for e in events] == ["success"] * 5
    assert paged.call_count == 1, "one list call, then per-id GETs"
    assert len(api.gets()) >= 5


async def test_few_waiters_are_read_by_id_at_most_once_per_interval(api: FakeDataframer) -> None:
    interval = 0.05
    few = list_feed.LIST_MIN_WAITERS - 1
    for n in range(few):
        api.add("specs", f"s{n}", "PROCESSING", "PROCESSING", "PROCESSING", "SUCCEEDED")
    events = await run_all(*(spec_trigger(f"s{n}", poll_interval=interval) for n in range(few)))
    assert [e["status"] for e in events] == ["success"] * few
    assert not api.lists()
    for n in range(few):
        times = api.gets(f"s{n}")
        assert len(times) == 4
        assert min(b - a for a, b in itertools.pairwise(times)) >= interval * 0.95


async def test_first_polls_of_triggers_started_together_are_spread(
    api: FakeDataframer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-id (here: runs below a raised threshold), 200 triggers started at once do not stampede."""
    monkeypatch.setattr(list_feed, "LIST_MIN_WAITERS", 10**6)
    ids = [api.add("runs", f"r{n}", "PROCESSING") for n in range(200)]
    triggers = [RunStatusTrigger(run_id=uid(i), poll_interval=10, deadline=time.time() + 30) for i in ids]
    task = asyncio.ensure_future(run_all(*triggers))
    await asyncio.sleep(0.5)
    polled = len(api.gets())
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert polled < 40, f"{polled} of 200 polled in the first 5 % of the interval (expected about 10)"
    assert not api.lists()


async def test_the_list_threshold_grows_with_the_size_of_the_unpaged_list(
    api: FakeDataframer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(list_feed, "LIST_ITEMS_PER_GET", 100)
    api.extra_listed = 2000  # the company has 2,000 specs: the list costs about 20 GETs
    ids = [api.add("specs", f"s{n}", *(["PROCESSING"] * 6), "SUCCEEDED") for n in range(6)]
    events = await run_all(*(spec_trigger(i) for i in ids))
    assert [e["status"] for e in events] == ["success"] * 6
    assert len(api.lists()) == 1, "one list showed 2,006 specs: 6 waiters are then cheaper by id"
    assert len(api.gets()) >= 6 * 5


async def test_runs_are_listed_with_their_progress_and_read_whole_at_the_end(api: FakeDataframer) -> None:
    ids = [api.add("runs", f"r{n}", "PENDING", "PROCESSING", "SUCCEEDED") for n in range(10)]
    api.add("runs", "canceled", "PROCESSING", "CANCELED")
    triggers = [
        RunStatusTrigger(run_id=uid(i), poll_interval=INTERVAL, deadline=time.time() + 30) for i in ids
    ]
    triggers.append(
        RunStatusTrigger(run_id=uid("canceled"), poll_interval=INTERVAL, deadline=time.time() + 30)
    )
    events = {e["id"]: e for e in await run_all(*triggers)}
    assert all(events[i]["status"] == "success" for i in ids)
    assert all(events[i]["resource"]["generated_files"][0]["path"] == "data.jsonl" for i in ids)
    assert events["canceled"]["status"] == "failed"
    assert api.lists() and len(api.gets()) == 11


async def test_two_connections_two_clients_each_with_its_own_account(
    api: FakeDataframer, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = FakeDataframer(OTHER_BASE_URL, OTHER_API_KEY)
    fast = {"retry_initial_backoff": 0.01, "retry_max_backoff": 0.05}  # as the default connection
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAFRAMER_OTHER", connection_json(OTHER_BASE_URL, OTHER_API_KEY, **fast)
    )
    created: list[shared_client.SharedClient] = []
    make_client = shared_client.SharedClient.__init__

    def record(client: shared_client.SharedClient, *args: Any, **kwargs: Any) -> None:
        make_client(client, *args, **kwargs)
        created.append(client)

    monkeypatch.setattr(shared_client.SharedClient, "__init__", record)
    # A second id of the default account: same settings, so the same client as the default.
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_ALIAS", connection_json(**fast))
    # The default deployment with a revoked key: a client of its own, whose calls carry that key.
    revoked = connection_json(password="df-revoked-key-99aa01", **fast)
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_REVOKED", revoked)
    with respx.mock(assert_all_called=False) as router:
        api.mount(router)
        other.mount(router)
        for n in range(6):
            api.add("specs", f"a{n}", *(["PROCESSING"] * 8), "SUCCEEDED")
            other.add("specs", f"b{n}", *(["PROCESSING"] * 8), "FAILED")
        triggers = [spec_trigger(f"a{n}", dataframer_conn_id="dataframer_default") for n in range(3)]
        triggers += [spec_trigger(f"a{n}", dataframer_conn_id="dataframer_alias") for n in range(3, 6)]
        triggers += [spec_trigger(f"b{n}", dataframer_conn_id="dataframer_other") for n in range(6)]
        triggers.append(spec_trigger("a0", dataframer_conn_id="dataframer_revoked"))
        events = await run_all(*triggers)
    # Every client made, counted as it is made: the revoked key's client may be gone already.
    urls = sorted(client.settings.base_url for client in created)
    assert urls == [TEST_BASE_URL, TEST_BASE_URL, OTHER_BASE_URL]
    assert [e["status"] for e in events[:6]] == ["success"] * 6
    assert [e["status"] for e in events[6:12]] == ["failed"] * 6
    assert events[12]["status"] == "error" and "HTTP 401" in events[12]["message"]
    assert all(id_.startswith("a") for _, _, id_ in api.calls if id_ != "specs")
    assert all(id_.startswith("b") for _, _, id_ in other.calls if id_ != "specs")


def test_a_new_event_loop_gets_new_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """A restarted triggerer (or the next test) runs a new loop: nothing of the old one is reused."""
    seen: list[int] = []

    async def wait_some(fake: FakeDataframer, prefix: str) -> list[str]:
        ids = [fake.add("specs", f"{prefix}{n}", *(["PROCESSING"] * 3), "SUCCEEDED") for n in range(5)]
        task = asyncio.ensure_future(run_all(*(spec_trigger(i) for i in ids)))
        seen.extend(id(c) for c in await until_clients(1))
        return [e["status"] for e in await task]

    for prefix in ("first", "second"):
        fake = FakeDataframer()
        with respx.mock(assert_all_called=False) as router:
            fake.mount(router)
            assert asyncio.run(wait_some(fake, prefix)) == ["success"] * 5
    assert len(seen) == 2 and seen[0] != seen[1]
    live = [loop for loop in shared_client._BY_LOOP if not loop.is_closed()]
    assert not live, "what closed loops shared is dropped"


async def test_a_trigger_cancelled_in_one_loop_leaves_nothing_for_the_next(api: FakeDataframer) -> None:
    api.add("specs", "s", "PROCESSING")
    task = asyncio.ensure_future(run_all(spec_trigger("s")))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not shared_client.open_clients()


async def test_observations_are_logged_in_each_triggers_own_context(api: FakeDataframer) -> None:
    """The triggerer routes a log line to a task's log by context variables: keep each one's."""
    current: contextvars.ContextVar[str] = contextvars.ContextVar("current", default="none")
    lines: dict[str, list[tuple[str, str]]] = defaultdict(list)

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def info(self, msg: str, *args: Any) -> None:
            lines[self.name].append((current.get(), msg % args))

        warning = info

    async def wait(spec_id: str) -> dict[str, Any]:
        current.set(spec_id)
        watch = StatusWatch(SPEC, uid(spec_id), time.time() + 30, Recorder(spec_id))
        async with shared_client.shared_client("dataframer_default") as client:
            with client.watching(SPEC, uid(spec_id), INTERVAL) as fetch:
                return dict(await wait_async(fetch, watch, INTERVAL))

    ids = [api.add("specs", f"s{n}", "PROCESSING", "PROCESSING", "SUCCEEDED") for n in range(8)]
    events = await asyncio.gather(*(wait(i) for i in ids))
    assert [e["status"] for e in events] == ["success"] * 8
    for spec_id in ids:
        contexts = {ctx for ctx, _ in lines[spec_id]}
        assert contexts == {spec_id}, f"{spec_id} logged from {contexts}"
        assert [text.split(" is ")[-1] for _, text in lines[spec_id]] == ["PROCESSING", "SUCCEEDED"]


async def test_triggers_started_together_read_their_connection_once(api: FakeDataframer, mocker: Any) -> None:
    lookups = mocker.spy(DataframerHook, "aget_settings")
    ids = [api.add("specs", f"s{n}", "SUCCEEDED") for n in range(20)]
    events = await run_all(*(spec_trigger(i) for i in ids))
    assert [e["status"] for e in events] == ["success"] * 20
    assert lookups.call_count == 1


async def test_a_connection_without_api_key_is_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(password=None))
    [event] = await run_all(spec_trigger("s"))
    assert event["status"] == "error"
    assert "No Dataframer API key" in event["message"]


@pytest.mark.parametrize("kind", [SPEC, RUN], ids=["specs", "runs"])
def test_the_sdk_list_items_carry_what_the_list_feed_reads(kind: ResourceKind) -> None:
    """The official SDK (generated from the API's OpenAPI spec) is the contract for list items."""
    from dataframer.types.dataframer.run_list_response import RunListResponseItem
    from dataframer.types.dataframer.spec_list_response import SpecListResponseItem

    item = SpecListResponseItem if kind is SPEC else RunListResponseItem
    fields = set(item.model_fields)
    assert {"id", "status"} <= fields
    if kind is RUN:
        assert {"samples_completed", "samples_failed", "total_cost"} <= fields, "a run's progress"
    assert "error" not in fields, "failures are read by id for their message"


async def test_transport_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The triggerer's pooled SDK client runs on aiohttp, unless a proxy applies or httpx is asked for."""
    pytest.importorskip("httpx_aiohttp")
    from httpx_aiohttp import AiohttpTransport

    from airflow_provider_dataframer.hooks import dataframer as hook_module

    settings = DataframerHook().settings
    public = dataclasses.replace(settings, base_url="https://df-api.dataframer.ai")

    async def transport_of() -> object:
        hook = DataframerHook.for_triggerer(public)
        client = await hook.get_async_conn()
        assert hook._async_client_one_attempt is not None
        assert hook._async_client_one_attempt.max_retries == 0, "a poll is one attempt"
        transport = client._client._transport
        await hook.aclose()
        return transport

    assert isinstance(await transport_of(), AiohttpTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert hook_module.proxy_applies("https://df-api.dataframer.ai")
    assert not isinstance(await transport_of(), AiohttpTransport), "httpx honours proxies"
    monkeypatch.setenv("NO_PROXY", "df-api.dataframer.ai")
    assert not hook_module.proxy_applies("https://df-api.dataframer.ai")
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv(hook_module.TRANSPORT_ENV_VAR, "httpx")
    assert not isinstance(await transport_of(), AiohttpTransport)


async def test_a_throttled_poll_is_not_retried_inside_and_the_deadline_holds() -> None:
    """A 429 asking for 2 s: the next poll waits for it, but the deadline still ends the wait on time."""
    with respx.mock(assert_all_called=False) as router:
        throttled = router.get(f"{TEST_BASE_URL}/api/dataframer/specs/{uid('slow')}/").respond(
            429, headers={"Retry-After": "2"}, json={"detail": "Too many requests."}
        )
        started = time.time()
        [event] = await run_all(spec_trigger("slow", poll_interval=0.02, deadline=started + 1.0))
    assert event["status"] == "timeout"
    assert time.time() - started < 2.0, "the 2 s Retry-After is cut short by the deadline"
    # The first poll, then the last one at the deadline: Retry-After kept the 0.02 s interval off.
    assert throttled.call_count == 2


async def test_a_throttled_list_stays_a_list_and_waits_as_asked() -> None:
    api = FakeDataframer()
    ids = [api.add("specs", f"s{n}", "PROCESSING") for n in range(5)]
    with respx.mock(assert_all_called=False) as router:
        listed = router.get(f"{TEST_BASE_URL}/api/dataframer/specs/").respond(
            429, headers={"Retry-After": "0.3"}, json={"detail": "Too many requests."}
        )
        api.mount(router)
        task = asyncio.ensure_future(run_all(*(spec_trigger(i) for i in ids)))
        [client] = await until_clients(1)
        await asyncio.sleep(1.0)
        feed = client.feed(SPEC)
        assert feed is not None and feed.listing, "throttling is no reason to send one GET per spec"
        calls = listed.call_count
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert 2 <= calls <= 5, f"{calls} list calls in 1 s at a 0.02 s interval with Retry-After 0.3 s"
    assert not api.gets()


async def test_the_last_waiter_of_a_list_is_read_by_id(api: FakeDataframer) -> None:
    api.add("specs", "quick1", "PROCESSING", "SUCCEEDED")
    api.add("specs", "quick2", "PROCESSING", "SUCCEEDED")
    api.add("specs", "slow", *(["PROCESSING"] * 12), "SUCCEEDED")
    events = await run_all(*(spec_trigger(i) for i in ("quick1", "quick2", "slow")))
    assert [e["status"] for e in events] == ["success"] * 3
    assert len(api.lists()) <= 4, "one list call per interval only while it serves several waiters"
    assert len(api.gets("slow")) >= 8, "alone, the slow spec is read by id"


async def test_a_missing_connection_is_an_error_event() -> None:
    [event] = await run_all(spec_trigger("s", dataframer_conn_id="no_such_connection"))
    assert event["status"] == "error"
    assert "no_such_connection" in event["message"]
