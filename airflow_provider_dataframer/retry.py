"""What the provider still decides about retrying, now that the official SDK retries requests.

The SDK retries every request (connection errors, timeouts, 408, 409, 429, 5xx, ``x-should-retry``)
with exponential backoff. What is left here: the backoff of our own loops (a create resolved by a
lookup, see :mod:`~airflow_provider_dataframer.idempotency`), the SDK client's backoff so that it
follows the connection's ``retry_initial_backoff``/``retry_max_backoff``, reading ``Retry-After``
for the shared poller, and :func:`is_transient`, which tells a wait what to wait through.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerResponseError,
    DataframerTransportError,
)

RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})
"""Statuses below 500 that mean "try again"; every 5xx is retryable too (as in the SDK)."""

MAX_HONOURED_RETRY_AFTER = 60.0
"""The longest ``Retry-After`` obeyed (the SDK's own cap); a longer, negative or non-finite one
(``nan``, ``inf``, ``1e400``) falls back to the normal backoff."""


def is_retryable_status(status_code: int) -> bool:
    """Whether an HTTP status means the same request may succeed later."""
    return status_code in RETRYABLE_STATUS_CODES or status_code >= 500


def _sane(seconds: float) -> float | None:
    return seconds if math.isfinite(seconds) and 0 <= seconds <= MAX_HONOURED_RETRY_AFTER else None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """
    Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    None when absent or unusable: non-finite, negative, or over ``MAX_HONOURED_RETRY_AFTER``.
    """
    retry_after_ms = headers.get("retry-after-ms")
    if retry_after_ms is not None:
        try:
            return _sane(float(retry_after_ms) / 1000)
        except (ValueError, OverflowError):
            pass
    retry_after = headers.get("retry-after")
    if retry_after is None:
        return None
    try:
        return _sane(float(retry_after))
    except (ValueError, OverflowError):
        parsed = email.utils.parsedate_tz(retry_after)
        if parsed is None:
            return None
        try:
            return _sane(max(float(email.utils.mktime_tz(parsed)) - time.time(), 0.0))
        except (OverflowError, ValueError):
            return None


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
    if not isinstance(error, DataframerApiError) or error.retry_after is None:
        return None
    return _sane(error.retry_after)


def is_transient(exc: BaseException) -> bool:
    """Whether an error raised by the hook may go away if the same call is made again later."""
    if isinstance(exc, (DataframerTransportError, DataframerResponseError)):
        return True
    if isinstance(exc, DataframerApiError):
        if exc.should_retry is not None:
            return exc.should_retry
        return is_retryable_status(exc.http_status)
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """
    How often and how patiently a request is retried (by the SDK client and by our own loops).

    :param max_retries: retries after the first attempt (the SDK's default is 2).
    :param initial_backoff: the first backoff in seconds, doubled on each retry.
    :param max_backoff: the cap of the exponential backoff in seconds.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0

    def backoff(self, retry_number: int, error: BaseException | None = None) -> float:
        """Seconds to sleep before retry ``retry_number`` (1-based) after ``error``."""
        retry_after = requested_wait(error)
        if retry_after is not None and retry_after > 0:
            return retry_after
        return self.exponential(retry_number)

    def exponential(self, retry_number: int, retry_after: float | None = None) -> float:
        """The backoff before retry ``retry_number`` (1-based), or a sane ``retry_after``, with jitter."""
        if retry_after is not None and _sane(retry_after) and retry_after > 0:
            return retry_after
        exponent = min(max(retry_number - 1, 0), 64)
        delay = min(self.initial_backoff * 2.0**exponent, self.max_backoff)
        return delay * (1 - 0.25 * random.random())
