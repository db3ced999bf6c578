"""Request body size limits, enforced before and while a body is read, never after."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

InnerApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(HTTPException):
    """
    A request body over its limit: answered 413 with a ``detail`` naming the limit.

    It is an ``HTTPException`` so that FastAPI passes it through its body parsing unchanged.

    :param limit: the limit in bytes.
    :param kind: what kind of body (``multipart upload`` or ``request body``).
    """

    def __init__(self, limit: int, kind: str) -> None:
        super().__init__(413, f"The {kind} is larger than the emulator's limit of {limit} bytes.")
        self.limit = limit


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _is_multipart(scope: Scope) -> bool:
    return any(
        name.lower() == b"content-type" and value.lower().startswith(b"multipart/form-data")
        for name, value in scope.get("headers", [])
    )


class BodyLimit:
    """
    ASGI wrapper refusing a body over its limit: at once from its ``Content-Length``, else (a
    chunked body, or one longer than announced) as soon as the bytes received pass the limit.

    :param max_upload_bytes: limit of a ``multipart/form-data`` body (seed uploads).
    :param max_body_bytes: limit of any other body (JSON).
    """

    def __init__(self, max_upload_bytes: int, max_body_bytes: int) -> None:
        self.max_upload_bytes = max_upload_bytes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: InnerApp) -> None:
        """Serve one ASGI call through ``app`` with its body limited."""
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        multipart = _is_multipart(scope)
        limit = self.max_upload_bytes if multipart else self.max_body_bytes
        kind = "multipart upload" if multipart else "request body"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            error = BodyTooLarge(limit, kind)
            await _refuse(send, error)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, kind)
            return message

        await app(scope, counting_receive, send)


async def _refuse(send: Send, error: BodyTooLarge) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
