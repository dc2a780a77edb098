"""What every console page shares: templates, the session cookie, CSRF tokens, and HTML error pages.

The console authenticates exactly as the API does — its session cookie holds the same JWT that
``POST /api/auth/login`` issues, checked by the same functions (so a deactivated user or a bumped token
generation is out on the next request) — and reaches data only through the domains' services with the
resulting ``AuthContext``. What differs is the transport: an HttpOnly, SameSite=Strict cookie instead of a
bearer header, and a CSRF token on every state-changing request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from dex import __version__
from dex.errors import DexError, Forbidden, Unauthorized
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.network import cookie_secure
from dex.tenancy.auth import authenticate_super_admin, authenticate_tenant
from dex.tenancy.context import AuthContext, SuperAdminContext
from dex.tenancy.tokens import looks_like_jwt

log = logging.getLogger(__name__)

CONSOLE_PREFIX = "/console"
SESSION_COOKIE = "dex_session"
CSRF_COOKIE = "dex_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.globals["version"] = __version__


def shown(value: Any) -> str:
    """A stored value as a page shows it: text as it is, anything structured as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime, date)):
        return (
            value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else value.isoformat()
        )
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def credits(value: Decimal | None) -> str:
    """Credits without trailing zeros or exponent: 250, 0.5, 0."""
    return f"{(value or Decimal(0)).normalize():f}"


templates.env.filters["shown"] = shown
templates.env.filters["credits"] = credits

Caller = AuthContext | SuperAdminContext


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page."""


def csrf_token(request: Request) -> str:
    """The token forms and scripts send back: a MAC of the browser's random CSRF cookie, so a page of
    another site can neither read nor forge it."""
    seed = request.cookies.get(CSRF_COOKIE) or request.state.new_csrf_seed
    secret = request.app.state.settings.jwt_secret or ""
    return hmac.new(secret.encode(), seed.encode(), hashlib.sha256).hexdigest()


def _csrf_seed(request: Request) -> None:
    """A page rendered to a browser without a CSRF cookie sets one (see ``render``)."""
    if not request.cookies.get(CSRF_COOKIE) and not hasattr(request.state, "new_csrf_seed"):
        request.state.new_csrf_seed = secrets.token_urlsafe(32)


async def check_csrf(request: Request) -> None:
    """Every state-changing console request carries the token, in its form or in a header."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not request.cookies.get(CSRF_COOKIE) or not isinstance(sent, str):
        raise Forbidden("The form is missing its security token; reload the page and try again")
    if not hmac.compare_digest(sent, csrf_token(request)):
        raise Forbidden("The form's security token does not match; reload the page and try again")


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request, request.app.state.settings),
        path=CONSOLE_PREFIX,
    )


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    _csrf_seed(request)
    context.setdefault("caller", getattr(request.state, "caller", None))
    response = templates.TemplateResponse(
        request, template, {"csrf_token": csrf_token(request), **context}, status_code=status_code
    )
    if hasattr(request.state, "new_csrf_seed"):
        set_cookie(response, request, CSRF_COOKIE, request.state.new_csrf_seed, None)
    return response


def is_partial(request: Request) -> bool:
    """A fragment fetched by console.js (it swaps it into the page) rather than a whole page."""
    return request.headers.get("x-partial") == "1"


def error_page(request: Request, status_code: int, message: str) -> Response:
    titles = {
        400: "That request cannot be done",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Invalid input",
        503: "Temporarily unavailable",
    }
    template = "partials/error.html" if is_partial(request) else "error.html"
    return render(
        request,
        template,
        status_code=status_code,
        title=titles.get(status_code, "Something went wrong"),
        message=message,
        status=status_code,
    )


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"{CONSOLE_PREFIX}/login?next={quote(target)}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PREFIX)
    return response


def invalid_input(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors:
        field = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "form"))
        parts.append(f"{field}: {error.get('msg')}" if field else str(error.get("msg")))
    return "Please correct the form: " + "; ".join(parts)


class ConsoleRoute(APIRoute):
    """Answers errors of console routes with pages instead of the API's JSON envelopes: a login redirect
    when the session is gone, a plain page for 4xx and 503, and never a traceback."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (LoginRequired, Unauthorized):
                return login_redirect(request)
            except IntegrityError:
                return error_page(
                    request, 409, "That conflicts with existing data (a name or email in use?)."
                )
            except DexError as exc:
                return error_page(request, exc.status_code, exc.message)
            except RequestValidationError as exc:
                if request.method in SAFE_METHODS:
                    # A malformed id in a URL names nothing, exactly like an id of another org.
                    return error_page(request, 404, "There is nothing at this address.")
                return error_page(request, 422, invalid_input(exc.errors()))
            except ValidationError as exc:
                return error_page(request, 422, invalid_input(exc.errors()))
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))
            except (DBAPIError, OSError) as exc:
                log.error("console: database unavailable: %s", exc)
                return error_page(request, 503, "The database is restarting or unreachable. Retry shortly.")
            except Exception:
                log.exception("console: unhandled error")
                return error_page(request, 500, "An unexpected error occurred; it has been logged.")

        return console_handler


async def _authenticate(request: Request, session: SessionDep, settings: SettingsDep) -> Caller:
    token = request.cookies.get(SESSION_COOKIE)
    # Only session JWTs live in the cookie: an API token or a service key is never a browser session.
    if not token or not looks_like_jwt(token):
        raise LoginRequired
    try:
        caller: Caller = await authenticate_super_admin(session, settings, token)
    except Unauthorized:
        try:
            caller = await authenticate_tenant(session, settings, token, {})
        except Unauthorized as exc:
            raise LoginRequired from exc
    request.state.caller = caller
    return caller


async def _tenant(caller: Annotated[Caller, Depends(_authenticate)]) -> AuthContext:
    if isinstance(caller, SuperAdminContext):
        raise Forbidden(
            "Super-admins manage orgs, companies, users and tokens; sign in as an org user for this page"
        )
    return caller


async def _org_admin(auth: Annotated[AuthContext, Depends(_tenant)]) -> AuthContext:
    if not auth.is_org_admin:
        raise Forbidden("Only org admins may open this page")
    return auth


async def _super_admin(caller: Annotated[Caller, Depends(_authenticate)]) -> SuperAdminContext:
    if not isinstance(caller, SuperAdminContext):
        raise Forbidden("Only super-admins may open this page")
    return caller


ConsoleCaller = Annotated[Caller, Depends(_authenticate)]
ConsoleTenant = Annotated[AuthContext, Depends(_tenant)]
ConsoleOrgAdmin = Annotated[AuthContext, Depends(_org_admin)]
ConsoleSuperAdmin = Annotated[SuperAdminContext, Depends(_super_admin)]
