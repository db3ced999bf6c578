"""The total time limit of a request, beside httpx's per-read timeouts.

httpx's timeouts bound each read: an answer that trickles one byte a second never trips them. The
hook gives each request a deadline (the connection's ``request_timeout``) when it is sent, and the
network streams of its clients never wait past it, for the headers as for the body. A blocking wait
also cuts a poll in flight at its own deadline with :func:`cut_at`.

This module is light on purpose (the wait imports it); the streams are in the hook.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

_request_deadline: ContextVar[tuple[float, str] | None] = ContextVar(
    "dataframer_request_deadline", default=None
)
"""The ``time.monotonic()`` deadline of the request being made in this context, and why."""

_cut: ContextVar[float | None] = ContextVar("dataframer_request_cut", default=None)
"""A ``time.monotonic()`` time past which no request of this context may wait (a wait's deadline)."""


def start_request(limit: float) -> None:
    """Give the request about to be sent ``limit`` seconds in all (called by the hook's clients)."""
    now = time.monotonic()
    deadline, reason = now + limit, f"took longer than {limit:g} s (the connection's request_timeout)"
    cut = _cut.get()
    if cut is not None and cut < deadline:
        deadline, reason = cut, "was cut at the wait's deadline"
    _request_deadline.set((deadline, reason))


def time_left() -> tuple[float, str] | None:
    """Seconds left to the current request (negative once past), and what the limit is; None: no limit."""
    current = _request_deadline.get()
    if current is None:
        return None
    return current[0] - time.monotonic(), current[1]


@contextlib.contextmanager
def cut_at(deadline: float | None) -> Iterator[None]:
    """
    Cut the requests made inside the block at ``deadline`` (a ``time.time()``), if one is given.

    :param deadline: the absolute time past which no request of the block may wait.
    """
    if deadline is None:
        yield
        return
    token = _cut.set(time.monotonic() + (deadline - time.time()))
    try:
        yield
    finally:
        _cut.reset(token)
