"""The Dataframer hook: the one place in the provider that builds API clients.

It wraps the official SDK (``pydataframer``, package ``dataframer``) as the OpenAI and Anthropic
providers wrap theirs: :meth:`DataframerHook.get_conn` is a ``dataframer.Dataframer`` and
:meth:`DataframerHook.get_async_conn` a ``dataframer.AsyncDataframer``, both built from the Airflow
connection. The typed methods below call the SDK and return the provider's own view of the answers
(:mod:`~airflow_provider_dataframer.models`); :func:`sdk_errors` turns the SDK's exceptions into the
provider's (:mod:`~airflow_provider_dataframer.exceptions`), scrubbed of secrets.

The SDK is imported on first use, not with this module: DAG files import the operators, and with
them this module, on every parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import httpx
from airflow.providers.common.compat.sdk import BaseHook
from pydantic import BaseModel, ValidationError

from airflow_provider_dataframer import DEFAULT_CONN_ID, deadlines
from airflow_provider_dataframer.arguments import check_seconds
from airflow_provider_dataframer.connection_extras import (
    DEFAULT_REQUEST_TIMEOUT,
    InvalidExtraError,
    read_extras,
)
from airflow_provider_dataframer.connection_url import with_scheme
from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerAuthError,
    DataframerConfigError,
    DataframerDownloadError,
    DataframerError,
    DataframerNotFoundError,
    DataframerResponseError,
    DataframerTransportError,
    DataframerValidationError,
)
from airflow_provider_dataframer.hooks.deadline_transport import limit_requests
from airflow_provider_dataframer.hooks.presigned import stream_presigned
from airflow_provider_dataframer.kinds import ANONYMIZATION, EVALUATION, RED_TEAM_RUN, RUN, SPEC, ResourceKind
from airflow_provider_dataframer.limits import DEFAULT_LIMITS
from airflow_provider_dataframer.models import (
    DEFAULT_BASE_URL,
    RED_TEAM_SPECS_PATH,
    AnonymizationCreateRequest,
    AnonymizationRun,
    DownloadLink,
    Evaluation,
    EvaluationCreateRequest,
    EvaluationStatus,
    RedTeamRun,
    RedTeamRunRequest,
    RedTeamRunStatus,
    RedTeamSpec,
    RedTeamSpecRequest,
    Run,
    RunCreateRequest,
    RunListing,
    SeedDataset,
    Spec,
    SpecCreateRequest,
    StatusResource,
)
from airflow_provider_dataframer.retry import RetryPolicy, parse_retry_after, parse_should_retry
from airflow_provider_dataframer.scrubbing import register_secret, scrub

if TYPE_CHECKING:
    from dataframer import AsyncDataframer, Dataframer

API_KEY_ENV_VAR = "DATAFRAMER_API_KEY"
SEED_DATASETS_PATH = "/api/dataframer/seed-datasets/"
MAX_MESSAGE_CHARS = 500
POOL_SIZE = 32
"""Connections of the triggerer's pooled client (and requests it has in flight at once)."""

_UNSAFE_KEY = re.compile(r"[\s\x00-\x1f\x7f]")
ModelT = TypeVar("ModelT", bound=BaseModel)
ResultT = TypeVar("ResultT")


class ReadableFile(Protocol):
    """A binary file object to upload: httpx reads it in chunks (and sizes it by seek/tell)."""

    def read(self, size: int = -1, /) -> bytes: ...


# Connection settings


def api_key_from(conn_id: str, password: str | None) -> str:
    """
    The API key of a connection (or ``DATAFRAMER_API_KEY``), stripped and checked, never echoed.

    A pasted key often ends with a newline: it is stripped. A key with whitespace or control
    characters inside cannot be sent in a header, and the error would print the header: refuse it.
    """
    source = "password (API Key)"
    key = (password or "").strip()
    if not key:
        key = os.environ.get(API_KEY_ENV_VAR, "").strip()
        source = f"{API_KEY_ENV_VAR} environment variable"
    if not key:
        raise DataframerConfigError(
            f"No Dataframer API key: set the password (API Key) of the Airflow connection "
            f"{conn_id!r} or the {API_KEY_ENV_VAR} environment variable."
        )
    register_secret(key)
    if password and password != key:
        register_secret(password)  # the unstripped form may still be echoed by something
    if _UNSAFE_KEY.search(key):
        raise DataframerConfigError(
            f"The Dataframer API key from the {source} of connection {conn_id!r} contains whitespace "
            "or control characters (not shown): paste the key again, without spaces or line breaks."
        )
    return key


@dataclass(frozen=True)
class ConnectionSettings:
    """
    Everything the hook needs from an Airflow connection, resolved once.

    :param base_url: the API's base URL, without a trailing slash.
    :param api_key: the Bearer API key (never logged; registered with the scrubber and masker).
    :param timeout: connect/read/write/pool timeouts of every request.
    :param retry: the retry policy of every request.
    :param extra_headers: headers sent with every API request (connection extra ``extra_headers``).
    :param request_timeout: the total seconds one request may take, answer included, however
        slowly it trickles (connection extra ``request_timeout``, default 120).
    """

    base_url: str
    api_key: str = field(repr=False)
    timeout: httpx.Timeout
    retry: RetryPolicy
    extra_headers: tuple[tuple[str, str], ...] = ()
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT

    @classmethod
    def from_connection(cls, conn: Any) -> ConnectionSettings:
        """Read an Airflow connection (``host`` base URL, ``password`` API key, extras)."""
        conn_id = str(conn.conn_id)
        try:  # a field left empty in the form means its default
            extra = read_extras(conn.extra_dejson)
        except InvalidExtraError as exc:
            raise DataframerConfigError(f"Connection {conn_id!r}: {exc}") from None
        api_key = api_key_from(conn_id, conn.password)
        return cls(
            base_url=base_url_from(conn.host, conn.schema, conn.port),
            api_key=api_key,
            timeout=httpx.Timeout(extra["read_timeout"], connect=extra["connect_timeout"]),
            retry=RetryPolicy(
                max_retries=extra["max_retries"],
                initial_backoff=extra["retry_initial_backoff"],
                max_backoff=extra["retry_max_backoff"],
            ),
            extra_headers=extra["extra_headers"] or (),
            request_timeout=extra["request_timeout"],
        )

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments shared by the sync and async SDK clients."""
        from airflow_provider_dataframer import __version__

        return {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "timeout": self.timeout,
            "max_retries": self.retry.max_retries,
            "default_headers": {
                "User-Agent": f"airflow-provider-dataframer/{__version__}",
                **dict(self.extra_headers),
            },
        }


def base_url_from(host: str | None, schema: str | None, port: int | None) -> str:
    """
    Build the base URL from a connection's host, schema and port.

    ``host`` may be a full URL (``http://127.0.0.1:8080``) or a bare host name, in which case
    ``schema`` (default ``https``; ``http`` for a loopback host) and ``port`` complete it. An
    empty host means the public API.
    """
    if not host or not host.strip():
        return DEFAULT_BASE_URL
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = with_scheme(host, schema)  # the scheme rule: airflow_provider_dataframer.connection_url
    url = httpx.URL(host)
    if port and url.port is None:
        url = url.copy_with(port=int(port))
    return str(url).rstrip("/")


# Clients


class _ScrubbingFilter(logging.Filter):
    """Scrub the SDK's own log records: at DEBUG it logs each request's options, body included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        scrubbed = scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


SDK_LOGGERS = ("dataframer", "dataframer._base_client", "dataframer._response", "dataframer.lib.data_plane")


class _ConnectionBackoff:
    """
    What the provider changes in both SDK clients: the backoff between retries.

    The SDK's own is fixed at 0.5-8 s; this one is the connection's (``retry_initial_backoff``,
    ``retry_max_backoff``), ``Retry-After`` included. A copy (``with_options``) keeps the policy.
    """

    retry_policy: RetryPolicy = RetryPolicy()
    max_retries: int

    def _calculate_retry_timeout(
        self, remaining_retries: int, options: Any, response_headers: Any = None
    ) -> float:
        max_retries = options.get_max_retries(self.max_retries)
        retry_after = parse_retry_after(response_headers) if response_headers is not None else None
        return self.retry_policy.exponential(max_retries - remaining_retries + 1, retry_after)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        client = super().copy(*args, **kwargs)  # type: ignore[misc]
        client.retry_policy = self.retry_policy
        return client

    with_options = copy


def _client_classes() -> tuple[type[Dataframer], type[AsyncDataframer]]:
    """The SDK's clients, with the connection's backoff (the SDK's own is fixed at 0.5-8 s)."""
    global _CLIENT_CLASSES
    if _CLIENT_CLASSES is None:
        import dataframer

        scrubbing_filter = _ScrubbingFilter()
        for name in SDK_LOGGERS:  # a logger's filters do not apply to its children's records
            logging.getLogger(name).addFilter(scrubbing_filter)

        class ProviderDataframer(_ConnectionBackoff, dataframer.Dataframer):
            """``dataframer.Dataframer`` whose retries back off as the Airflow connection says."""

        class ProviderAsyncDataframer(_ConnectionBackoff, dataframer.AsyncDataframer):
            """``dataframer.AsyncDataframer`` whose retries back off as the Airflow connection says."""

        _CLIENT_CLASSES = (ProviderDataframer, ProviderAsyncDataframer)
    return _CLIENT_CLASSES


_CLIENT_CLASSES: tuple[type[Dataframer], type[AsyncDataframer]] | None = None


def make_client(settings: ConnectionSettings) -> Dataframer:
    """A blocking SDK client for ``settings``, each request of which ends within ``request_timeout``."""
    sync_class, _ = _client_classes()
    client = sync_class(**settings.client_options())
    client.retry_policy = settings.retry  # type: ignore[attr-defined]
    limit_requests(client._client, settings.request_timeout)
    return client


def make_async_client(settings: ConnectionSettings, *, pooled: bool = False) -> AsyncDataframer:
    """
    An async SDK client for ``settings``.

    ``pooled``: the triggerer's shared client: on the SDK's aiohttp client (``DefaultAioHttpClient``,
    measured cheapest per request by ``benchmarks/triggerer_load.py``) with ``POOL_SIZE``
    connections (each poll asks for one attempt: :meth:`DataframerHook.aget_status`).
    httpx's own transport is used instead when a proxy environment variable covers the base URL
    (aiohttp would ignore it) or when ``DATAFRAMER_TRIGGERER_TRANSPORT=httpx``.
    """
    import dataframer

    _, async_class = _client_classes()
    options = settings.client_options()
    if pooled:
        limits = httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
        if _aiohttp_applies(settings.base_url):
            options["http_client"] = dataframer.DefaultAioHttpClient(timeout=settings.timeout, limits=limits)
        else:
            options["http_client"] = dataframer.DefaultAsyncHttpxClient(
                timeout=settings.timeout, limits=limits
            )
    client = async_class(**options)
    client.retry_policy = settings.retry  # type: ignore[attr-defined]
    return client


TRANSPORT_ENV_VAR = "DATAFRAMER_TRIGGERER_TRANSPORT"


def _aiohttp_applies(base_url: str) -> bool:
    if os.environ.get(TRANSPORT_ENV_VAR, "aiohttp").strip().lower() == "httpx":
        return False
    if proxy_applies(base_url):
        return False
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


def proxy_applies(base_url: str) -> bool:
    """Whether a proxy environment variable (``HTTPS_PROXY`` ..., minus ``NO_PROXY``) covers the URL."""
    import urllib.request

    proxies = urllib.request.getproxies()
    url = httpx.URL(base_url)
    if not (proxies.get(url.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(url.host)


# Errors


def server_message(response: httpx.Response) -> str:
    """The server's message from ``detail``, ``error`` or ``message`` (or the start of the body)."""
    try:
        body = response.json()
    except (ValueError, httpx.ResponseNotRead):
        try:
            text = response.text.strip()
        except httpx.ResponseNotRead:
            text = ""
        return text[:MAX_MESSAGE_CHARS] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            value = body.get(key)
            if isinstance(value, list):  # FastAPI-style validation errors
                return "; ".join(_describe_item(item) for item in value)[:MAX_MESSAGE_CHARS]
            if value:
                return str(value)[:MAX_MESSAGE_CHARS]
    return str(body)[:MAX_MESSAGE_CHARS]


def _describe_item(item: Any) -> str:
    if isinstance(item, dict) and "msg" in item:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        return f"{location}: {item['msg']}" if location else str(item["msg"])
    return str(item)


def error_from_response(
    method: str, path: str, response: httpx.Response, secrets: Sequence[str] = ()
) -> DataframerApiError:
    """
    The provider exception for an error response, carrying the server's own message.

    :param secrets: values to blank out of the message besides the registered ones (the scrubber
        knows the API key and the databricks secret already).
    """
    status = response.status_code
    error_class: type[DataframerApiError] = DataframerApiError
    if status == 404:
        error_class = DataframerNotFoundError
    elif status in (401, 403):
        error_class = DataframerAuthError
    return error_class(
        status,
        scrub(server_message(response), tuple(secrets)),
        method,
        path,
        retry_after=parse_retry_after(response.headers),
        should_retry=parse_should_retry(response.headers),
    )


def _where(request: httpx.Request | None, endpoint: str | None) -> tuple[str, str]:
    if request is not None:
        return request.method, request.url.path
    method, _, path = (endpoint or "request ?").partition(" ")
    return method, path


def _validation_reason(exc: ValidationError) -> str:
    """Which fields were wrong, never their values (pydantic's ``input_value`` may hold secrets)."""
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


def map_sdk_error(
    exc: BaseException, endpoint: str | None = None, secrets: Sequence[str] = ()
) -> Exception | None:
    """The provider exception for an exception of the SDK (or of reading its answer), or None."""
    import dataframer

    extra = tuple(secrets)
    if isinstance(exc, dataframer.APIStatusError):
        method, path = _where(exc.request, endpoint)
        return error_from_response(method, path, exc.response, extra)
    if isinstance(exc, dataframer.APIConnectionError):  # APITimeoutError too
        method, path = _where(exc.request, endpoint)
        cause = exc.__cause__
        if isinstance(exc, dataframer.APITimeoutError):
            reason = f"timed out ({type(cause).__name__})" if cause else "timed out"
            if str(cause).startswith(("took longer than", "was cut at")):  # the total limit (deadlines)
                reason = str(cause)
        else:
            reason = f"{type(cause).__name__}: {cause}" if cause and str(cause) else type(cause).__name__
        not_sent = isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        return DataframerTransportError(method, path, scrub(reason, extra), not_sent=not_sent)
    if isinstance(exc, dataframer.APIResponseValidationError):
        method, path = _where(exc.request, endpoint)
        return DataframerResponseError(method, path, scrub(exc.message, extra))
    if isinstance(exc, ValidationError):
        method, path = _where(None, endpoint)
        return DataframerResponseError(method, path, _validation_reason(exc))
    if isinstance(exc, ValueError) and type(exc).__name__ == "JSONDecodeError":
        method, path = _where(None, endpoint)
        return DataframerResponseError(method, path, "not JSON")
    data_plane = getattr(getattr(dataframer, "lib", None), "data_plane", None)
    if data_plane is not None and isinstance(exc, data_plane.DataPlaneError):
        method, path = _where(None, endpoint)
        status = int(getattr(exc, "status", 0) or 0)
        message = scrub(str(exc), extra)
        if status:
            return DataframerApiError(status, f"customer-hosted data plane: {message}", method, path)
        return DataframerTransportError(method, path, f"customer-hosted data plane: {message}")
    return None


@contextlib.contextmanager
def sdk_errors(endpoint: str | None = None, secrets: Sequence[str] = ()) -> Iterator[None]:
    """
    Turn what the SDK raises inside the block into the provider's exceptions, scrubbed.

    ``dataframer.APIStatusError`` becomes :class:`DataframerApiError` (404
    :class:`DataframerNotFoundError`, 401/403 :class:`DataframerAuthError`) with ``http_status``
    and the server's message; connection errors and timeouts :class:`DataframerTransportError`
    (``not_sent`` when the connection was never made); an unreadable success answer
    :class:`DataframerResponseError`. The SDK's exception is not chained: its text and its cause
    (an httpx error may print a header) would reach the task log unscrubbed. Works in ``async``
    code too (``with sdk_errors(...): await ...``).

    :param endpoint: ``"METHOD /path/"`` for messages, when the request itself is not known.
    :param secrets: values to scrub besides the registered ones.
    """
    try:
        yield
    except DataframerError:
        raise
    except Exception as exc:
        mapped = map_sdk_error(exc, endpoint, secrets)
        if mapped is None:
            raise
        raise mapped from None


def checked_id(value: Any, what: str) -> str:
    """``value`` as a canonical UUID string, before it goes into a URL path; else a clear error."""
    try:
        return str(uuid.UUID(str(value).strip()))
    except (ValueError, AttributeError, TypeError):
        shown = scrub(repr(value))[:80]
        raise DataframerValidationError(
            f"{what} must be a UUID such as '9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21', got {shown}: "
            "pass the id that Dataframer returned (e.g. the upstream task's output)."
        ) from None


def _ours(model: type[ModelT], answer: Any, endpoint: str) -> ModelT:
    """The provider's view of one SDK answer; an unreadable one is a DataframerResponseError."""
    data = answer.to_dict(mode="json") if hasattr(answer, "to_dict") else answer
    if not isinstance(data, dict):
        method, _, path = endpoint.partition(" ")
        raise DataframerResponseError(method, path, f"expected a JSON object, got {type(data).__name__}")
    with sdk_errors(endpoint):
        return model.model_validate(data)


def _ours_list(model: type[ModelT], answer: Any, endpoint: str) -> list[ModelT]:
    if not isinstance(answer, list):
        method, _, path = endpoint.partition(" ")
        raise DataframerResponseError(method, path, f"expected a JSON list, got {type(answer).__name__}")
    return [_ours(model, item, endpoint) for item in answer]


class DataframerHook(BaseHook):
    """
    Talk to the Dataframer API through the official SDK, with an Airflow connection's settings.

    The connection's password is the API key (sent as ``Authorization: Bearer <key>``); when it is
    empty the ``DATAFRAMER_API_KEY`` environment variable is used. The host is the base URL
    (default ``https://df-api.dataframer.ai``): a full URL such as ``http://127.0.0.1:8080`` or a
    host name completed by the schema and port fields. Extras: ``connect_timeout`` (5 s),
    ``read_timeout`` (60 s, per read), ``request_timeout`` (120 s: the most one request may take in
    all, however slowly its answer trickles), ``max_retries`` (2), ``retry_initial_backoff`` (0.5 s),
    ``retry_max_backoff`` (8 s) and ``extra_headers`` (an object of headers sent with every
    request, e.g. for a gateway).

    :param dataframer_conn_id: the Airflow connection id.
    """

    conn_name_attr = "dataframer_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "dataframer"
    hook_name = "Dataframer"

    def __init__(self, dataframer_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.dataframer_conn_id = dataframer_conn_id
        self._settings: ConnectionSettings | None = None
        self._client: Dataframer | None = None
        self._async_client: AsyncDataframer | None = None
        self._async_client_one_attempt: AsyncDataframer | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabel the connection form: the password is the API key, the host the base URL."""
        from airflow_provider_dataframer import CONNECTION_FORM

        return {key.replace("-", "_"): value for key, value in CONNECTION_FORM.items()}

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """
        The connection extras as form fields, for Airflow before 3.2 (3.2+ reads ``conn-fields``).

        Built from the same table as the provider info's ``conn-fields``
        (:data:`~airflow_provider_dataframer.connection_extras.EXTRA_FIELDS`); wtforms and
        Flask-AppBuilder are imported only here, when a form is drawn.
        """
        from airflow_provider_dataframer.connection_extras import form_widgets

        return form_widgets()

    # Connection and clients

    @property
    def settings(self) -> ConnectionSettings:
        """The resolved connection settings (read from Airflow once per hook)."""
        if self._settings is None:
            self._settings = ConnectionSettings.from_connection(self.get_connection(self.dataframer_conn_id))
        return self._settings

    async def aget_settings(self) -> ConnectionSettings:
        """The resolved connection settings, read without blocking the event loop."""
        if self._settings is None:
            aget_connection = getattr(BaseHook, "aget_connection", None)
            if aget_connection is not None:
                conn = await aget_connection(self.dataframer_conn_id)
            else:  # Airflow 2
                from asgiref.sync import sync_to_async

                conn = await sync_to_async(self.get_connection)(self.dataframer_conn_id)
            self._settings = ConnectionSettings.from_connection(conn)
        return self._settings

    def get_conn(self) -> Dataframer:
        """The blocking SDK client of this hook (``dataframer.Dataframer``), made on first use."""
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    async def get_async_conn(self) -> AsyncDataframer:
        """
        The async SDK client of this hook (``dataframer.AsyncDataframer``), made on first use.

        It is built in a worker thread: importing the SDK and loading the TLS context take tenths
        of a second, which must not stall a triggerer's event loop.
        """
        if self._async_client is None:
            settings = await self.aget_settings()
            self._async_client = await asyncio.to_thread(make_async_client, settings)
        return self._async_client

    def __enter__(self) -> DataframerHook:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> DataframerHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def close(self) -> None:
        """Close the blocking client if it was opened (``with hook:`` does it on leaving)."""
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    async def aclose(self) -> None:
        """Close the async client if it was opened."""
        self._async_client_one_attempt = None
        if self._async_client is not None:
            client, self._async_client = self._async_client, None
            await client.close()

    @classmethod
    def for_triggerer(
        cls, settings: ConnectionSettings, dataframer_conn_id: str = default_conn_name
    ) -> DataframerHook:
        """
        A hook on already resolved ``settings`` whose async client is the triggerer's pooled one.

        The hook owns the client (:meth:`aclose` closes it). It costs an import of the SDK and
        its transport and a TLS context (a few hundred ms the first time in a process), so the
        triggerer builds it in a thread (:mod:`~airflow_provider_dataframer.triggers.shared_client`),
        once per event loop and connection, and shares it between the triggers of that connection.
        """
        hook = cls(dataframer_conn_id)
        hook._settings = settings
        client = hook._async_client = make_async_client(settings, pooled=True)
        hook._async_client_one_attempt = client.with_options(max_retries=0)
        return hook

    async def _within_limit(self, endpoint: str, call: Awaitable[ResultT]) -> ResultT:
        """Await an async SDK call for at most the connection's ``request_timeout`` in all."""
        settings = self._settings if self._settings is not None else await self.aget_settings()
        limit = settings.request_timeout
        try:
            async with asyncio.timeout(limit):  # not wait_for: on 3.11 it can swallow a cancel
                return await call
        except TimeoutError:
            method, _, path = endpoint.partition(" ")
            raise DataframerTransportError(
                method, path, f"took longer than {limit:g} s (the connection's request_timeout)"
            ) from None

    def _create_client(self) -> Dataframer:
        """The client for a create: no blind retries (a lost answer is resolved by a lookup)."""
        return self.get_conn().with_options(max_retries=0)

    @contextlib.contextmanager
    def _transfer(self, transfer_timeout: float) -> Iterator[Dataframer]:
        """
        The client for an upload (a create: no blind retries), bounded by ``transfer_timeout`` in all.

        Inside the block every request, to the API or to a customer-hosted data plane, may run
        until the transfer's deadline instead of the connection's ``request_timeout``.
        """
        seconds = check_seconds("transfer_timeout", transfer_timeout)
        client = self._create_client()
        from dataframer.lib.data_plane._session import sync_session_for

        # The SDK's data-plane flows use a plain httpx client of their own, one per SDK client.
        gateway_http = getattr(sync_session_for(client), "_http", None)
        if isinstance(gateway_http, httpx.Client):
            limit_requests(gateway_http, self.settings.request_timeout)
        with deadlines.transfer_until(time.monotonic() + seconds, seconds):
            yield client

    # Specs

    def create_spec(self, spec: SpecCreateRequest) -> str:
        """Start spec generation; return the new spec's id."""
        endpoint = f"POST {SPEC.collection_path}"
        extra_body = spec.extra_body()
        with sdk_errors(endpoint, spec.secrets):
            created = self._create_client().dataframer.specs.create(
                **spec.to_body(), extra_body=extra_body or None
            )
        return self._new_id(created, endpoint)

    @staticmethod
    def _new_id(created: Any, endpoint: str) -> str:
        new_id = getattr(created, "id", None)
        if not isinstance(new_id, str) or not new_id:
            method, _, path = endpoint.partition(" ")
            raise DataframerResponseError(method, path, "the answer to a create has no id")
        return new_id

    def get_spec(self, spec_id: str) -> Spec:
        """Read one spec (its YAML read from a customer-hosted data plane when it is there)."""
        spec_id = checked_id(spec_id, "spec_id")
        endpoint = f"GET {SPEC.item_path(spec_id)}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.specs.retrieve(spec_id)
        return _ours(Spec, answer, endpoint)

    def list_specs(self) -> list[Spec]:
        """List every spec of the company (the endpoint is not paged)."""
        endpoint = f"GET {SPEC.collection_path}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.specs.list()
        return _ours_list(Spec, answer, endpoint)

    def delete_spec(self, spec_id: str, force: bool = False) -> None:
        """Delete a spec; ``force`` also deletes its runs."""
        spec_id = checked_id(spec_id, "spec_id")
        with sdk_errors(f"DELETE {SPEC.item_path(spec_id)}"):
            if force:
                self.get_conn().dataframer.specs.delete(spec_id, force=True)
            else:
                self.get_conn().dataframer.specs.delete(spec_id)

    # Anything with a status: what a wait reads (the status path of any kind, generic and raw)

    def get_status(self, kind: ResourceKind, resource_id: str, *, retries: bool = True) -> StatusResource:
        """
        Read what a wait needs of any kind (status, progress, error), through its status path.

        The generic SDK request (``client.get``) is used rather than ``specs.retrieve``: a wait
        needs no spec YAML (nor its data-plane read), and no SDK model is built for the answer.

        :param retries: False for a poll, as in :meth:`aget_status`: one attempt, whose failure
            goes to the caller at once (the next poll is its retry).
        """
        path = kind.item_path(checked_id(resource_id, f"{kind.name} id"))
        client = self.get_conn() if retries else self.get_conn().with_options(max_retries=0)
        with sdk_errors(f"GET {path}"):
            answer = client.get(path, cast_to=object)
        return _ours(kind.model, answer, f"GET {path}")

    async def aget_status(
        self, kind: ResourceKind, resource_id: str, *, retries: bool = True
    ) -> StatusResource:
        """
        The async twin of :meth:`get_status`.

        :param retries: False for a poll: one attempt, whose failure goes to the caller at once
            (the next poll is its retry; a backoff would hold a wait past its deadline).
        """
        path = kind.item_path(checked_id(resource_id, f"{kind.name} id"))
        client = await self._async_client_for(retries)
        with sdk_errors(f"GET {path}"):
            answer = await self._within_limit(f"GET {path}", client.get(path, cast_to=object))
        return _ours(kind.model, answer, f"GET {path}")

    async def alist_statuses(self, kind: ResourceKind, *, retries: bool = True) -> list[Any]:
        """The raw items of a spec or run list (a waiter reads only the one it waits for)."""
        client = await self._async_client_for(retries)
        endpoint = f"GET {kind.collection_path}"
        with sdk_errors(endpoint):
            answer = await self._within_limit(endpoint, client.get(kind.collection_path, cast_to=object))
        if not isinstance(answer, list):
            raise DataframerResponseError(
                "GET", kind.collection_path, f"expected a list, got {type(answer).__name__}"
            )
        return answer

    async def _async_client_for(self, retries: bool) -> AsyncDataframer:
        client = await self.get_async_conn()
        if retries:
            return client
        if self._async_client_one_attempt is None:  # a copy on the same connection pool, made once
            self._async_client_one_attempt = client.with_options(max_retries=0)
        return self._async_client_one_attempt

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated GET and say what failed, if anything (scrubbed)."""
        try:
            with sdk_errors(f"GET {SEED_DATASETS_PATH}"):
                self.get_conn().dataframer.seed_datasets.list()
        except DataframerAuthError as exc:
            return False, scrub(f"Authentication failed at {self.settings.base_url}: {exc.message}")
        except Exception as exc:
            return False, scrub(str(exc))
        finally:
            self.close()
        return True, f"Connected to Dataframer at {self.settings.base_url}"

    # Seed datasets

    def create_seed_dataset(
        self,
        name: str,
        dataset_type: str,
        files: Sequence[tuple[str, ReadableFile, str]],
        *,
        description: str | None = None,
        folder_names: Sequence[str] | None = None,
        transfer_timeout: float = deadlines.DEFAULT_TRANSFER_TIMEOUT,
    ) -> SeedDataset:
        """
        Upload files as a new seed dataset (multipart, streamed from the file objects).

        Through the SDK: for a company with a customer-hosted data plane the files go to its own
        storage and only their names, sizes and hashes reach Dataframer.

        :param files: ``(file name, binary file object, content type)`` per file, in order.
        :param folder_names: MULTI_FOLDER only: the folder of each file, parallel to ``files``.
        :param transfer_timeout: seconds the upload may take in all (not ``request_timeout``: a
            large seed on a slow link takes long while it progresses).
        """
        endpoint = f"POST {SEED_DATASETS_PATH}create/"
        options: dict[str, Any] = {}
        if description:
            options["description"] = description
        if folder_names is not None:
            options["folder_names"] = list(folder_names)
        with sdk_errors(endpoint), self._transfer(transfer_timeout) as client:
            created = client.dataframer.seed_datasets.create_with_files(
                name=name,
                dataset_type=dataset_type,  # type: ignore[arg-type]
                files=[(filename, fileobj, content_type) for filename, fileobj, content_type in files],  # type: ignore[misc]
                **options,
            )
        return _ours(SeedDataset, created, endpoint)

    def create_seed_dataset_from_zip(
        self,
        name: str,
        zip_file: tuple[str, ReadableFile],
        *,
        description: str | None = None,
        transfer_timeout: float = deadlines.DEFAULT_TRANSFER_TIMEOUT,
    ) -> SeedDataset:
        """
        Upload a ZIP as a new seed dataset; the server detects the type from its layout.

        :param transfer_timeout: seconds the upload may take in all (see :meth:`create_seed_dataset`).
        """
        endpoint = f"POST {SEED_DATASETS_PATH}create-from-zip/"
        filename, fileobj = zip_file
        options: dict[str, Any] = {"description": description} if description else {}
        with sdk_errors(endpoint), self._transfer(transfer_timeout) as client:
            created = client.dataframer.seed_datasets.create_from_zip(
                name=name,
                zip_file=(filename, fileobj, "application/zip"),  # type: ignore[arg-type]
                **options,
            )
        return _ours(SeedDataset, created, endpoint)

    def list_seed_datasets(self) -> list[SeedDataset]:
        """List every seed dataset of the company (summary fields, no file list)."""
        endpoint = f"GET {SEED_DATASETS_PATH}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.seed_datasets.list()
        return _ours_list(SeedDataset, answer, endpoint)

    def get_seed_dataset(self, dataset_id: str) -> SeedDataset:
        """Read one seed dataset with its files."""
        dataset_id = checked_id(dataset_id, "dataset_id")
        endpoint = f"GET {SEED_DATASETS_PATH}{dataset_id}/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.seed_datasets.retrieve(dataset_id)
        return _ours(SeedDataset, answer, endpoint)

    def delete_seed_dataset(self, dataset_id: str) -> None:
        """Delete a seed dataset (the server refuses while a spec uses it)."""
        dataset_id = checked_id(dataset_id, "dataset_id")
        with sdk_errors(f"DELETE {SEED_DATASETS_PATH}{dataset_id}/"):
            self.get_conn().dataframer.seed_datasets.delete(dataset_id)

    # Runs

    def create_run(self, run: RunCreateRequest) -> str:
        """Start a generation run; return its id. It is paid for: never retried blindly."""
        endpoint = f"POST {RUN.collection_path}"
        with sdk_errors(endpoint):
            created = self._create_client().dataframer.runs.create(**run.to_body())
        return self._new_id(created, endpoint)

    def get_run(self, run_id: str) -> Run:
        """Read one run with its progress and, once SUCCEEDED, its generated files."""
        run_id = checked_id(run_id, "run_id")
        endpoint = f"GET {RUN.item_path(run_id)}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.runs.retrieve(run_id)
        return _ours(Run, answer, endpoint)

    def list_runs(self) -> list[Run]:
        """List every run of the company (today's API lists the newest first)."""
        endpoint = f"GET {RUN.collection_path}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.runs.list()
        return _ours_list(Run, answer, endpoint)

    def cancel_run(self, run_id: str) -> None:
        """Cancel a PENDING or PROCESSING run (the API answers without a body)."""
        run_id = checked_id(run_id, "run_id")
        with sdk_errors(f"POST {RUN.item_path(run_id)}cancel/"):
            self.get_conn().dataframer.runs.cancel(run_id)

    async def acancel_run(self, run_id: str) -> None:
        """The async twin of :meth:`cancel_run`, for a trigger whose task is killed."""
        run_id = checked_id(run_id, "run_id")
        client = await self.get_async_conn()
        with sdk_errors(f"POST {RUN.item_path(run_id)}cancel/"):
            await self._within_limit(
                f"POST {RUN.item_path(run_id)}cancel/", client.dataframer.runs.cancel(run_id)
            )

    # Downloads

    @staticmethod
    def download_path(run_id: str, file_id: str | None = None) -> str:
        """The API path that prepares the ZIP of a run's files (or one file)."""
        if file_id:
            return f"{RUN.item_path(run_id)}files/{file_id}/download/"
        return f"{RUN.item_path(run_id)}files/download/"

    def get_download_link(self, run_id: str, file_id: str | None = None) -> DownloadLink | None:
        """
        The presigned URL of a run's ZIP (or one file), or None while it is prepared (HTTP 202).

        Through the SDK's download methods, which send ``X-Data-Plane-Follow: 1`` and, for a
        customer-hosted data plane, fetch the URL from the customer's own gateway.
        """
        run_id = checked_id(run_id, "run_id")
        files = self.get_conn().dataframer.runs.files
        endpoint = f"GET {self.download_path(run_id, file_id)}"
        with sdk_errors(endpoint):
            if file_id:
                answer: Any = files.download(checked_id(file_id, "file_id"), run_id=run_id)
            else:
                answer = files.download_all(run_id)
        link = _ours(DownloadLink, answer, endpoint)
        return link if link.download_url else None

    def wait_for_download_link(
        self,
        run_id: str,
        file_id: str | None = None,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> DownloadLink:
        """Poll until the download is prepared (202 -> 200); give up after ``timeout`` seconds."""
        what = f"file {file_id} of run {run_id}" if file_id else f"the files of run {run_id}"
        return self._wait_for_link(
            lambda: self.get_download_link(run_id, file_id), what, timeout, poll_interval, sleep
        )

    @staticmethod
    def _wait_for_link(
        get_link: Callable[[], DownloadLink | None],
        what: str,
        timeout: float,
        poll_interval: float,
        sleep: Callable[[float], None],
    ) -> DownloadLink:
        """The one 202 loop: read the link until it is ready; give up after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (link := get_link()) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DataframerDownloadError(
                    f"Dataframer was still preparing the download of {what} after {timeout:.0f} s "
                    "(HTTP 202); raise download_timeout or try again later."
                )
            sleep(min(poll_interval, remaining))
        return link

    def get_seed_file_download_link(self, dataset_id: str, file_id: str) -> DownloadLink:
        """The presigned URL of one file of a seed dataset (answered at once, no 202)."""
        dataset_id = checked_id(dataset_id, "dataset_id")
        file_id = checked_id(file_id, "file_id")
        endpoint = f"GET {SEED_DATASETS_PATH}{dataset_id}/files/{file_id}/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.seed_datasets.files.download(file_id, dataset_id=dataset_id)
        return self._ready_link(answer, endpoint)

    def get_anonymized_file_download_link(self, run_id: str, file_id: str) -> DownloadLink:
        """The presigned URL of one masked file of a SUCCEEDED anonymization run."""
        run_id = checked_id(run_id, "anonymization_run_id")
        file_id = checked_id(file_id, "file_id")
        endpoint = f"GET {ANONYMIZATION.item_path(run_id)}files/{file_id}/download/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.anonymization_runs.files.download(file_id, run_id=run_id)
        return self._ready_link(answer, endpoint)

    @staticmethod
    def _ready_link(answer: Any, endpoint: str) -> DownloadLink:
        """A single file's link; these endpoints name the file ``filename`` or ``file_name``."""
        data = answer.to_dict(mode="json") if hasattr(answer, "to_dict") else answer
        if isinstance(data, dict) and not data.get("filename") and data.get("file_name"):
            data = {**data, "filename": data["file_name"]}
        link = _ours(DownloadLink, data, endpoint)
        if not link.download_url:
            method, _, path = endpoint.partition(" ")
            raise DataframerResponseError(method, path, "the answer holds no download_url")
        return link

    def download(
        self,
        link: DownloadLink,
        destination: IO[bytes],
        *,
        max_bytes: int = DEFAULT_LIMITS.max_download_bytes,
        deadline: float | None = None,
    ) -> int:
        """
        Stream a presigned URL into ``destination``, checking its size; return the bytes written.

        See :func:`~airflow_provider_dataframer.hooks.presigned.stream_presigned`: no API key is
        sent, and nothing is written past the announced size (or ``max_bytes`` without one).

        :param deadline: a ``time.monotonic()`` time after which the transfer is abandoned.
        """
        if not link.download_url:
            raise DataframerDownloadError("The download is not ready: Dataframer gave no URL.")
        return stream_presigned(
            link.download_url,
            destination,
            expected_size=link.size_bytes,
            max_bytes=max_bytes,
            timeout=self.settings.timeout,
            retry=self.settings.retry,
            deadline=deadline,
        )

    # ------------------------------------------------------------------------------------------
    # The platform: evaluations, anonymization runs, spec versions, run deletion, red teaming.
    # Each method goes through the SDK client (get_conn) inside sdk_errors; the creates of paid
    # jobs go without retries (_create_client): the operators resolve a lost answer by listing.

    # Evaluations

    def create_evaluation(self, request: EvaluationCreateRequest) -> str:
        """Start evaluating a SUCCEEDED run; return the evaluation's id. Paid: never retried blindly."""
        endpoint = f"POST {EVALUATION.collection_path}"
        with sdk_errors(endpoint):
            created = self._create_client().dataframer.evaluations.create(**request.to_body())
        return self._new_id(created, endpoint)

    def get_evaluation(self, evaluation_id: str) -> Evaluation:
        """Read one evaluation with its distributions (once SUCCEEDED)."""
        evaluation_id = checked_id(evaluation_id, "evaluation_id")
        endpoint = f"GET {EVALUATION.item_path(evaluation_id)}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.evaluations.retrieve(evaluation_id)
        return _ours(Evaluation, answer, endpoint)

    def list_run_evaluations(self, run_id: str) -> list[EvaluationStatus]:
        """The evaluations of one run."""
        run_id = checked_id(run_id, "run_id")
        endpoint = f"GET {RUN.item_path(run_id)}evaluations/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.runs.evaluations.list(run_id)
        return _ours_list(EvaluationStatus, answer, endpoint)

    # Anonymization runs

    def create_anonymization_run(self, request: AnonymizationCreateRequest) -> str:
        """Start masking the PII of a seed dataset; return the run's id. Never retried blindly."""
        endpoint = f"POST {ANONYMIZATION.collection_path}"
        with sdk_errors(endpoint):
            created = self._create_client().dataframer.anonymization_runs.create(**request.to_body())
        return self._new_id(created, endpoint)

    def get_anonymization_run(self, run_id: str) -> AnonymizationRun:
        """Read one anonymization run with its results and masked files."""
        run_id = checked_id(run_id, "anonymization_run_id")
        endpoint = f"GET {ANONYMIZATION.item_path(run_id)}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.anonymization_runs.retrieve(run_id)
        return _ours(AnonymizationRun, answer, endpoint)

    def list_anonymization_runs(self) -> list[AnonymizationRun]:
        """Every anonymization run of the company."""
        endpoint = f"GET {ANONYMIZATION.collection_path}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.anonymization_runs.list()
        return _ours_list(AnonymizationRun, answer, endpoint)

    def delete_anonymization_run(self, run_id: str) -> None:
        """Delete an anonymization run and its masked files."""
        run_id = checked_id(run_id, "anonymization_run_id")
        with sdk_errors(f"DELETE {ANONYMIZATION.item_path(run_id)}"):
            self.get_conn().dataframer.anonymization_runs.delete(run_id)

    def get_anonymized_download_link(self, run_id: str) -> DownloadLink | None:
        """The presigned URL of the masked files' ZIP, or None while it is ``generating``."""
        run_id = checked_id(run_id, "anonymization_run_id")
        endpoint = f"GET {ANONYMIZATION.item_path(run_id)}download/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.anonymization_runs.files.download_all(run_id)
        if not getattr(answer, "download_url", None):
            return None
        return _ours(DownloadLink, answer, endpoint)

    def wait_for_anonymized_download_link(
        self,
        run_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> DownloadLink:
        """Poll until the masked files' ZIP is built; give up after ``timeout`` seconds."""
        what = f"the masked files of anonymization run {run_id}"
        return self._wait_for_link(
            lambda: self.get_anonymized_download_link(run_id), what, timeout, poll_interval, sleep
        )

    # Spec versions

    def update_spec(self, spec_id: str, content_yaml: str) -> Spec:
        """Add a version to a spec with ``content_yaml``; the spec as the server answered."""
        spec_id = checked_id(spec_id, "spec_id")
        endpoint = f"PUT {SPEC.item_path(spec_id)}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.specs.update(spec_id, content_yaml=content_yaml)
        return _ours(Spec, answer, endpoint)

    def get_spec_with_versions(self, spec_id: str) -> Spec:
        """Read one spec with every version of its YAML (``include_versions=true``)."""
        spec_id = checked_id(spec_id, "spec_id")
        endpoint = f"GET {SPEC.item_path(spec_id)}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.specs.retrieve(spec_id, include_versions=True)
        return _ours(Spec, answer, endpoint)

    # Run deletion

    def list_spec_runs(self, spec_id: str) -> list[RunListing]:
        """The runs of one spec, newest first (by ``created_at``)."""
        spec_id = checked_id(spec_id, "spec_id")
        endpoint = f"GET {RUN.collection_path}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.runs.list()
        runs = [run for run in _ours_list(RunListing, answer, endpoint) if run.spec_id == spec_id]
        return sorted(runs, key=RunListing.sort_key, reverse=True)

    def delete_run(self, run_id: str) -> None:
        """Delete a run and its generated files."""
        run_id = checked_id(run_id, "run_id")
        with sdk_errors(f"DELETE {RUN.item_path(run_id)}"):
            self.get_conn().dataframer.runs.delete(run_id)

    # Red teaming

    def create_red_team_spec(self, request: RedTeamSpecRequest) -> RedTeamSpec:
        """Create a red-team spec (the server stores its name in snake_case)."""
        endpoint = f"POST {RED_TEAM_SPECS_PATH}"
        with sdk_errors(endpoint):
            answer = self._create_client().dataframer.red_team_specs.create(**request.to_body())
        return _ours(RedTeamSpec, answer, endpoint)

    def get_red_team_spec(self, spec_id: str) -> RedTeamSpec:
        """Read one red-team spec."""
        spec_id = checked_id(spec_id, "red_team_spec_id")
        endpoint = f"GET {RED_TEAM_SPECS_PATH}{spec_id}/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.red_team_specs.retrieve(spec_id)
        return _ours(RedTeamSpec, answer, endpoint)

    def list_red_team_specs(self) -> list[RedTeamSpec]:
        """Every red-team spec of the company."""
        endpoint = f"GET {RED_TEAM_SPECS_PATH}"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.red_team_specs.list()
        return _ours_list(RedTeamSpec, answer, endpoint)

    def update_red_team_spec(self, spec_id: str, **changes: str) -> RedTeamSpec:
        """Change fields of a red-team spec (``name``, ``app_description``, ...)."""
        spec_id = checked_id(spec_id, "red_team_spec_id")
        endpoint = f"PATCH {RED_TEAM_SPECS_PATH}{spec_id}/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.red_team_specs.update(spec_id, **changes)  # type: ignore[arg-type]
        return _ours(RedTeamSpec, answer, endpoint)

    def delete_red_team_spec(self, spec_id: str) -> None:
        """Delete a red-team spec."""
        spec_id = checked_id(spec_id, "red_team_spec_id")
        with sdk_errors(f"DELETE {RED_TEAM_SPECS_PATH}{spec_id}/"):
            self.get_conn().dataframer.red_team_specs.delete(spec_id)

    def create_red_team_run(self, request: RedTeamRunRequest) -> str:
        """Start generating adversarial prompts; return the run's id. Paid: never retried blindly."""
        endpoint = f"POST {RED_TEAM_RUN.collection_path}"
        with sdk_errors(endpoint):
            created = self._create_client().dataframer.red_team_runs.create(**request.to_body())  # type: ignore[arg-type]
        return self._new_id(created, endpoint)

    def get_red_team_run(self, run_id: str) -> RedTeamRun:
        """Read one red-team run with its prompts (once SUCCEEDED)."""
        run_id = checked_id(run_id, "red_team_run_id")
        endpoint = f"GET {RED_TEAM_RUN.collection_path}{run_id}/"
        with sdk_errors(endpoint):
            answer = self.get_conn().dataframer.red_team_runs.retrieve(run_id)
        return _ours(RedTeamRun, answer, endpoint)

    def list_red_team_runs(self, spec_id: str | None = None) -> list[RedTeamRunStatus]:
        """The red-team runs of the company, or of one spec."""
        endpoint = f"GET {RED_TEAM_RUN.collection_path}"
        with sdk_errors(endpoint):
            runs = self.get_conn().dataframer.red_team_runs
            answer = runs.list(spec_id=spec_id) if spec_id else runs.list()
        return _ours_list(RedTeamRunStatus, answer, endpoint)

    def delete_red_team_run(self, run_id: str) -> None:
        """Delete a red-team run."""
        run_id = checked_id(run_id, "red_team_run_id")
        with sdk_errors(f"DELETE {RED_TEAM_RUN.collection_path}{run_id}/"):
            self.get_conn().dataframer.red_team_runs.delete(run_id)
