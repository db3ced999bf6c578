"""HTTP routes of the platform endpoints: evaluations, anonymization runs, red-team specs and runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from dataframer_emulator.platform_schemas import (
    AnonymizationCreate,
    EvaluationCreate,
    RedTeamRunCreate,
    RedTeamSpecCreate,
    RedTeamSpecUpdate,
)
from dataframer_emulator.platform_service import PLATFORM_DOWNLOADS_PATH, PlatformService


def _platform(request: Request) -> PlatformService:
    """The app's platform service, created on first use over the app's own service."""
    state = request.app.state
    platform: PlatformService | None = getattr(state, "platform", None)
    if platform is None or platform.core is not request.app.service:
        platform = state.platform = PlatformService(request.app.service)
    return platform


Platform = Annotated[PlatformService, Depends(_platform)]


def _api_router(prefix: str, route_class: type[APIRoute]) -> APIRouter:
    router = APIRouter(prefix=prefix, route_class=route_class)

    @router.post("/evaluations/", status_code=201)
    def create_evaluation(body: EvaluationCreate, platform: Platform) -> dict[str, Any]:
        return platform.create_evaluation(body)

    @router.get("/evaluations/{evaluation_id}/")
    def get_evaluation(evaluation_id: str, platform: Platform) -> dict[str, Any]:
        return platform.get_evaluation(evaluation_id)

    @router.get("/runs/{run_id}/evaluations/")
    def list_run_evaluations(run_id: str, platform: Platform) -> list[dict[str, Any]]:
        return platform.list_run_evaluations(run_id)

    @router.post("/anonymization-runs/", status_code=201)
    def create_anonymization(body: AnonymizationCreate, platform: Platform) -> dict[str, Any]:
        return platform.create_anonymization(body)

    @router.get("/anonymization-runs/")
    def list_anonymizations(platform: Platform) -> list[dict[str, Any]]:
        return platform.list_anonymizations()

    @router.get("/anonymization-runs/{run_id}/")
    def get_anonymization(run_id: str, platform: Platform) -> dict[str, Any]:
        return platform.get_anonymization(run_id)

    @router.delete("/anonymization-runs/{run_id}/", status_code=204)
    def delete_anonymization(run_id: str, platform: Platform) -> Response:
        platform.delete_anonymization(run_id)
        return Response(status_code=204)

    @router.get("/anonymization-runs/{run_id}/download/")
    def download_anonymized(run_id: str, request: Request, platform: Platform) -> JSONResponse:
        status, body = platform.prepare_archive(run_id, str(request.base_url))
        return JSONResponse(body, status_code=status)

    @router.get("/anonymization-runs/{run_id}/files/{file_id}/download/")
    def download_anonymized_file(
        run_id: str, file_id: str, request: Request, platform: Platform
    ) -> dict[str, Any]:
        return platform.file_download(run_id, file_id, str(request.base_url))

    @router.post("/red-team-specs/", status_code=201)
    def create_red_team_spec(body: RedTeamSpecCreate, platform: Platform) -> dict[str, Any]:
        return platform.create_red_team_spec(body)

    @router.get("/red-team-specs/")
    def list_red_team_specs(platform: Platform) -> list[dict[str, Any]]:
        return platform.list_red_team_specs()

    @router.get("/red-team-specs/{spec_id}/")
    def get_red_team_spec(spec_id: str, platform: Platform) -> dict[str, Any]:
        return platform.get_red_team_spec(spec_id)

    @router.patch("/red-team-specs/{spec_id}/")
    def update_red_team_spec(spec_id: str, body: RedTeamSpecUpdate, platform: Platform) -> dict[str, Any]:
        return platform.update_red_team_spec(spec_id, body)

    @router.delete("/red-team-specs/{spec_id}/", status_code=204)
    def delete_red_team_spec(spec_id: str, platform: Platform) -> Response:
        platform.delete_red_team_spec(spec_id)
        return Response(status_code=204)

    @router.post("/red-team-runs/", status_code=201)
    def create_red_team_run(body: RedTeamRunCreate, platform: Platform) -> dict[str, Any]:
        return platform.create_red_team_run(body)

    @router.get("/red-team-runs/")
    def list_red_team_runs(platform: Platform, spec_id: str | None = None) -> list[dict[str, Any]]:
        return platform.list_red_team_runs(spec_id)

    @router.get("/red-team-runs/{run_id}/")
    def get_red_team_run(run_id: str, platform: Platform) -> dict[str, Any]:
        return platform.get_red_team_run(run_id)

    @router.get("/red-team-runs/{run_id}/status/")
    def get_red_team_run_status(run_id: str, platform: Platform) -> dict[str, Any]:
        return platform.get_red_team_run(run_id, light=True)

    @router.delete("/red-team-runs/{run_id}/", status_code=204)
    def delete_red_team_run(run_id: str, platform: Platform) -> Response:
        platform.delete_red_team_run(run_id)
        return Response(status_code=204)

    return router


def _downloads_router() -> APIRouter:
    router = APIRouter(prefix=PLATFORM_DOWNLOADS_PATH.rstrip("/"), tags=["emulator downloads"])

    @router.get("/{token}")
    def fetch_platform_download(token: str, platform: Platform) -> Response:
        download = platform.fetch_download(token)
        disposition = f'attachment; filename="{download.filename}"'
        return Response(
            download.content, media_type=download.media_type, headers={"Content-Disposition": disposition}
        )

    return router


def include_platform_routes(app: FastAPI, prefix: str, route_class: type[APIRoute]) -> None:
    """
    Serve the platform endpoints on ``app``.

    :param app: the emulator application (its ``service`` holds the state).
    :param prefix: the API prefix, ``/api/dataframer``.
    :param route_class: the route class that checks the API key first.
    """
    app.include_router(_api_router(prefix, route_class))
    app.include_router(_downloads_router())
