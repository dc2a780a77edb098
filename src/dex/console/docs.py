"""The API docs served from dex itself, so they work on a network without internet: Swagger UI and ReDoc
assets come from the ``fastapi-offline`` package (which vendors them), and the page that starts Swagger
UI is a template with its start-up code in a static file, so a strict Content-Security-Policy holds."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from dex.console.web import templates

DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PREFIX = "/docs-assets"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    return templates.TemplateResponse(request, "docs/swagger.html", {"openapi_url": request.app.openapi_url})


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    return templates.TemplateResponse(request, "docs/redoc.html", {"openapi_url": request.app.openapi_url})


def mount(routes: APIRouter) -> None:
    """Serve ``/docs`` and ``/redoc`` (the app is created with FastAPI's CDN-based pages turned off)."""
    routes.mount(ASSETS_PREFIX, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    routes.include_router(router)
