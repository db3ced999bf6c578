"""The total time limit of a request, beside httpx's per-read timeouts.

httpx's timeouts bound each read: an answer that trickles one byte a second never trips them. The
hook gives each request a deadline (the connection's ``request_timeout``) when it is sent, and the
network streams of its clients never wait past it, for the headers as for the body. A blocking wait
also cuts a poll in flight at its own deadline with :func:`cut_at`. A transfer of files (an upload
of seed files, a presigned download) is no request like the others: it may take hours on a slow
link while it progresses, so inside :func:`transfer_until` every request has the transfer's own
deadline (its ``transfer_timeout``, retries and sleeps included) instead of ``request_timeout``.

This module is light on purpose (the wait imports it); the streams are in
:mod:`~airflow_provider_dataframer.hooks.deadline_transport`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

DEFAULT_TRANSFER_TIMEOUT = 6 * 3600.0
"""Seconds a transfer of files (an upload of seed files, a download of a run's files) may take in all."""

_request_deadline: ContextVar[tuple[float, str] | None] = ContextVar(
    "dataframer_request_deadline", default=None
)
"""The ``time.monotonic()`` deadline of the request being made in this context, and why."""

_cut: ContextVar[float | None] = ContextVar("dataframer_request_cut", default=None)
"""A ``time.monotonic()`` time past which no request of this context may wait (a wait's deadline)."""

_transfer: ContextVar[tuple[float, str] | None] = ContextVar("dataframer_transfer", default=None)
"""The ``time.monotonic()`` deadline of the transfer under way in this context, and why."""


def start_request(limit: float | None) -> None:
    """
    Give the request about to be sent its deadline (called by the hook's clients when they send).

    :param limit: the seconds one request may take in all (``request_timeout``); None: no limit of
        its own. Inside :func:`transfer_until` the transfer's deadline applies instead.
    """
    bound: tuple[float, str] | None = _transfer.get()
    if bound is None and limit is not None:
        bound = time.monotonic() + limit, f"took longer than {limit:g} s (the connection's request_timeout)"
    cut = _cut.get()
    if cut is not None and (bound is None or cut < bound[0]):
        bound = cut, "was cut at the wait's deadline"
    _request_deadline.set(bound)


def time_left() -> tuple[float, str] | None:
    """Seconds left to the current request (negative once past), and what the limit is; None: no limit."""
    current = _request_deadline.get()
    if current is None:
        return None
    return current[0] - time.monotonic(), current[1]


@contextlib.contextmanager
def transfer_until(deadline: float, limit: float) -> Iterator[None]:
    """
    Give every request made inside the block until ``deadline`` (a ``time.monotonic()``) in all.

    :param deadline: when the transfer must be over, retries and the sleeps between them included.
    :param limit: the seconds from now to ``deadline`` (for the message: the whole
        ``transfer_timeout`` when the transfer starts here, what is left of it on a later attempt).
    """
    token = _transfer.set(
        (deadline, f"took longer than its transfer_timeout allows ({limit:g} s from when this part began)")
    )
    try:
        yield
    finally:
        _transfer.reset(token)


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
