"""
Fault injection and the request log.

A :class:`FaultRule` matches requests by method and path (a glob, see
:mod:`~dataframer_emulator.pathglob`) and changes what the client sees:

* ``error``: answer ``status_code`` with a JSON ``body`` and optional ``Retry-After``,
  ``retry-after-ms`` and ``x-should-retry`` headers; the request is not performed.
* ``delay``: wait ``delay_seconds``, then perform the request normally.
* ``drop``: close the connection without any response; the request is not performed.
* ``lose_response``: perform the request (a create is stored), then close the connection
  without sending the response.
* ``status_override``: perform the request, then replace ``status`` in its JSON answer.

``delay_seconds`` delays every action, not only ``delay``. Admin endpoints under
``/_emulator/`` (except the download URLs) are never faulted nor logged. The request log keeps
the last :data:`REQUEST_LOG_SIZE` requests (configurable); older ones are dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.types import Message, Receive, Scope, Send

from dataframer_emulator.pathglob import check_pattern, path_matches

FaultAction = Literal["error", "delay", "drop", "lose_response", "status_override"]

#: Path prefix of the emulator's own endpoints; only the download URLs under it are "API".
ADMIN_PREFIX = "/_emulator/"
DOWNLOADS_PREFIX = "/_emulator/downloads/"
#: Requests the log keeps by default; the oldest are dropped beyond it.
REQUEST_LOG_SIZE = 10_000


class FaultRule(BaseModel):
    """
    One fault: which requests it matches, what it does to them and how often.

    :param id: identifier, to read the rule's counters back or delete it.
    :param method: HTTP method to match (case-insensitive), ``*`` for any.
    :param path: glob over the whole request path, relative to ``/api/dataframer/`` unless it
        starts with ``/``: ``specs/``, ``specs/*/``, ``runs/**``; ``**`` (the default) is every path.
    :param action: ``error``, ``delay``, ``drop``, ``lose_response`` or ``status_override``.
    :param times: how many requests the rule applies to; ``None`` means forever.
    :param skip: matching requests to let through untouched before the rule applies.
    :param status_code: status of an ``error``.
    :param body: JSON body of an ``error``; defaults to ``{"detail": "Injected fault ..."}``.
    :param headers: extra response headers of an ``error``.
    :param retry_after: ``Retry-After`` header value in seconds.
    :param retry_after_ms: ``retry-after-ms`` header value.
    :param should_retry: ``x-should-retry`` header value.
    :param delay_seconds: latency added before the action.
    :param status: replacement ``status`` of a ``status_override``.
    :param matched: matching requests seen so far (read only).
    :param hits: requests the rule was applied to so far (read only).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    method: str = "*"
    path: str = "**"
    action: FaultAction = "error"
    times: int | None = Field(default=1, ge=1)
    skip: int = Field(default=0, ge=0)
    status_code: int = Field(default=503, ge=100, le=599)
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    retry_after: float | None = Field(default=None, ge=0)
    retry_after_ms: int | None = Field(default=None, ge=0)
    should_retry: bool | None = None
    delay_seconds: float = Field(default=0.0, ge=0)
    status: str | None = None
    matched: int = 0
    hits: int = 0

    @field_validator("path")
    @classmethod
    def _path_is_a_glob(cls, value: str) -> str:
        return check_pattern(value)

    @model_validator(mode="after")
    def _override_has_status(self) -> FaultRule:
        if self.action == "status_override" and not self.status:
            raise ValueError("a status_override rule needs a 'status'")
        return self

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule concerns this request, regardless of its counters."""
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return path_matches(self.path, path)

    def response_headers(self) -> dict[str, str]:
        """Headers of an ``error`` response."""
        headers = dict(self.headers)
        if self.retry_after is not None:
            seconds = self.retry_after
            headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        if self.retry_after_ms is not None:
            headers["retry-after-ms"] = str(self.retry_after_ms)
        if self.should_retry is not None:
            headers["x-should-retry"] = "true" if self.should_retry else "false"
        return headers

    def response_body(self) -> Any:
        """JSON body of an ``error`` response."""
        if self.body is not None:
            return self.body
        return {"detail": f"Injected fault: HTTP {self.status_code} (rule {self.id})"}


class FaultRegistry:
    """
    Thread-safe list of fault rules with their counters.

    :param rules: initial rules (copied, counters reset).
    """

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        for rule in rules or []:
            self.add(rule)

    def add(self, rule: FaultRule) -> FaultRule:
        """Add a copy of ``rule`` (counters reset) and return it."""
        stored = rule.model_copy(update={"matched": 0, "hits": 0})
        with self._lock:
            self._rules = [r for r in self._rules if r.id != stored.id] + [stored]
        return stored.model_copy()

    def remove(self, rule_id: str) -> bool:
        """Remove one rule; whether it existed."""
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def rules(self) -> list[FaultRule]:
        """Copies of the rules, with their current counters."""
        with self._lock:
            return [r.model_copy() for r in self._rules]

    def get(self, rule_id: str) -> FaultRule | None:
        """A copy of one rule, with its current counters."""
        with self._lock:
            for rule in self._rules:
                if rule.id == rule_id:
                    return rule.model_copy()
        return None

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first live rule matching the request, counting the hit; ``None`` if none applies."""
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if not rule.matches(method, path):
                    continue
                rule.matched += 1
                if rule.matched <= rule.skip:
                    continue
                rule.hits += 1
                return rule.model_copy()
        return None


class RequestRecord(BaseModel):
    """
    One request received by the emulator's API.

    :param seq: position in the log, from 1.
    :param time: UNIX time the request arrived.
    :param method: HTTP method.
    :param path: request path.
    :param query: raw query string.
    :param status: status sent to the client; ``None`` when the connection was dropped.
    :param outcome: ``response``, ``dropped`` or ``lost_response``.
    :param fault_id: id of the fault rule applied, if any.
    """

    seq: int
    time: float
    method: str
    path: str
    query: str = ""
    status: int | None = None
    outcome: Literal["response", "dropped", "lost_response"] = "response"
    fault_id: str | None = None


class RequestLog:
    """
    Thread-safe log of the last API requests received, for tests to count calls.

    :param max_records: how many requests are kept; the oldest are dropped beyond it (their
        ``seq`` numbers are not reused, so a gap at the start shows that some were dropped).
    """

    def __init__(self, max_records: int = REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=max_records)
        self._seq = 0

    def append(self, **fields: Any) -> None:
        """Record one request."""
        with self._lock:
            self._seq += 1
            self._records.append(RequestRecord(seq=self._seq, **fields))

    def records(self, method: str | None = None, path: str | None = None) -> list[RequestRecord]:
        """
        Requests in arrival order, filtered by method and by a path glob (as in :class:`FaultRule`).

        :raises ValueError: when ``path`` is not a valid glob.
        """
        if path is not None:
            check_pattern(path)
        with self._lock:
            records = list(self._records)
        if method is not None:
            records = [r for r in records if r.method.upper() == method.upper()]
        if path is not None:
            records = [r for r in records if path_matches(path, r.path)]
        return records

    def clear(self) -> None:
        """Forget every request (the sequence starts again at 1)."""
        with self._lock:
            self._records.clear()
            self._seq = 0


class _DroppedConnection:
    """Returned to uvicorn by the ASGI app to make it close the connection without a response."""

    def __repr__(self) -> str:
        return "<connection dropped by an emulator fault>"


#: uvicorn closes the transport, sending nothing more, when an ASGI app returns anything but
#: None (every uvicorn HTTP implementation does). An app cannot otherwise reach the socket.
DROP = _DroppedConnection()


class _DropLogFilter(logging.Filter):
    """Hides uvicorn's complaint about the value returned to drop a connection."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not any(arg is DROP for arg in args)


_FILTER = _DropLogFilter()


def install_log_filter() -> None:
    """Keep uvicorn's error log free of the deliberate connection drops (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


InnerApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _is_faultable(path: str) -> bool:
    return not path.startswith(ADMIN_PREFIX) or path.startswith(DOWNLOADS_PREFIX)


async def _drain(receive: Receive) -> None:
    """Read the request body so the client has finished sending before the connection closes."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _send_json(send: Send, status: int, payload: Any, headers: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _override_status(messages: list[Message], status: str) -> list[Message]:
    """The buffered response with ``status`` replaced in its JSON object, if it has one."""
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    try:
        payload = json.loads(body)
    except ValueError:
        return messages
    if not isinstance(payload, dict) or "status" not in payload:
        return messages
    payload["status"] = status
    new_body = json.dumps(payload).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(new_body)).encode()))
    return [
        {**start, "headers": headers},
        {"type": "http.response.body", "body": new_body, "more_body": False},
    ]


class FaultLayer:
    """
    The outermost ASGI layer: applies fault rules and logs API requests.

    :param registry: the fault rules.
    :param log: where API requests are recorded.
    """

    def __init__(self, registry: FaultRegistry, log: RequestLog) -> None:
        self.registry = registry
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: InnerApp) -> object:
        """Serve one ASGI call through ``app``; a non-None result asks uvicorn to drop the connection."""
        if scope["type"] != "http" or not _is_faultable(scope["path"]):
            await app(scope, receive, send)
            return None
        method: str = scope["method"]
        path: str = scope["path"]
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "path": path,
            "query": scope.get("query_string", b"").decode("latin-1"),
        }
        logged = False

        def record(**outcome: Any) -> None:
            nonlocal logged
            if not logged:
                logged = True
                self.log.append(**entry, **outcome)

        async def logging_send(message: Message) -> None:
            # Log before the client can read the answer: a test that counts requests right after
            # its call returns must find that call, and never meet it after a reset.
            if message["type"] == "http.response.start":
                record(status=int(message["status"]))
            await send(message)

        rule = self.registry.take(method, path)
        result: object = None
        if rule is None:
            await app(scope, receive, logging_send)
        else:
            entry["fault_id"] = rule.id
            if rule.delay_seconds:
                await asyncio.sleep(rule.delay_seconds)
            if rule.action == "delay":
                await app(scope, receive, logging_send)
            elif rule.action == "error":
                await _drain(receive)
                await _send_json(
                    logging_send, rule.status_code, rule.response_body(), rule.response_headers()
                )
            elif rule.action == "drop":
                await _drain(receive)
                record(outcome="dropped")
                result = DROP
            elif rule.action == "lose_response":
                await app(scope, receive, self._swallow)
                record(outcome="lost_response")
                result = DROP
            else:
                await self._override(scope, receive, logging_send, app, rule.status or "")
        record()
        return result

    @staticmethod
    async def _swallow(message: Message) -> None:
        return None

    @staticmethod
    async def _override(scope: Scope, receive: Receive, send: Send, app: InnerApp, status: str) -> None:
        messages: list[Message] = []

        async def buffering_send(message: Message) -> None:
            messages.append(message)

        await app(scope, receive, buffering_send)
        if not any(m["type"] == "http.response.start" for m in messages):
            return
        for message in _override_status(messages, status):
            await send(message)
