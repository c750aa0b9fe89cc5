"""The API's own documentation, for logged-in people and tokens only: the OpenAPI document
names every route and field (a map for an attacker), so it needs a login like every other
route. Swagger UI's files come from the ``swagger-ui-bundle`` package, served here: the page
works on an office network without internet access (FastAPI's default loads them from a CDN).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from scribe.web.auth import CurrentPrincipal

router = APIRouter(include_in_schema=False)
ASSETS = "/docs-assets"


def swagger_assets() -> StaticFiles:
    from swagger_ui_bundle import swagger_ui_path

    return StaticFiles(directory=Path(swagger_ui_path))


@router.get("/openapi.json")
def openapi(request: Request, who: CurrentPrincipal) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def docs(request: Request, who: CurrentPrincipal) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title=f"{request.app.title} — API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
    )
