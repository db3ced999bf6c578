"""The HTTP face of the emulator: the documented endpoints, auth, and the admin endpoints."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.types import Receive, Scope, Send

from dataframer_emulator.config import EmulatorConfig
from dataframer_emulator.errors import ApiError
from dataframer_emulator.faults import (
    ADMIN_PREFIX,
    FaultLayer,
    FaultRegistry,
    FaultRule,
    RequestLog,
    RequestRecord,
    install_log_filter,
)
from dataframer_emulator.home import home_page
from dataframer_emulator.limits import BodyLimit
from dataframer_emulator.platform_routes import include_platform_routes
from dataframer_emulator.schemas import RunCreate, SpecCreate, SpecUpdate
from dataframer_emulator.seeds import Upload
from dataframer_emulator.service import EmulatorService
from dataframer_emulator.store import Store, open_store

API_PREFIX = "/api/dataframer"
# Starlette's form parser stops at 1000 files; the documented limit (1000) must fail with our message.
_MAX_FORM_PARTS = 5000


class EmulatorApp(FastAPI):
    """
    The emulator's FastAPI application, served through its :class:`FaultLayer`.

    :param config: the emulator configuration.
    :param store: where state is kept; by default from ``config.state_path``.
    """

    def __init__(self, config: EmulatorConfig, store: Store | None = None) -> None:
        super().__init__(
            title="Dataframer API emulator",
            description="An offline server of the documented Dataframer API, for tests and demos.",
            redirect_slashes=False,
            openapi_url="/_emulator/openapi.json",
            docs_url="/_emulator/docs",
            redoc_url=None,
        )
        self.emulator_config = config
        self.service = EmulatorService(config, store or open_store(config.state_path))
        self.faults = FaultRegistry(config.faults)
        self.request_log = RequestLog(config.request_log_size)
        self.fault_layer = FaultLayer(self.faults, self.request_log)
        self.body_limit = BodyLimit(config.max_upload_bytes, config.max_body_bytes)
        install_log_filter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:  # type: ignore[override]
        """Serve through the fault layer; its non-None result makes uvicorn drop the connection."""
        return await self.fault_layer(scope, receive, send, self._limited)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.body_limit(scope, receive, send, super().__call__)

    def close(self) -> None:
        """Release the store."""
        self.service.store.close()


def _service(request: Request) -> EmulatorService:
    app: EmulatorApp = request.app
    return app.service


Service = Annotated[EmulatorService, Depends(_service)]


def require_api_key(request: Request) -> None:
    """Accept ``Authorization: Bearer <key>``: any non-empty key, or only the configured one."""
    app: EmulatorApp = request.app
    header = request.headers.get("authorization")
    challenge = {"WWW-Authenticate": "Bearer"}
    if not header:
        raise ApiError(401, "Authentication credentials were not provided.", challenge)
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "Malformed Authorization header: expected 'Bearer <API key>'.", challenge)
    expected = app.emulator_config.api_key
    if expected is not None and not hmac.compare_digest(key.strip().encode(), expected.encode()):
        raise ApiError(401, "Invalid API key.", challenge)


def require_admin_key(request: Request) -> None:
    """The admin endpoints need the configured key, when there is one (they can read and reset all)."""
    app: EmulatorApp = request.app
    if app.emulator_config.api_key is not None:
        require_api_key(request)


class AuthenticatedRoute(APIRoute):
    """
    A route of the documented API: the API key is checked before anything else.

    FastAPI reads and parses a JSON body before it solves a route's dependencies, so a key check
    as a dependency would let a malformed body answer 422 to a request without credentials.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler of this route, behind :func:`require_api_key`."""
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            self.check_key(request)
            return await handler(request)

        return authenticated

    @staticmethod
    def check_key(request: Request) -> None:
        """Refuse a request without an accepted key."""
        require_api_key(request)


class AdminRoute(AuthenticatedRoute):
    """An admin endpoint: the key is checked first, when one is configured."""

    @staticmethod
    def check_key(request: Request) -> None:
        """Refuse a request without the configured key, if any."""
        require_admin_key(request)


def _form_text(form: FormData, name: str, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None:
        if required:
            raise ApiError(422, f"{name}: field required.")
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"{name}: expected a text field, got a file.")
    return value


def _form_list(form: FormData, name: str) -> list[str | UploadFile]:
    return [*form.getlist(name), *form.getlist(f"{name}[]")]


async def _uploads(form: FormData) -> list[Upload]:
    files = _form_list(form, "files")
    folders = _form_list(form, "folder_names")
    if folders and len(folders) != len(files):
        raise ApiError(
            400, f"folder_names: {len(folders)} names for {len(files)} files; the lists must be parallel."
        )
    uploads = []
    for index, part in enumerate(files):
        if not isinstance(part, UploadFile) or not part.filename:
            raise ApiError(422, f"files[{index}]: expected a file upload with a file name.")
        folder = folders[index] if folders else None
        if folder is not None and not isinstance(folder, str):
            raise ApiError(422, f"folder_names[{index}]: expected a text field, got a file.")
        name = PurePosixPath(part.filename.replace("\\", "/")).name
        uploads.append(Upload(filename=name, content=await part.read(), folder=folder or None))
    return uploads


def _api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, route_class=AuthenticatedRoute)

    @router.post("/seed-datasets/create/", status_code=201)
    async def create_dataset(request: Request, service: Service) -> dict[str, Any]:
        async with request.form(max_files=_MAX_FORM_PARTS, max_fields=_MAX_FORM_PARTS) as form:
            name = _form_text(form, "name", required=True) or ""
            dataset_type = _form_text(form, "dataset_type", required=True) or ""
            description = _form_text(form, "description")
            uploads = await _uploads(form)
        return service.create_dataset(name, dataset_type, uploads, description)

    @router.post("/seed-datasets/create-from-zip/", status_code=201)
    async def create_dataset_from_zip(request: Request, service: Service) -> dict[str, Any]:
        async with request.form(max_files=_MAX_FORM_PARTS, max_fields=_MAX_FORM_PARTS) as form:
            name = _form_text(form, "name", required=True) or ""
            description = _form_text(form, "description")
            archive = form.get("zip_file")
            if not isinstance(archive, UploadFile):
                raise ApiError(422, "zip_file: field required (a ZIP file upload).")
            data = await archive.read()
        return service.create_dataset_from_zip(name, data, description)

    @router.get("/seed-datasets/")
    def list_datasets(service: Service) -> list[dict[str, Any]]:
        return service.list_datasets()

    @router.get("/seed-datasets/{dataset_id}/")
    def get_dataset(dataset_id: str, service: Service) -> dict[str, Any]:
        return service.get_dataset(dataset_id)

    @router.get("/seed-datasets/{dataset_id}/files/{file_id}/")
    def download_seed_file(
        dataset_id: str, file_id: str, request: Request, service: Service
    ) -> dict[str, Any]:
        return service.seed_file_download(dataset_id, file_id, str(request.base_url))

    @router.delete("/seed-datasets/{dataset_id}/", status_code=204)
    def delete_dataset(dataset_id: str, service: Service) -> Response:
        service.delete_dataset(dataset_id)
        return Response(status_code=204)

    @router.post("/specs/", status_code=201)
    def create_spec(body: SpecCreate, service: Service) -> dict[str, Any]:
        return service.create_spec(body)

    @router.get("/specs/")
    def list_specs(service: Service) -> list[dict[str, Any]]:
        return service.list_specs()

    @router.get("/specs/{spec_id}/")
    def get_spec(spec_id: str, service: Service, include_versions: bool = False) -> dict[str, Any]:
        return service.get_spec(spec_id, include_versions)

    @router.put("/specs/{spec_id}/")
    def update_spec(spec_id: str, body: SpecUpdate, service: Service) -> dict[str, Any]:
        return service.update_spec(spec_id, body)

    @router.delete("/specs/{spec_id}/", status_code=204)
    def delete_spec(spec_id: str, service: Service, force: bool = False) -> Response:
        service.delete_spec(spec_id, force)
        return Response(status_code=204)

    @router.post("/runs/", status_code=201)
    def create_run(body: RunCreate, service: Service) -> dict[str, Any]:
        return service.create_run(body)

    @router.get("/runs/")
    def list_runs(service: Service) -> list[dict[str, Any]]:
        return service.list_runs()

    @router.get("/runs/{run_id}/")
    def get_run(run_id: str, service: Service) -> dict[str, Any]:
        return service.get_run(run_id)

    @router.delete("/runs/{run_id}/", status_code=204)
    def delete_run(run_id: str, service: Service) -> Response:
        service.delete_run(run_id)
        return Response(status_code=204)

    @router.post("/runs/{run_id}/cancel/", status_code=204)
    def cancel_run(run_id: str, service: Service) -> Response:
        service.cancel_run(run_id)
        return Response(status_code=204)

    @router.get("/runs/{run_id}/files/download/")
    def download_all(run_id: str, request: Request, service: Service) -> JSONResponse:
        status, body = service.prepare_download(run_id, None, str(request.base_url))
        return JSONResponse(body, status_code=status)

    @router.get("/runs/{run_id}/files/{file_id}/download/")
    def download_file(run_id: str, file_id: str, request: Request, service: Service) -> JSONResponse:
        status, body = service.prepare_download(run_id, file_id, str(request.base_url))
        return JSONResponse(body, status_code=status)

    return router


def _open_router() -> APIRouter:
    """What needs no key: the download URLs (presigned URLs carry none), health and the home page."""
    router = APIRouter(tags=["emulator"])

    @router.get(ADMIN_PREFIX + "downloads/{token}")
    def fetch_download(token: str, service: Service) -> Response:
        download = service.fetch_download(token)
        disposition = f'attachment; filename="{download.filename}"'
        return Response(
            download.content, media_type=download.media_type, headers={"Content-Disposition": disposition}
        )

    @router.get(ADMIN_PREFIX + "health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/", response_model=None)
    def home(request: Request) -> Response:
        return home_page(request)

    return router


def _admin_router() -> APIRouter:
    router = APIRouter(prefix="/_emulator", tags=["emulator admin"], route_class=AdminRoute)

    @router.get("/faults")
    def list_faults(request: Request) -> list[FaultRule]:
        app: EmulatorApp = request.app
        return app.faults.rules()

    @router.post("/faults", status_code=201)
    def add_faults(request: Request, rules: FaultRule | list[FaultRule]) -> list[FaultRule]:
        app: EmulatorApp = request.app
        return [app.faults.add(rule) for rule in (rules if isinstance(rules, list) else [rules])]

    @router.delete("/faults", status_code=204)
    def clear_faults(request: Request) -> Response:
        app: EmulatorApp = request.app
        app.faults.clear()
        return Response(status_code=204)

    @router.get("/faults/{rule_id}")
    def get_fault(rule_id: str, request: Request) -> FaultRule:
        app: EmulatorApp = request.app
        rule = app.faults.get(rule_id)
        if rule is None:
            raise ApiError(404, f"Fault rule '{rule_id}' not found.")
        return rule

    @router.delete("/faults/{rule_id}", status_code=204)
    def delete_fault(rule_id: str, request: Request) -> Response:
        app: EmulatorApp = request.app
        if not app.faults.remove(rule_id):
            raise ApiError(404, f"Fault rule '{rule_id}' not found.")
        return Response(status_code=204)

    @router.get("/requests")
    def list_requests(
        request: Request,
        method: Annotated[str | None, Query()] = None,
        path: Annotated[str | None, Query()] = None,
    ) -> list[RequestRecord]:
        app: EmulatorApp = request.app
        try:
            return app.request_log.records(method=method, path=path)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from exc

    @router.delete("/requests", status_code=204)
    def clear_requests(request: Request) -> Response:
        app: EmulatorApp = request.app
        app.request_log.clear()
        return Response(status_code=204)

    @router.post("/reset")
    def reset(request: Request) -> dict[str, str]:
        app: EmulatorApp = request.app
        app.service.reset()
        app.faults.clear()
        app.request_log.clear()
        return {"status": "reset"}

    return router


def _validation_message(exc: RequestValidationError) -> str:
    messages = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        messages.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(messages) or "Invalid request."


def create_app(config: EmulatorConfig | None = None, store: Store | None = None) -> EmulatorApp:
    """
    Build the emulator application.

    :param config: the configuration; defaults to :class:`EmulatorConfig` defaults.
    :param store: where state is kept; by default from ``config.state_path``.
    """
    app = EmulatorApp(config or EmulatorConfig(), store)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only where and what: an error's "input" may echo a secret of the request body.
        errors = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        body = {"detail": _validation_message(exc), "errors": jsonable_encoder(errors)}
        return JSONResponse(body, status_code=422)

    app.include_router(_api_router())
    app.include_router(_open_router())
    include_platform_routes(app, API_PREFIX, AuthenticatedRoute)
    app.include_router(_admin_router())
    return app
