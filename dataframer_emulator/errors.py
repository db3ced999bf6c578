"""The error every emulator layer raises to answer a request with a JSON ``detail``."""

from __future__ import annotations


class ApiError(Exception):
    """
    An HTTP error answer: ``{"detail": detail}`` with ``status_code``.

    :param status_code: HTTP status.
    :param detail: message for the user; names the offending field, file or id.
    :param headers: extra response headers.
    """

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers or {}


def bad_request(detail: str) -> ApiError:
    """A 400: the request breaks a documented rule."""
    return ApiError(400, detail)


def not_found(kind: str, object_id: str) -> ApiError:
    """A 404 naming the missing object."""
    return ApiError(404, f"{kind} '{object_id}' not found.")
