"""One call in flight at a time, whose answer every caller shares while it is young enough."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedCall(Generic[T]):
    """
    A call that many waiters of one event loop share, made at most once per interval.

    A caller takes the latest answer if it was asked for after the caller's previous look and is
    younger than the caller's interval; otherwise it starts the next call, which every caller that
    looks while it is in flight joins. So many waiters make one call per interval, not one each.

    :param call: makes the call once (one attempt).
    :param keep: whether an answer may be shared with later callers (a failure's stand-in not).
    """

    def __init__(self, call: Callable[[], Awaitable[T]], keep: Callable[[T], bool] = lambda _: True) -> None:
        self._make_call = call
        self._keep = keep
        self._answer: tuple[float, T] | None = None
        self._in_flight: asyncio.Task[tuple[float, T]] | None = None

    async def latest(self, newer_than: float, max_age: float) -> tuple[float, T]:
        """When the answer was asked for (``time.monotonic()``), and the answer."""
        answer = self._answer
        if answer is not None and answer[0] > newer_than and time.monotonic() - answer[0] < max_age:
            return answer
        if self._in_flight is None:
            # In a context of its own: the call serves every caller, not the one that started it.
            self._in_flight = contextvars.Context().run(asyncio.ensure_future, self._call_once())
        return await asyncio.shield(self._in_flight)

    def close(self) -> None:
        """Cancel a call in flight (what it serves is closing)."""
        if self._in_flight is not None:
            self._in_flight.cancel()

    async def _call_once(self) -> tuple[float, T]:
        asked = time.monotonic()
        try:
            value = await self._make_call()
        finally:
            self._in_flight = None
        self._answer = (asked, value) if self._keep(value) else None
        return asked, value
