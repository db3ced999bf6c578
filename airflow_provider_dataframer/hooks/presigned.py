"""Fetch a presigned download URL: without the API key, and never past the size it may have."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import IO

import httpx

from airflow_provider_dataframer import deadlines
from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerDownloadError,
    DataframerError,
    DataframerTransportError,
)
from airflow_provider_dataframer.hooks.deadline_transport import limit_requests
from airflow_provider_dataframer.retry import (
    RetryPolicy,
    is_transient,
    parse_retry_after,
    parse_should_retry,
)

MAX_MESSAGE_CHARS = 300
MAX_ERROR_BODY_BYTES = 4096


def stream_presigned(
    url: str,
    destination: IO[bytes],
    *,
    expected_size: int | None,
    max_bytes: int,
    timeout: httpx.Timeout | float,
    retry: RetryPolicy,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """
    Stream ``url`` into ``destination``; return the bytes written, which equal ``expected_size``.

    The URL is fetched with a client of its own that sends no ``Authorization`` header: the API
    key must never reach the storage behind the URL. Nothing is written past ``expected_size``
    (or ``max_bytes`` when no size is announced): the first read that would go past it ends the
    download with an error, so a lying server costs at most that many bytes of disk. A failure
    before the first byte is retried; one after it is raised, since ``destination`` holds a part.
    Messages name the host and path of the URL, never its query (the signature).

    :param url: the presigned URL.
    :param destination: a binary file open for writing.
    :param expected_size: the size the API announced, or None.
    :param max_bytes: the most bytes accepted (``max_download_bytes``).
    :param timeout: the connect/read timeouts of each request.
    :param retry: the retry policy for failures before the first byte.
    :param deadline: a ``clock()`` time after which the transfer is abandoned: every attempt, the
        sleeps between them and each connect, header and body read included (a server that
        trickles bytes never trips a read timeout; a retry never starts past it).
    :param clock: the monotonic clock ``deadline`` is measured on.
    """
    parsed = httpx.URL(url)
    where = f"{parsed.host}{parsed.path}"
    if expected_size is not None and expected_size > max_bytes:
        raise DataframerDownloadError(
            f"The download from {where} is announced as {expected_size} bytes, more than "
            f"max_download_bytes ({max_bytes}); nothing was fetched. Raise max_download_bytes if "
            "the run is really that large."
        )
    transfer = _Transfer(parsed, where, destination, expected_size, max_bytes, deadline, clock)
    with httpx.Client(timeout=timeout, follow_redirects=True) as client, transfer.bounded():
        limit_requests(client, None)  # no request_timeout here: the transfer's deadline bounds it
        retries = 0
        while True:
            transfer.check_deadline()
            try:
                transfer.attempt(client)
                break
            except DataframerError as exc:
                transfer.check_deadline(exc)  # cut at the deadline: say so, not "ReadTimeout"
                # Only a failure before the first byte is transient: a part is already written.
                if retries >= retry.max_retries or not is_transient(exc):
                    raise
                retries += 1
                transfer.sleep(retry.backoff(retries, exc), exc)
    if expected_size is not None and transfer.written != expected_size:
        raise DataframerDownloadError(
            f"Download from {where} was incomplete: {transfer.written} bytes received, "
            f"{expected_size} announced."
        )
    return transfer.written


class _Transfer:
    """One download and its running count; :meth:`attempt` is one request."""

    def __init__(
        self,
        url: httpx.URL,
        where: str,
        destination: IO[bytes],
        expected_size: int | None,
        max_bytes: int,
        deadline: float | None,
        clock: Callable[[], float],
    ) -> None:
        self.url = url
        self.where = where
        self.destination = destination
        self.expected_size = expected_size
        self.limit = expected_size if expected_size is not None else max_bytes
        self.deadline = deadline
        self.clock = clock
        self.written = 0

    def bounded(self) -> contextlib.AbstractContextManager[None]:
        """While the transfer runs, no connect, read or write of its requests waits past its deadline."""
        if self.deadline is None:
            return contextlib.nullcontext()
        left = self.deadline - self.clock()
        return deadlines.transfer_until(time.monotonic() + left, left)

    def check_deadline(self, cause: DataframerError | None = None) -> None:
        """Raise the deadline's error once it is reached (``cause``: the failure it made)."""
        if self.deadline is not None and self.clock() >= self.deadline:
            raise self.past_deadline() from cause

    def past_deadline(self, last_failure: DataframerError | None = None) -> DataframerDownloadError:
        failure = f"; the last attempt failed: {last_failure}" if last_failure is not None else ""
        return DataframerDownloadError(
            f"Download from {self.where} did not finish within transfer_timeout ({self.written} bytes "
            f"received{failure}); the storage is too slow or stalled. Raise transfer_timeout or try again."
        )

    def sleep(self, seconds: float, failure: DataframerError) -> None:
        """Sleep before a retry, unless the retry would start at or past the deadline."""
        if self.deadline is not None and self.clock() + seconds >= self.deadline:
            raise self.past_deadline(failure) from failure
        time.sleep(seconds)

    def overrun(self) -> DataframerDownloadError:
        if self.expected_size is not None:
            return DataframerDownloadError(
                f"Download from {self.where} sent more than the {self.expected_size} bytes announced; "
                f"stopped after {self.written} bytes and refused it."
            )
        return DataframerDownloadError(
            f"Download from {self.where} announced no size and sent more than max_download_bytes "
            f"({self.limit}); stopped after {self.written} bytes. Raise max_download_bytes if the run "
            "is really that large."
        )

    def attempt(self, client: httpx.Client) -> None:
        try:
            with client.stream("GET", self.url) as response:
                if response.is_error:
                    raise _storage_error(response, self.where)
                if _announced_length(response) > self.limit:
                    raise self.overrun()
                # Without a chunk size, each network read is yielded as it arrives, so the
                # deadline is checked even while a server trickles one byte at a time.
                for chunk in response.iter_bytes():
                    if self.written + len(chunk) > self.limit:
                        raise self.overrun()
                    self.destination.write(chunk)
                    self.written += len(chunk)
                    self.check_deadline()
        except httpx.TransportError as exc:
            if self.written:
                raise DataframerDownloadError(
                    f"Download from {self.where} broke off after {self.written} bytes: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise DataframerTransportError("GET", self.where, reason, not_sent=not_sent) from exc


def _announced_length(response: httpx.Response) -> int:
    """The ``Content-Length`` of an unencoded body (-1 when unknown), to refuse before reading."""
    if response.headers.get("content-encoding", "identity") != "identity":
        return -1
    try:
        return int(response.headers.get("content-length", "-1"))
    except ValueError:
        return -1


def _storage_error(response: httpx.Response, where: str) -> DataframerError:
    """The error for a refusal by the storage, from the start of its body (never read whole)."""
    head = b""
    for chunk in response.iter_bytes():
        head += chunk
        if len(head) >= MAX_ERROR_BODY_BYTES:
            break
    body = head[:MAX_ERROR_BODY_BYTES].decode("utf-8", "replace")
    text = " ".join(body.split())[:MAX_MESSAGE_CHARS] or response.reason_phrase
    if response.status_code == 403:
        return DataframerDownloadError(
            f"The download URL was refused ({where}, HTTP 403: {text}): it expires one hour after "
            "it is issued; run the download again to get a fresh one."
        )
    return DataframerApiError(
        response.status_code,
        text,
        "GET",
        where,
        retry_after=parse_retry_after(response.headers),
        should_retry=parse_should_retry(response.headers),
    )
