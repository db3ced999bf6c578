"""The network streams of the hook's blocking clients: no request waits past its deadline.

:mod:`~airflow_provider_dataframer.deadlines` says what the current request's deadline is (its
``request_timeout``, a transfer's ``transfer_timeout``, a wait's cut); the streams here apply it to
every connect, read and write, so that an answer trickling its headers or its body, or a storage
taking an upload one byte at a time, ends at that deadline. Used by the SDK clients and by the
client that fetches presigned URLs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from airflow_provider_dataframer import deadlines

if TYPE_CHECKING:
    import ssl


class _DeadlineStream(httpcore.NetworkStream):
    """A connection that never waits past the current request's deadline (headers and body alike)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    @staticmethod
    def _bounded(timeout: float | None) -> tuple[float | None, str]:
        left = deadlines.time_left()
        if left is None or (timeout is not None and timeout < left[0]):
            return timeout, ""
        if left[0] <= 0:
            raise httpcore.ReadTimeout(left[1])
        return left[0], left[1]

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bounded, reason = self._bounded(timeout)
        try:
            return self._stream.read(max_bytes, bounded)
        except httpcore.ReadTimeout:
            raise httpcore.ReadTimeout(reason or "timed out") from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        bounded, reason = self._bounded(timeout)
        try:
            self._stream.write(buffer, bounded)
        except httpcore.WriteTimeout:
            raise httpcore.WriteTimeout(reason or "timed out") from None

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, self._bounded(timeout)[0])
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """The network backend of the hook's blocking clients: streams bounded by the request's deadline."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        timeout = _DeadlineStream._bounded(timeout)[0]
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        timeout = _DeadlineStream._bounded(timeout)[0]
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def limit_requests(client: httpx.Client, limit: float | None) -> None:
    """
    Give every request of ``client`` ``limit`` seconds in all, from when it is sent.

    :param limit: the connection's ``request_timeout``; None: no limit of the request's own (the
        client's requests are still bounded by a transfer's deadline or a wait's cut).
    """
    client.event_hooks["request"].append(lambda request: deadlines.start_request(limit))
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)  # httpx's transports keep their httpcore pool here
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
