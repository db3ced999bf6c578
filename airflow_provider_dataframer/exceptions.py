"""Exceptions raised by the Dataframer provider.

They derive from :class:`AirflowException` so that Airflow reports them as task failures, and they
never carry a secret: messages are built from the HTTP status, the method and path, and the
server's own message, and every message goes through the one scrubber
(:func:`~airflow_provider_dataframer.scrubbing.scrub`), which knows the API key and the databricks
secret in all their escaped forms.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_dataframer.scrubbing import scrub


class DataframerError(AirflowException):
    """Base class of every error raised by the Dataframer provider; its text is always scrubbed."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(scrub(arg) if isinstance(arg, str) else arg for arg in args))


class DataframerConfigError(DataframerError):
    """The connection or the operator arguments are unusable; nothing was sent."""


class DataframerValidationError(DataframerConfigError, AirflowFailException, ValueError):
    """
    An operator argument breaks a documented rule; the message names the field and the fix.

    It fails the task without retries: the same arguments would fail the same way.
    """


class DataframerTransportError(DataframerError):
    """
    The request could not be completed (connection refused or dropped, timeout).

    :param method: the HTTP method of the request.
    :param path: the path of the request.
    :param reason: what went wrong, without credentials.
    :param not_sent: True when the request cannot have reached the server (connect failure), so
        that even a create may safely be sent again.
    """

    def __init__(self, method: str, path: str, reason: str, not_sent: bool = False) -> None:
        self.method = method
        self.path = path
        self.reason = scrub(reason)
        self.not_sent = not_sent
        super().__init__(f"Dataframer API {method} {path} failed: {reason}")


class DataframerApiError(DataframerError):
    """
    The Dataframer API answered with an error status.

    :param status_code: the HTTP status of the response (kept as ``http_status``).
    :param message: the server's message (from ``detail``, ``error`` or ``message``).
    :param method: the HTTP method of the request.
    :param path: the path of the request (no host, no query, no credentials).
    :param retry_after: seconds the server asked us to wait, when it said so.
    :param should_retry: the server's ``x-should-retry`` answer, when it gave one.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        method: str,
        path: str,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        self.http_status = status_code
        self.message = scrub(message)
        self.method = method
        self.path = path
        self.retry_after = retry_after
        self.should_retry = should_retry
        super().__init__(f"Dataframer API {method} {path} returned HTTP {status_code}: {self.message}")


class DataframerNotFoundError(DataframerApiError):
    """HTTP 404: the spec, run or dataset does not exist (or is not visible to this API key)."""


class DataframerAuthError(DataframerApiError):
    """HTTP 401/403: the API key is missing, wrong or lacks permission."""


class DataframerDownloadError(DataframerError):
    """A run's files could not be downloaded or did not arrive whole (wrong size, refused URL)."""


class DataframerResponseError(DataframerError):
    """
    The API answered with a success status but with a body that is not what the endpoint returns
    (not JSON, or mistyped). A wait treats it as transient (a proxy's HTML page, a truncated body);
    anywhere else it is raised, naming the endpoint.

    :param method: the HTTP method of the request.
    :param path: the path of the request.
    :param reason: what was wrong with the body (never the body itself).
    """

    def __init__(self, method: str, path: str, reason: str) -> None:
        self.method = method
        self.path = path
        self.reason = scrub(reason)
        super().__init__(f"Dataframer API {method} {path} answered an unreadable body: {self.reason}")


class DataframerWaitError(DataframerError):
    """
    A wait ended without success.

    :param event: the final wait event (its ``status`` says failed, timeout or error; its
        ``message`` is this error's text).
    """

    def __init__(self, event: dict[str, Any]) -> None:
        self.event = event
        super().__init__(event["message"])
