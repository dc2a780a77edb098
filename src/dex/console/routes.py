"""The console's router: sign-in and sign-out, the home page, every section's pages, and a 404 page for
addresses under ``/console`` that name nothing. ``mount`` adds it and its static files to the app."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from dex.audit.logins import throttled_login
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
from dex.errors import TooManyRequests, Unauthorized
from dex.kit.deps import DatabaseDep, SessionDep, SettingsDep
from dex.kit.network import ClientAddress
from dex.tenancy import service as tenancy
from dex.tenancy.context import SuperAdminContext
from dex.tenancy.throttle import LoginKind

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
    database: DatabaseDep,
    settings: SettingsDep,
    address: ClientAddress,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    super_admin: Annotated[str, Form()] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    # The same throttle and audit trail as the API's logins, and the same email normalisation.
    email = email.strip().lower()
    if super_admin:
        kind: LoginKind = "super_admin"
        authenticate = partial(tenancy.super_admin_login, session, settings, email=email, password=password)
    else:
        kind = "tenant"
        authenticate = partial(tenancy.login, session, settings, email=email, password=password)
    try:
        result = await throttled_login(
            kind,
            authenticate,
            email=email,
            session=session,
            database=database,
            settings=settings,
            address=address,
        )
    except (Unauthorized, TooManyRequests) as refused:
        locked = isinstance(refused, TooManyRequests)
        page = render(
            request,
            "login.html",
            status_code=refused.status_code,
            error="Too many failed sign-ins: try again later." if locked else "Wrong email or password.",
            next=next,
            email=email,
        )
        if isinstance(refused, TooManyRequests):
            page.headers["Retry-After"] = str(refused.retry_after_seconds)
        return page
    home = f"{CONSOLE_PREFIX}/admin/orgs" if super_admin else f"{CONSOLE_PREFIX}/batches"
    response = RedirectResponse(_safe_next(next, home), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, result.token, settings.session_ttl_hours * 3600)
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


def mount(routes: APIRouter) -> None:
    """Serve the console from ``routes``: its pages (each state-changing one CSRF-checked) and its assets."""
    csrf = [Depends(check_csrf)]
    for section in (
        router,
        batches.router,
        batches.runs_router,
        entities.router,
        blueprints.router,
        admin.router,
    ):
        routes.include_router(section, dependencies=csrf, include_in_schema=False)
    routes.mount(f"{CONSOLE_PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    routes.include_router(not_found_router, include_in_schema=False)


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
