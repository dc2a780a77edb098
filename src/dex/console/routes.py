"""The console's router: sign-in and sign-out, the home page, every section's pages, and a 404 page for
addresses under ``/console`` that name nothing. ``mount`` adds it and its static files to the app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from dex.console import admin, batches, blueprints, entities
from dex.console.web import (
    CONSOLE_PREFIX,
    SESSION_COOKIE,
    STATIC_DIR,
    ConsoleCaller,
    ConsoleRoute,
    check_csrf,
    render,
    set_cookie,
)
from dex.errors import Unauthorized
from dex.kit.deps import SessionDep, SettingsDep
from dex.tenancy import service as tenancy
from dex.tenancy.context import SuperAdminContext

router = APIRouter(prefix=CONSOLE_PREFIX, route_class=ConsoleRoute)


def _safe_next(target: str | None, default: str) -> str:
    """Only a console address: a login link must not bounce the user to another site."""
    if target and target.startswith(f"{CONSOLE_PREFIX}/") and not target.startswith("//"):
        return target
    return default


@router.get("/login")
async def login_page(request: Request) -> Response:
    return render(request, "login.html", error=None, next=request.query_params.get("next", ""), email="")


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    super_admin: Annotated[str, Form()] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    try:
        if super_admin:
            token = await tenancy.super_admin_login(session, settings, email=email, password=password)
        else:
            token = await tenancy.login(session, settings, email=email, password=password)
    except Unauthorized:
        return render(
            request,
            "login.html",
            status_code=401,
            error="Wrong email or password.",
            next=next,
            email=email,
        )
    home = f"{CONSOLE_PREFIX}/admin/orgs" if super_admin else f"{CONSOLE_PREFIX}/batches"
    response = RedirectResponse(_safe_next(next, home), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, settings.session_ttl_hours * 3600)
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse(f"{CONSOLE_PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PREFIX)
    return response


@router.get("")
@router.get("/")
async def home(caller: ConsoleCaller) -> Response:
    target = "admin/orgs" if isinstance(caller, SuperAdminContext) else "batches"
    return RedirectResponse(f"{CONSOLE_PREFIX}/{target}", status_code=303)


def mount(app: FastAPI) -> None:
    """Serve the console from ``app``: its pages (each state-changing one CSRF-checked) and its assets."""
    csrf = [Depends(check_csrf)]
    for section in (
        router,
        batches.router,
        batches.runs_router,
        entities.router,
        blueprints.router,
        admin.router,
    ):
        app.include_router(section, dependencies=csrf, include_in_schema=False)
    app.mount(f"{CONSOLE_PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.include_router(not_found_router, include_in_schema=False)


# Registered last, so it answers only addresses no page claimed.
not_found_router = APIRouter(prefix=CONSOLE_PREFIX, route_class=ConsoleRoute)


@not_found_router.api_route("/{path:path}", methods=["GET", "POST"])
async def unknown_page(request: Request, caller: ConsoleCaller) -> Response:
    return render(
        request,
        "error.html",
        status_code=404,
        title="Not found",
        message="There is nothing at this address.",
        status=404,
    )
