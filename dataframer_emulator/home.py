"""The emulator's home page (``GET /``): what this server is, where its API and docs are."""

from __future__ import annotations

from html import escape

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

API_PATH = "/api/dataframer/"
DOCS_PATH = "/_emulator/docs"
OPENAPI_PATH = "/_emulator/openapi.json"
SDK_VERSION = "pydataframer 0.19.2"


def home_facts(base_url: str) -> dict[str, str]:
    """What the home page says, as JSON fields."""
    base = base_url.rstrip("/")
    return {
        "service": "Dataframer API emulator",
        "description": (
            "An offline emulator of the Dataframer API, for tests, demos and development. "
            f"It serves today's API as the official SDK ({SDK_VERSION}) describes it."
        ),
        "api_base": base + API_PATH,
        "auth": "Authorization: Bearer <API key>",
        "docs": base + DOCS_PATH,
        "openapi": base + OPENAPI_PATH,
        "admin": base + "/_emulator/ (faults, requests, reset; the API key is needed when one is set)",
        "sdk_base_url": base,
    }


def home_page(request: Request) -> Response:
    """HTML for a browser (``Accept: text/html``), JSON otherwise."""
    facts = home_facts(str(request.base_url))
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(facts)
    rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{_linked(value)}</td></tr>" for key, value in facts.items()
    )
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Dataframer API emulator</title></head>"
        f"<body><h1>Dataframer API emulator</h1><table>{rows}</table></body></html>"
    )
    return HTMLResponse(html)


def _linked(value: str) -> str:
    if value.startswith(("http://", "https://")) and " " not in value:
        return f"<a href='{escape(value)}'>{escape(value)}</a>"
    return escape(value)
