"""The pooled Dataframer client that the triggers of one connection share in one triggerer.

A triggerer runs every deferred task of a deployment in one event loop. Each trigger could build
its own SDK client, but a client costs memory, connections and a TLS context, and the first one
of a process costs an import of the SDK and its transport (a few hundred ms of CPU). So, per
running event loop and per *resolved* connection (base URL, API key, timeouts, retry policy,
headers: two connection ids of one account share, different accounts never do), the triggers
share one :class:`SharedClient`:

* its hook (:meth:`~airflow_provider_dataframer.hooks.dataframer.DataframerHook.for_triggerer`),
  whose pooled client is built in a worker thread, never on the event loop;
* at most ``MAX_IN_FLIGHT`` requests at once;
* one :class:`~airflow_provider_dataframer.triggers.list_feed.ListFeed` per kind, which answers
  many waiters of specs (or runs) with one list call per interval.

A connection id is looked up once for the triggers that start together, and the answer reused
for ``SETTINGS_TTL`` seconds (a changed API key reaches triggers started after that). The last
trigger of a shared client to leave closes it; a new event loop (a restarted triggerer, a test)
starts afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from airflow_provider_dataframer.hooks.dataframer import POOL_SIZE, ConnectionSettings, DataframerHook
from airflow_provider_dataframer.kinds import RUN, ResourceKind
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.triggers.list_feed import FeedReader, ListFeed
from airflow_provider_dataframer.triggers.shared_call import SharedCall

MAX_IN_FLIGHT = POOL_SIZE
"""Requests the triggers of one shared client have in flight at once (its connection pool's size)."""

SETTINGS_TTL = 60.0
"""Seconds for which a connection id's resolved settings are reused by newly started triggers."""

Fetch = Callable[[], Awaitable[StatusResource]]


class SharedClient:
    """
    One pooled client of one connection in one event loop, and the list feeds built on it.

    Obtain it with :func:`shared_client`; it is closed when its last user leaves.

    :param settings: the resolved connection settings.
    :param hook: the hook holding the pooled client (``DataframerHook.for_triggerer``).
    """

    def __init__(self, settings: ConnectionSettings, hook: DataframerHook) -> None:
        self.settings = settings
        self.hook = hook
        self.users = 0
        self.closed = False
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._feeds: dict[str, ListFeed] = {}
        self._runs: SharedCall[list[Any]] | None = None

    def __repr__(self) -> str:
        return f"SharedClient({self.settings.base_url}, users={self.users}, closed={self.closed})"

    def feed(self, kind: ResourceKind) -> ListFeed | None:
        """The list feed of ``kind`` (None for kinds whose list does not carry the status)."""
        if not ListFeed.serves(kind):
            return None
        feed = self._feeds.get(kind.name)
        if feed is None:
            feed = self._feeds[kind.name] = ListFeed(kind, self._list, self.settings.base_url)
        return feed

    def runs(self) -> SharedCall[list[Any]]:
        """
        The whole run list (raw items), shared by the run watchers of this client
        (:class:`~airflow_provider_dataframer.triggers.run_finished.RunFinishedTrigger`): several
        watchers, still one list call per interval.
        """
        if self._runs is None:
            self._runs = SharedCall(lambda: self.list_statuses(RUN))
        return self._runs

    def watching(self, kind: ResourceKind, resource_id: str, interval: float) -> ByIdReader | FeedReader:
        """
        How one waiter reads ``resource_id``: through the list feed when it serves, else by id.

        A context manager (the waiter counts for the feed while inside) and the waiter's ``fetch``.
        """
        by_id = ByIdReader(self, kind, resource_id)
        feed = self.feed(kind)
        return by_id if feed is None else feed.reader(resource_id, by_id, interval)

    async def get_status(self, kind: ResourceKind, resource_id: str) -> StatusResource:
        """One poll of one object: one attempt, within the client's request slots."""
        async with self._slots:
            return await self.hook.aget_status(kind, resource_id, retries=False)

    async def list_statuses(self, kind: ResourceKind) -> list[Any]:
        """One list call of ``kind`` (one attempt, raw items), within the client's request slots."""
        return await self._list(kind)

    async def aclose(self) -> None:
        """Cancel the list calls in flight and close the pooled client."""
        for feed in self._feeds.values():
            feed.close()
        if self._runs is not None:
            self._runs.close()
        await self.hook.aclose()

    async def _list(self, kind: ResourceKind) -> list[Any]:
        async with self._slots:
            return await self.hook.alist_statuses(kind, retries=False)


class ByIdReader:
    """A waiter's fetch that reads its object by id (small: one per waiting trigger)."""

    __slots__ = ("client", "kind", "resource_id")

    def __init__(self, client: SharedClient, kind: ResourceKind, resource_id: str) -> None:
        self.client = client
        self.kind = kind
        self.resource_id = resource_id

    def __enter__(self) -> ByIdReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    async def __call__(self) -> StatusResource:
        return await self.client.get_status(self.kind, self.resource_id)


class _LoopShared:
    """What the triggers of one event loop share: clients by connection, settings by id."""

    def __init__(self) -> None:
        self.clients: dict[tuple[Any, ...], asyncio.Future[SharedClient]] = {}
        self.settings: dict[str, tuple[float, asyncio.Future[ConnectionSettings]]] = {}


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopShared] = weakref.WeakKeyDictionary()


def _loop_shared() -> _LoopShared:
    loop = asyncio.get_running_loop()
    shared = _BY_LOOP.get(loop)
    if shared is None:
        shared = _BY_LOOP[loop] = _LoopShared()
    return shared


def client_key(settings: ConnectionSettings) -> tuple[Any, ...]:
    """What makes two connections share a client: same deployment, key, timeouts, retries, headers."""
    timeout = settings.timeout
    return (
        settings.base_url,
        hashlib.sha256(settings.api_key.encode()).hexdigest(),
        (timeout.connect, timeout.read, timeout.write, timeout.pool),
        settings.retry,
        settings.extra_headers,
    )


def open_clients() -> list[SharedClient]:
    """The open shared clients of the running event loop (for diagnostics and tests)."""
    found = []
    for future in _loop_shared().clients.values():
        if future.done() and not future.cancelled() and future.exception() is None:
            found.append(future.result())
    return found


async def _shared_once(
    cache: dict[Any, asyncio.Future[Any]], key: Any, make: Callable[[], Awaitable[Any]]
) -> Any:
    """``make()`` once for every caller of ``key`` until it is dropped; a failure is not remembered."""
    future = cache.get(key)
    if future is None:
        future = cache[key] = asyncio.ensure_future(make())

        def forget_failure(done: asyncio.Future[Any]) -> None:
            if (done.cancelled() or done.exception() is not None) and cache.get(key) is future:
                del cache[key]

        future.add_done_callback(forget_failure)
    return await asyncio.shield(future)


async def resolve_settings(dataframer_conn_id: str) -> ConnectionSettings:
    """The settings of a connection id, read once for all the triggers that start together."""
    shared = _loop_shared()
    now = asyncio.get_running_loop().time()
    cached = shared.settings.get(dataframer_conn_id)
    if cached is None or cached[0] <= now:
        lookup = asyncio.ensure_future(DataframerHook(dataframer_conn_id).aget_settings())
        entry = cached = (now + SETTINGS_TTL, lookup)
        shared.settings[dataframer_conn_id] = entry

        def forget_failure(done: asyncio.Future[ConnectionSettings]) -> None:
            if (done.cancelled() or done.exception() is not None) and shared.settings.get(
                dataframer_conn_id
            ) is entry:
                del shared.settings[dataframer_conn_id]

        lookup.add_done_callback(forget_failure)
    return await asyncio.shield(cached[1])


def _close_if_unused(
    clients: dict[tuple[Any, ...], asyncio.Future[SharedClient]], key: Any, done: asyncio.Future[SharedClient]
) -> None:
    if done.cancelled() or done.exception() is not None:
        return
    client = done.result()
    if client.users == 0 and not client.closed:
        client.closed = True
        if clients.get(key) is done:
            del clients[key]
        _CLOSING.add(task := asyncio.ensure_future(client.aclose()))
        task.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Future[None]] = set()


class shared_client:
    """
    The shared client of ``dataframer_conn_id`` in the running event loop, for one waiter.

    The connection is looked up without blocking the loop, and the pooled client is built in a
    worker thread (the SDK's import and TLS context cost too much CPU for the loop). A lookup that
    fails (no such connection, no API key) raises on entering; the last waiter to leave closes it.

    :param dataframer_conn_id: the Airflow connection id.
    """

    __slots__ = ("client", "dataframer_conn_id", "key")

    def __init__(self, dataframer_conn_id: str) -> None:
        self.dataframer_conn_id = dataframer_conn_id
        self.key: tuple[Any, ...] = ()
        self.client: SharedClient | None = None

    async def __aenter__(self) -> SharedClient:
        settings = await resolve_settings(self.dataframer_conn_id)
        clients = _loop_shared().clients
        key = self.key = client_key(settings)

        async def build() -> SharedClient:
            hook = await asyncio.to_thread(DataframerHook.for_triggerer, settings, self.dataframer_conn_id)
            return SharedClient(settings, hook)

        try:
            client: SharedClient = await _shared_once(clients, key, build)
            while client.closed:  # its last user left while this one was being woken up: build anew
                client = await _shared_once(clients, key, build)
        except asyncio.CancelledError:  # the trigger went while the client was built: close it unused
            building = clients.get(key)
            if building is not None:
                building.add_done_callback(lambda done: _close_if_unused(clients, key, done))
            raise
        client.users += 1
        self.client = client
        return client

    async def __aexit__(self, *exc_info: object) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        client.users -= 1
        if client.users == 0 and not client.closed:
            client.closed = True
            clients = _loop_shared().clients
            cached = clients.get(self.key)
            if cached is not None and cached.done() and cached.result() is client:
                del clients[self.key]
            await asyncio.shield(client.aclose())
