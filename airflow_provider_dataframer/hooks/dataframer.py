"""The Dataframer hook: the one place in the provider that speaks HTTP."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import IO, Any, Protocol

import httpx
from airflow.providers.common.compat.sdk import BaseHook, mask_secret
from dataframer import APIConnectionError, APIStatusError, AsyncDataframer, Dataframer

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerAuthError,
    DataframerConfigError,
    DataframerDownloadError,
    DataframerNotFoundError,
    DataframerTransportError,
)
from airflow_provider_dataframer.models import (
    ANONYMIZATION,
    DEFAULT_BASE_URL,
    EVALUATION,
    RED_TEAM_RUN,
    RED_TEAM_SPECS_PATH,
    RUN,
    SPEC,
    AnonymizationCreateRequest,
    AnonymizationRun,
    CreatedResource,
    DownloadLink,
    Evaluation,
    EvaluationCreateRequest,
    EvaluationStatus,
    RedTeamRun,
    RedTeamRunRequest,
    RedTeamRunStatus,
    RedTeamSpec,
    RedTeamSpecRequest,
    ResourceKind,
    Run,
    RunCreateRequest,
    RunListing,
    SeedDataset,
    Spec,
    SpecCreateRequest,
    StatusResource,
)
from airflow_provider_dataframer.retry import (
    RetryPolicy,
    parse_retry_after,
    parse_should_retry,
    transport_error,
)

API_KEY_ENV_VAR = "DATAFRAMER_API_KEY"
SEED_DATASETS_PATH = "/api/dataframer/seed-datasets/"
MAX_MESSAGE_CHARS = 500


class ReadableFile(Protocol):
    """A binary file object to upload: httpx reads it in chunks (and sizes it by seek/tell)."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ConnectionSettings:
    """
    Everything the hook needs from an Airflow connection, resolved once.

    :param base_url: the API's base URL, without a trailing slash.
    :param api_key: the Bearer API key (never logged; registered with the secrets masker).
    :param timeout: connect/read/write/pool timeouts of every request.
    :param retry: the retry policy of every request.
    """

    base_url: str
    api_key: str
    timeout: httpx.Timeout
    retry: RetryPolicy

    def __repr__(self) -> str:  # the dataclass repr would print the key
        return (
            f"ConnectionSettings(base_url={self.base_url!r}, timeout={self.timeout!r}, retry={self.retry!r})"
        )

    @classmethod
    def from_connection(cls, conn: Any) -> ConnectionSettings:
        """Read an Airflow connection (``host`` base URL, ``password`` API key, timeout/retry extras)."""
        extra = conn.extra_dejson or {}
        api_key = conn.password or os.environ.get(API_KEY_ENV_VAR, "")
        if not api_key:
            raise DataframerConfigError(
                f"No Dataframer API key: set the password (API Key) of the Airflow connection "
                f"{conn.conn_id!r} or the {API_KEY_ENV_VAR} environment variable."
            )
        mask_secret(api_key)
        return cls(
            base_url=base_url_from(conn.host, conn.schema, conn.port),
            api_key=api_key,
            timeout=httpx.Timeout(
                float(extra.get("read_timeout", 60.0)),
                connect=float(extra.get("connect_timeout", 5.0)),
            ),
            retry=RetryPolicy(
                max_retries=int(extra.get("max_retries", 2)),
                initial_backoff=float(extra.get("retry_initial_backoff", 0.5)),
                max_backoff=float(extra.get("retry_max_backoff", 8.0)),
            ),
        )

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by the sync and async httpx clients."""
        from airflow_provider_dataframer import __version__

        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "headers": {
                "Authorization": f"Bearer {self.api_key}",
                "Accept": "application/json",
                "User-Agent": f"airflow-provider-dataframer/{__version__}",
            },
        }


def base_url_from(host: str | None, schema: str | None, port: int | None) -> str:
    """
    Build the base URL from a connection's host, schema and port.

    ``host`` may be a full URL (``http://127.0.0.1:8080``) or a bare host name, in which case
    ``schema`` (default ``https``) and ``port`` complete it. An empty host means the public API.
    """
    if not host:
        return DEFAULT_BASE_URL
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"{schema or 'https'}://{host}"
    url = httpx.URL(host)
    if port and url.port is None:
        url = url.copy_with(port=int(port))
    return str(url).rstrip("/")


def error_from_response(
    method: str, path: str, response: httpx.Response, secrets: Sequence[str] = ()
) -> DataframerApiError:
    """
    The provider exception for an error response, carrying the server's own message.

    :param secrets: values to blank out of the message, should the server echo them (the API key,
        a databricks client secret): exception text reaches callbacks and alert e-mails unmasked.
    """
    status = response.status_code
    error_class: type[DataframerApiError] = DataframerApiError
    if status == 404:
        error_class = DataframerNotFoundError
    elif status in (401, 403):
        error_class = DataframerAuthError
    message = server_message(response)
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return error_class(
        status,
        message,
        method,
        path,
        retry_after=parse_retry_after(response.headers),
        should_retry=parse_should_retry(response.headers),
    )


def server_message(response: httpx.Response) -> str:
    """The server's message from ``detail``, ``error`` or ``message`` (or the start of the body)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
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


@contextlib.contextmanager
def sdk_errors(endpoint: str | None = None, secrets: Sequence[str] = ()) -> Iterator[None]:
    """
    Turn what the SDK raises inside the block into the provider's exceptions (interim until
    wt/sdk's fuller version replaces it).

    :param endpoint: ``"METHOD /path/"`` for messages.
    :param secrets: values to blank out of the server's message.
    """
    method, _, path = (endpoint or "? ?").partition(" ")
    try:
        yield
    except APIStatusError as exc:
        raise error_from_response(method, path, exc.response, secrets) from None
    except APIConnectionError as exc:
        cause = exc.__cause__
        if isinstance(cause, httpx.TransportError):
            raise transport_error(method, path, cause) from None
        raise DataframerTransportError(method, path, type(exc).__name__) from None


def checked(method: str, path: str, response: httpx.Response, secrets: Sequence[str] = ()) -> httpx.Response:
    """``response`` if it is a success; the provider exception with the server's message otherwise."""
    if response.is_error:
        raise error_from_response(method, path, response, secrets)
    return response


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON of a response (None for an empty one)."""
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


class DataframerHook(BaseHook):
    """
    Talk to the Dataframer API with the API key and base URL of an Airflow connection.

    The connection's password is the API key (sent as ``Authorization: Bearer <key>``); when it is
    empty the ``DATAFRAMER_API_KEY`` environment variable is used. The host is the base URL
    (default ``https://df-api.dataframer.ai``): a full URL such as ``http://127.0.0.1:8080`` or a
    host name completed by the schema and port fields. Extras: ``connect_timeout`` (5 s),
    ``read_timeout`` (60 s), ``max_retries`` (2), ``retry_initial_backoff`` (0.5 s) and
    ``retry_max_backoff`` (8 s).

    :param dataframer_conn_id: the Airflow connection id.
    """

    conn_name_attr = "dataframer_conn_id"
    default_conn_name = "dataframer_default"
    conn_type = "dataframer"
    hook_name = "Dataframer"

    def __init__(self, dataframer_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.dataframer_conn_id = dataframer_conn_id
        self._settings: ConnectionSettings | None = None
        self._async_client: httpx.AsyncClient | None = None
        self._sdk_client: Dataframer | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabel the connection form: the password is the API key, the host the base URL."""
        from airflow_provider_dataframer import CONNECTION_FORM

        return {key.replace("-", "_"): value for key, value in CONNECTION_FORM.items()}

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

    @cached_property
    def client(self) -> httpx.Client:
        """The blocking httpx client, authenticated and with the configured timeouts."""
        return httpx.Client(**self.settings.client_kwargs())

    def get_conn(self) -> Dataframer:
        """The blocking SDK client of this hook (interim until wt/sdk's version replaces it)."""
        if self._sdk_client is None:
            settings = self.settings
            self._sdk_client = Dataframer(
                api_key=settings.api_key,
                base_url=settings.base_url,
                max_retries=settings.retry.max_retries,
                timeout=settings.timeout,
            )
        return self._sdk_client

    async def get_async_conn(self) -> AsyncDataframer:
        """The async SDK client of this hook (interim until wt/sdk's version replaces it)."""
        settings = await self.aget_settings()
        return AsyncDataframer(
            api_key=settings.api_key,
            base_url=settings.base_url,
            max_retries=settings.retry.max_retries,
            timeout=settings.timeout,
        )

    async def aget_client(self) -> httpx.AsyncClient:
        """The async httpx client of this hook, created on first use."""
        if self._async_client is None:
            settings = await self.aget_settings()
            self._async_client = httpx.AsyncClient(**settings.client_kwargs())
        return self._async_client

    def close(self) -> None:
        """Close the blocking client if it was opened."""
        if "client" in self.__dict__:
            self.__dict__.pop("client").close()
        if self._sdk_client is not None:
            client, self._sdk_client = self._sdk_client, None
            client.close()

    async def aclose(self) -> None:
        """Close the async client if it was opened."""
        if self._async_client is not None:
            client, self._async_client = self._async_client, None
            await client.aclose()

    @classmethod
    def with_async_client(
        cls,
        settings: ConnectionSettings,
        client: httpx.AsyncClient,
        dataframer_conn_id: str = default_conn_name,
    ) -> DataframerHook:
        """
        A hook on already resolved ``settings`` whose async requests go through ``client``.

        The hook owns the client (:meth:`aclose` closes it). The triggerer's shared status poller
        uses this to give all the triggers of a connection one pooled client.
        """
        hook = cls(dataframer_conn_id)
        hook._settings = settings
        hook._async_client = client
        return hook

    # Requests

    def send(
        self, method: str, path: str, *, idempotent: bool = True, secrets: Sequence[str] = (), **kwargs: Any
    ) -> httpx.Response:
        """
        Send one API request with the retry policy and return the successful response itself.

        ``kwargs`` go to httpx (``json``, ``params``, ``data``, ``files``). File objects are rewound
        by httpx before each attempt, so a retried upload sends the whole file again.

        :param idempotent: False for creates: ambiguous failures are then raised, not retried.
        :param secrets: secrets in the request besides the API key, kept out of error messages.
        """
        secrets = (self.settings.api_key, *secrets)
        for attempt in self.settings.retry.retrying(idempotent):
            with attempt:
                try:
                    response = self.client.request(method, path, **kwargs)
                except httpx.TransportError as exc:
                    raise transport_error(method, path, exc) from exc
                return checked(method, path, response, secrets)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def asend(
        self, method: str, path: str, *, idempotent: bool = True, secrets: Sequence[str] = (), **kwargs: Any
    ) -> httpx.Response:
        """The async twin of :meth:`send`, with the same retry policy."""
        client = await self.aget_client()
        secrets = (self.settings.api_key, *secrets)
        async for attempt in self.settings.retry.async_retrying(idempotent):
            with attempt:
                try:
                    response = await client.request(method, path, **kwargs)
                except httpx.TransportError as exc:
                    raise transport_error(method, path, exc) from exc
                return checked(method, path, response, secrets)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`send` one API request and return the decoded JSON of its answer."""
        return json_body(self.send(method, path, **kwargs))

    async def arequest(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`asend` one API request and return the decoded JSON of its answer."""
        return json_body(await self.asend(method, path, **kwargs))

    # Specs

    def create_spec(self, spec: SpecCreateRequest) -> CreatedResource:
        """Start spec generation; the answer may be ``{"id": ...}`` or the whole spec."""
        secret = spec.databricks_client_secret
        body = self.request(
            "POST",
            SPEC.collection_path,
            json=spec.to_body(),
            idempotent=False,
            secrets=(secret,) if secret else (),
        )
        return CreatedResource.model_validate(body)

    def get_spec(self, spec_id: str) -> Spec:
        """Read one spec."""
        return Spec.model_validate(self.request("GET", SPEC.item_path(spec_id)))

    def list_specs(self) -> list[Spec]:
        """List every spec of the company (the endpoint is not paged)."""
        return [Spec.model_validate(item) for item in self.request("GET", SPEC.collection_path)]

    def delete_spec(self, spec_id: str, force: bool = False) -> None:
        """Delete a spec; ``force`` also deletes its runs."""
        params = {"force": "true"} if force else None
        self.request("DELETE", SPEC.item_path(spec_id), params=params)

    # Anything with a status

    def get_resource(self, kind: ResourceKind, resource_id: str) -> StatusResource:
        """Read one spec or run, typed by ``kind``."""
        return kind.model.model_validate(self.request("GET", kind.item_path(resource_id)))

    async def aget_resource(self, kind: ResourceKind, resource_id: str) -> StatusResource:
        """The async twin of :meth:`get_resource`."""
        return kind.model.model_validate(await self.arequest("GET", kind.item_path(resource_id)))

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated GET and say what failed, if anything."""
        try:
            self.request("GET", SEED_DATASETS_PATH)
        except DataframerAuthError as exc:
            return False, f"Authentication failed at {self.settings.base_url}: {exc.message}"
        except Exception as exc:
            return False, str(exc)
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
    ) -> SeedDataset:
        """
        Upload files as a new seed dataset (multipart ``files[]``, streamed from the file objects).

        :param files: ``(file name, binary file object, content type)`` per file, in order.
        :param folder_names: MULTI_FOLDER only: the folder of each file, parallel to ``files``.
        """
        data: dict[str, Any] = {"name": name, "dataset_type": dataset_type}
        if description:
            data["description"] = description
        if folder_names is not None:
            data["folder_names[]"] = list(folder_names)
        parts = [("files[]", (filename, fileobj, content_type)) for filename, fileobj, content_type in files]
        response = self.send("POST", f"{SEED_DATASETS_PATH}create/", data=data, files=parts, idempotent=False)
        return SeedDataset.model_validate(response.json())

    def create_seed_dataset_from_zip(
        self, name: str, zip_file: tuple[str, ReadableFile], *, description: str | None = None
    ) -> SeedDataset:
        """Upload a ZIP as a new seed dataset; the server detects the type from its layout."""
        data: dict[str, Any] = {"name": name}
        if description:
            data["description"] = description
        filename, fileobj = zip_file
        response = self.send(
            "POST",
            f"{SEED_DATASETS_PATH}create-from-zip/",
            data=data,
            files={"zip_file": (filename, fileobj, "application/zip")},
            idempotent=False,
        )
        return SeedDataset.model_validate(response.json())

    def list_seed_datasets(self) -> list[SeedDataset]:
        """List every seed dataset of the company (summary fields, no file list)."""
        return [SeedDataset.model_validate(item) for item in self.request("GET", SEED_DATASETS_PATH)]

    def get_seed_dataset(self, dataset_id: str) -> SeedDataset:
        """Read one seed dataset with its files."""
        return SeedDataset.model_validate(self.request("GET", f"{SEED_DATASETS_PATH}{dataset_id}/"))

    def delete_seed_dataset(self, dataset_id: str) -> None:
        """Delete a seed dataset (the server refuses while a spec uses it)."""
        self.request("DELETE", f"{SEED_DATASETS_PATH}{dataset_id}/")

    # Runs

    def create_run(self, run: RunCreateRequest) -> CreatedResource:
        """Start a generation run; it is paid for, so an ambiguous failure is never retried."""
        body = self.request("POST", RUN.collection_path, json=run.to_body(), idempotent=False)
        return CreatedResource.model_validate(body)

    def get_run(self, run_id: str) -> Run:
        """Read one run with its progress and, once SUCCEEDED, its generated files."""
        return Run.model_validate(self.request("GET", RUN.item_path(run_id)))

    def list_runs(self) -> list[Run]:
        """List every run of the company."""
        return [Run.model_validate(item) for item in self.request("GET", RUN.collection_path)]

    def cancel_run(self, run_id: str) -> Run | None:
        """Cancel a PENDING or PROCESSING run; the run as the server answered, when it did."""
        body = self.request("POST", f"{RUN.item_path(run_id)}cancel/")
        return Run.model_validate(body) if isinstance(body, dict) and "id" in body else None

    async def acancel_run(self, run_id: str) -> Run | None:
        """The async twin of :meth:`cancel_run`, for a trigger whose task is killed."""
        body = await self.arequest("POST", f"{RUN.item_path(run_id)}cancel/")
        return Run.model_validate(body) if isinstance(body, dict) and "id" in body else None

    # Downloads

    @staticmethod
    def download_path(run_id: str, file_id: str | None = None) -> str:
        """The API path that prepares the ZIP of a run's files (or one file)."""
        if file_id:
            return f"{RUN.item_path(run_id)}files/{file_id}/download/"
        return f"{RUN.item_path(run_id)}files/download/"

    def get_download_link(self, run_id: str, file_id: str | None = None) -> DownloadLink | None:
        """The presigned URL of a run's ZIP (or one file), or None while it is prepared (HTTP 202)."""
        response = self.send("GET", self.download_path(run_id, file_id))
        if response.status_code == 202:
            return None
        return DownloadLink.model_validate(response.json())

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
        deadline = time.monotonic() + timeout
        while True:
            link = self.get_download_link(run_id, file_id)
            if link is not None:
                return link
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = f"file {file_id} of run {run_id}" if file_id else f"the files of run {run_id}"
                raise DataframerDownloadError(
                    f"Dataframer was still preparing the download of {what} after {timeout:.0f} s "
                    "(HTTP 202); raise the download timeout or try again later."
                )
            sleep(min(poll_interval, remaining))

    def download(self, link: DownloadLink, destination: IO[bytes], chunk_size: int = 1024 * 1024) -> int:
        """
        Stream a presigned URL into ``destination`` and verify its size; return the bytes written.

        The URL is fetched with a separate client that sends no ``Authorization`` header: the API
        key must never reach the storage behind the URL. A failure before the first byte is
        retried; a failure after it is raised, since ``destination`` already holds a part.
        """
        url = httpx.URL(link.download_url)
        where = f"{url.host}{url.path}"  # never the query: it is the signature
        with httpx.Client(timeout=self.settings.timeout, follow_redirects=True) as client:
            for attempt in self.settings.retry.retrying(idempotent=True):
                with attempt:
                    written = _stream_to(client, url, where, destination, chunk_size)
        if link.size_bytes is not None and written != link.size_bytes:
            raise DataframerDownloadError(
                f"Download from {where} was incomplete: {written} bytes received, "
                f"{link.size_bytes} announced."
            )
        return written

    # ------------------------------------------------------------------------------------------
    # The platform: evaluations, anonymization runs, spec versions, run deletion, red teaming.
    # Each method goes through the SDK client (get_conn / get_async_conn) inside sdk_errors; the
    # creates of paid jobs go without retries (the operators resolve a lost answer by listing).

    def _platform_create_client(self) -> Dataframer:
        return self.get_conn().with_options(max_retries=0)

    @staticmethod
    def _as_dict(answer: Any) -> Any:
        return answer.to_dict(mode="json") if hasattr(answer, "to_dict") else answer

    def get_status(self, kind: ResourceKind, resource_id: str) -> StatusResource:
        """Read what a wait needs of any kind through its status path (``kind.item_path``)."""
        path = kind.item_path(resource_id)
        with sdk_errors(f"GET {path}"):
            answer = self.get_conn().get(path, cast_to=object)
        return kind.model.model_validate(answer)

    # Evaluations

    def create_evaluation(self, request: EvaluationCreateRequest) -> str:
        """Start evaluating a SUCCEEDED run; return the evaluation's id. Paid: never retried blindly."""
        with sdk_errors(f"POST {EVALUATION.collection_path}"):
            created = self._platform_create_client().dataframer.evaluations.create(**request.to_body())
        return CreatedResource.model_validate(self._as_dict(created)).id

    def get_evaluation(self, evaluation_id: str) -> Evaluation:
        """Read one evaluation with its distributions (once SUCCEEDED)."""
        with sdk_errors(f"GET {EVALUATION.item_path(evaluation_id)}"):
            answer = self.get_conn().dataframer.evaluations.retrieve(evaluation_id)
        return Evaluation.model_validate(self._as_dict(answer))

    def list_run_evaluations(self, run_id: str) -> list[EvaluationStatus]:
        """The evaluations of one run."""
        with sdk_errors(f"GET {RUN.item_path(run_id)}evaluations/"):
            answer = self.get_conn().dataframer.runs.evaluations.list(run_id)
        return [EvaluationStatus.model_validate(self._as_dict(item)) for item in answer]

    # Anonymization runs

    def create_anonymization_run(self, request: AnonymizationCreateRequest) -> str:
        """Start masking the PII of a seed dataset; return the run's id. Never retried blindly."""
        with sdk_errors(f"POST {ANONYMIZATION.collection_path}"):
            created = self._platform_create_client().dataframer.anonymization_runs.create(**request.to_body())
        return CreatedResource.model_validate(self._as_dict(created)).id

    def get_anonymization_run(self, run_id: str) -> AnonymizationRun:
        """Read one anonymization run with its results and masked files."""
        with sdk_errors(f"GET {ANONYMIZATION.item_path(run_id)}"):
            answer = self.get_conn().dataframer.anonymization_runs.retrieve(run_id)
        return AnonymizationRun.model_validate(self._as_dict(answer))

    def list_anonymization_runs(self) -> list[AnonymizationRun]:
        """Every anonymization run of the company."""
        with sdk_errors(f"GET {ANONYMIZATION.collection_path}"):
            answer = self.get_conn().dataframer.anonymization_runs.list()
        return [AnonymizationRun.model_validate(self._as_dict(item)) for item in answer]

    def delete_anonymization_run(self, run_id: str) -> None:
        """Delete an anonymization run and its masked files."""
        with sdk_errors(f"DELETE {ANONYMIZATION.item_path(run_id)}"):
            self.get_conn().dataframer.anonymization_runs.delete(run_id)

    def get_anonymized_download_link(self, run_id: str) -> DownloadLink | None:
        """The presigned URL of the masked files' ZIP, or None while it is ``generating``."""
        with sdk_errors(f"GET {ANONYMIZATION.item_path(run_id)}download/"):
            answer = self._as_dict(self.get_conn().dataframer.anonymization_runs.files.download_all(run_id))
        return DownloadLink.model_validate(answer) if answer.get("download_url") else None

    def wait_for_anonymized_download_link(
        self,
        run_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> DownloadLink:
        """Poll until the masked files' ZIP is built; give up after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (link := self.get_anonymized_download_link(run_id)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DataframerDownloadError(
                    f"Dataframer was still building the ZIP of anonymization run {run_id} after "
                    f"{timeout:.0f} s; raise download_timeout or try again later."
                )
            sleep(min(poll_interval, remaining))
        return link

    # Spec versions

    def update_spec(self, spec_id: str, content_yaml: str) -> Spec:
        """Add a version to a spec with ``content_yaml``; the spec as the server answered."""
        with sdk_errors(f"PUT {SPEC.item_path(spec_id)}"):
            answer = self.get_conn().dataframer.specs.update(spec_id, content_yaml=content_yaml)
        return Spec.model_validate(self._as_dict(answer))

    def get_spec_with_versions(self, spec_id: str) -> Spec:
        """Read one spec with every version of its YAML (``include_versions=true``)."""
        with sdk_errors(f"GET {SPEC.item_path(spec_id)}"):
            answer = self.get_conn().dataframer.specs.retrieve(spec_id, include_versions=True)
        return Spec.model_validate(self._as_dict(answer))

    # Run deletion

    def list_spec_runs(self, spec_id: str) -> list[RunListing]:
        """The runs of one spec, newest first (by ``created_at``)."""
        with sdk_errors(f"GET {RUN.collection_path}"):
            answer = self.get_conn().dataframer.runs.list()
        runs = [RunListing.model_validate(self._as_dict(item)) for item in answer]
        return sorted((r for r in runs if r.spec_id == spec_id), key=RunListing.sort_key, reverse=True)

    def delete_run(self, run_id: str) -> None:
        """Delete a run and its generated files."""
        with sdk_errors(f"DELETE {RUN.item_path(run_id)}"):
            self.get_conn().dataframer.runs.delete(run_id)

    # Red teaming

    def create_red_team_spec(self, request: RedTeamSpecRequest) -> RedTeamSpec:
        """Create a red-team spec (the server stores its name in snake_case)."""
        with sdk_errors(f"POST {RED_TEAM_SPECS_PATH}"):
            answer = self._platform_create_client().dataframer.red_team_specs.create(**request.to_body())
        return RedTeamSpec.model_validate(self._as_dict(answer))

    def get_red_team_spec(self, spec_id: str) -> RedTeamSpec:
        """Read one red-team spec."""
        with sdk_errors(f"GET {RED_TEAM_SPECS_PATH}{spec_id}/"):
            answer = self.get_conn().dataframer.red_team_specs.retrieve(spec_id)
        return RedTeamSpec.model_validate(self._as_dict(answer))

    def list_red_team_specs(self) -> list[RedTeamSpec]:
        """Every red-team spec of the company."""
        with sdk_errors(f"GET {RED_TEAM_SPECS_PATH}"):
            answer = self.get_conn().dataframer.red_team_specs.list()
        return [RedTeamSpec.model_validate(self._as_dict(item)) for item in answer]

    def update_red_team_spec(self, spec_id: str, **changes: str) -> RedTeamSpec:
        """Change fields of a red-team spec (``name``, ``app_description``, ...)."""
        with sdk_errors(f"PATCH {RED_TEAM_SPECS_PATH}{spec_id}/"):
            answer = self.get_conn().dataframer.red_team_specs.update(spec_id, **changes)  # type: ignore[arg-type]
        return RedTeamSpec.model_validate(self._as_dict(answer))

    def delete_red_team_spec(self, spec_id: str) -> None:
        """Delete a red-team spec."""
        with sdk_errors(f"DELETE {RED_TEAM_SPECS_PATH}{spec_id}/"):
            self.get_conn().dataframer.red_team_specs.delete(spec_id)

    def create_red_team_run(self, request: RedTeamRunRequest) -> str:
        """Start generating adversarial prompts; return the run's id. Paid: never retried blindly."""
        with sdk_errors(f"POST {RED_TEAM_RUN.collection_path}"):
            created = self._platform_create_client().dataframer.red_team_runs.create(**request.to_body())
        return CreatedResource.model_validate(self._as_dict(created)).id

    def get_red_team_run(self, run_id: str) -> RedTeamRun:
        """Read one red-team run with its prompts (once SUCCEEDED)."""
        with sdk_errors(f"GET {RED_TEAM_RUN.collection_path}{run_id}/"):
            answer = self.get_conn().dataframer.red_team_runs.retrieve(run_id)
        return RedTeamRun.model_validate(self._as_dict(answer))

    def list_red_team_runs(self, spec_id: str | None = None) -> list[RedTeamRunStatus]:
        """The red-team runs of the company, or of one spec."""
        with sdk_errors(f"GET {RED_TEAM_RUN.collection_path}"):
            runs = self.get_conn().dataframer.red_team_runs
            answer = runs.list(spec_id=spec_id) if spec_id else runs.list()
        return [RedTeamRunStatus.model_validate(self._as_dict(item)) for item in answer]

    def delete_red_team_run(self, run_id: str) -> None:
        """Delete a red-team run."""
        with sdk_errors(f"DELETE {RED_TEAM_RUN.collection_path}{run_id}/"):
            self.get_conn().dataframer.red_team_runs.delete(run_id)


def _stream_to(
    client: httpx.Client, url: httpx.URL, where: str, destination: IO[bytes], chunk_size: int
) -> int:
    """One attempt of :meth:`DataframerHook.download`; errors before the first byte are retryable."""
    written = 0
    try:
        with client.stream("GET", url) as response:
            if response.is_error:
                response.read()
                error = error_from_response("GET", where, response)
                if response.status_code == 403:
                    raise DataframerDownloadError(
                        f"The download URL was refused ({where}, HTTP 403: {error.message}): it expires "
                        "one hour after it is issued; run the download again to get a fresh one."
                    )
                raise error
            for chunk in response.iter_bytes(chunk_size):
                destination.write(chunk)
                written += len(chunk)
    except httpx.TransportError as exc:
        if written:
            raise DataframerDownloadError(
                f"Download from {where} broke off after {written} bytes: {type(exc).__name__}: {exc}"
            ) from exc
        raise transport_error("GET", where, exc) from exc
    return written
