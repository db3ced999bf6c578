"""The retry policy of every Dataframer request, written once for the sync and async paths.

It follows the official SDK: retry connection errors, timeouts, 408, 409 (lock timeout), 429 and
every 5xx; honour ``retry-after-ms`` and ``Retry-After``; obey ``x-should-retry``; back off
exponentially from 0.5 s up to 8 s with jitter. A request that creates something is not
idempotent: it is retried only when the server cannot have acted on it (the connection was never
made, or the server refused it with 408/429 before doing anything).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from airflow_provider_dataframer.exceptions import DataframerApiError, DataframerTransportError

log = logging.getLogger(__name__)

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})
"""Statuses below 500 that mean "try again"; every 5xx is retryable too."""

NOT_SENT_STATUS_CODES = frozenset({408, 429})
"""Statuses that mean the server refused the request before acting on it."""

MAX_HONOURED_RETRY_AFTER = 60.0


def is_retryable_status(status_code: int) -> bool:
    """Whether an HTTP status means the same request may succeed later."""
    return status_code in RETRYABLE_STATUS_CODES or status_code >= 500


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    retry_after_ms = headers.get("retry-after-ms")
    if retry_after_ms is not None:
        try:
            return max(float(retry_after_ms) / 1000, 0.0)
        except ValueError:
            pass
    retry_after = headers.get("retry-after")
    if retry_after is None:
        return None
    try:
        return max(float(retry_after), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_tz(retry_after)
        if parsed is None:
            return None
        return max(float(email.utils.mktime_tz(parsed)) - time.time(), 0.0)


def parse_should_retry(headers: Mapping[str, str]) -> bool | None:
    """The server's ``x-should-retry`` verdict, or None when it did not give one."""
    value = headers.get("x-should-retry")
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def requested_wait(error: BaseException | None) -> float | None:
    """The seconds the server asked to wait before the next request (``Retry-After``), if it did."""
    return error.retry_after if isinstance(error, DataframerApiError) else None


def is_transient(exc: BaseException) -> bool:
    """Whether an error raised by the hook may go away if the same call is made again later."""
    if isinstance(exc, DataframerTransportError):
        return True
    if isinstance(exc, DataframerApiError):
        if exc.should_retry is not None:
            return exc.should_retry
        return is_retryable_status(exc.http_status)
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """
    How often and how patiently a request is retried.

    :param max_retries: retries after the first attempt (the SDK's default is 2).
    :param initial_backoff: the first backoff in seconds, doubled on each retry.
    :param max_backoff: the cap of the exponential backoff in seconds.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0

    def backoff(self, retry_number: int, error: BaseException | None) -> float:
        """Seconds to sleep before retry ``retry_number`` (1-based) after ``error``."""
        retry_after = requested_wait(error)
        if retry_after is not None and 0 < retry_after <= MAX_HONOURED_RETRY_AFTER:
            return retry_after
        delay = min(self.initial_backoff * 2.0 ** (retry_number - 1), self.max_backoff)
        return delay * (1 - 0.25 * random.random())

    def should_retry(self, error: BaseException, idempotent: bool) -> bool:
        """Whether ``error`` is worth another attempt of the same request."""
        if not is_transient(error):
            return False
        if idempotent:
            return True
        # A create may have been carried out even though we saw no answer: only retry when the
        # server cannot have acted on it. The caller resolves ambiguous failures by name.
        if isinstance(error, DataframerTransportError):
            return error.not_sent
        return isinstance(error, DataframerApiError) and error.http_status in NOT_SENT_STATUS_CODES

    def _tenacity_kwargs(self, idempotent: bool) -> dict[str, Any]:
        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.backoff(state.attempt_number, error)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            sleep = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s; retry %d/%d in %.1f s", error, state.attempt_number, self.max_retries, sleep)

        return {
            "retry": tenacity.retry_if_exception(lambda exc: self.should_retry(exc, idempotent)),
            "wait": wait,
            "stop": tenacity.stop_after_attempt(self.max_retries + 1),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def retrying(self, idempotent: bool = True) -> tenacity.Retrying:
        """A tenacity controller for a blocking call."""
        return tenacity.Retrying(**self._tenacity_kwargs(idempotent))

    def async_retrying(self, idempotent: bool = True) -> tenacity.AsyncRetrying:
        """A tenacity controller for an async call."""
        return tenacity.AsyncRetrying(**self._tenacity_kwargs(idempotent))


def transport_error(method: str, path: str, exc: httpx.TransportError) -> DataframerTransportError:
    """Wrap an httpx transport error, recording whether the request can have reached the server."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    return DataframerTransportError(method, path, reason, not_sent=not_sent)
