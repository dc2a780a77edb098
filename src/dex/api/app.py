"""The FastAPI application: factory, lifespan, and the one place errors become HTTP responses."""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from dex import __version__
from dex.api import health
from dex.api.metrics import metrics_router
from dex.api.security import ALWAYS, SecurityHeaders
from dex.audit import routes as audit_routes
from dex.blueprints import routes as blueprint_routes
from dex.config import Settings, get_settings
from dex.coverage import routes as coverage_routes
from dex.db.engine import Database, resolve_database_url
from dex.entities import routes as entity_routes
from dex.errors import DexError, TooManyRequests
from dex.internal import routes as internal_routes
from dex.kit.envelopes import ERROR_RESPONSES
from dex.operations import routes as operation_routes
from dex.pipeline import routes as pipeline_routes
from dex.pipeline.executor import Executor, executor_config, runner_deps
from dex.pipeline.progress import PlanCache
from dex.providers import routes as provider_routes
from dex.providers.runtime import ProviderRuntime
from dex.runtime import open_provider_runtime
from dex.tenancy import routes as tenancy_routes
from dex.usage import routes as usage_routes
from dex.webhooks import routes as webhook_routes
from dex.webhooks.delivery import DeliveryConfig, WebhookDispatcher

log = logging.getLogger(__name__)


def _lossy_text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        location = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{location}: {err.get('msg')}" if location else str(err.get("msg")))
    return "invalid request: " + "; ".join(parts)


NUL_ESCAPE = b"\\u0000"


class RefuseNulCharacters:
    """422 for a JSON body holding ``\\u0000``: PostgreSQL cannot store NUL in text or jsonb, and a client
    mistake must be a clear error, not a database failure deep in a batch."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or b"json" not in dict(scope.get("headers") or []).get(
            b"content-type", b""
        ):
            await self.app(scope, receive, send)
            return
        chunks: deque[Any] = deque()
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if NUL_ESCAPE in b"".join(m.get("body", b"") for m in chunks if m["type"] == "http.request"):
            response = JSONResponse({"error": "invalid request: NUL characters are not allowed"}, 422)
            await response(scope, receive, send)
            return

        async def replayed() -> Any:
            # Handed over and forgotten, so a large body is not held here beside the app's own copy.
            return chunks.popleft() if chunks else await receive()

        await self.app(scope, replayed, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DexError)
    async def dex_error(_: Request, exc: DexError) -> JSONResponse:
        response = _error(exc.status_code, exc.message)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Both kinds of clients read it: ours the one-line ``error``, FastAPI-style ones the ``detail`` list.
        detail = jsonable_encoder(exc.errors(), custom_encoder={ValueError: str, bytes: _lossy_text})
        return JSONResponse(status_code=422, content={"error": _validation_message(exc), "detail": detail})

    @app.exception_handler(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> JSONResponse:
        # Services check what they can up front; this catches the races they cannot (two creates at once).
        log.info("integrity error: %s", exc.orig)
        return _error(409, "the request conflicts with existing data")

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database error: %s", exc.orig)
        return _error(503, "database unavailable, retry later")

    @app.exception_handler(OSError)
    async def connection_error(_: Request, exc: OSError) -> JSONResponse:
        # What a connection attempt raises while PostgreSQL restarts (its socket is briefly gone).
        log.error("database connection failed: %s", exc)
        return _error(503, "database unavailable, retry later")

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        response = _error(500, "internal error")
        # Starlette answers an unhandled error outside every middleware, so the headers are set here.
        response.headers.update({name.decode(): value.decode() for name, value in ALWAYS.items()})
        return response


async def close_progress_hub(app: FastAPI) -> None:
    """The live-progress listener, if a stream started one."""
    hub = getattr(app.state, "progress_hub", None)
    if hub is not None:
        await hub.close()


@functools.cache
def _routes(console: bool) -> tuple[BaseRoute, ...]:
    """The routes of every app of this process, included once. FastAPI builds a route's handler (its
    dependency tree, its response fields) on the first request an app matches, for each app that included
    the route; sharing the included routers makes the first app's work serve all the others (the tests
    create an app per test, and rebuilding took about a third of their CPU). The routes belong to no app,
    so an app's ``dependency_overrides`` would not reach them (dex sets none). Without ``console`` the app
    serves the API alone (the CLI's in-process dex)."""
    # Declared once for every route, as the error handlers of create_app answer them for every route.
    routes = APIRouter(responses=ERROR_RESPONSES)
    for router in (
        health.router,
        tenancy_routes.router,
        operation_routes.router,
        blueprint_routes.tenant_router,
        blueprint_routes.super_admin_router,
        blueprint_routes.assemble_router,
        coverage_routes.router,
        internal_routes.router,
        pipeline_routes.batch_router,
        pipeline_routes.tenant_router,
        pipeline_routes.super_admin_router,
        usage_routes.router,
        webhook_routes.router,
        metrics_router,
        entity_routes.router,
        provider_routes.super_admin_router,
        audit_routes.router,
    ):
        routes.include_router(router)
    if console:
        # Imported here: the pages and their templates are a third of the app's import time, which every
        # command run in local mode would pay without showing a page.
        from dex.console import docs as console_docs
        from dex.console import routes as console_routes

        console_docs.mount(routes)
        console_routes.mount(routes)
    return tuple(routes.routes)


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    providers: ProviderRuntime | None = None,
    run_executor: bool | None = None,
    console: bool = True,
) -> FastAPI:
    """Build the API. Tests pass their own ``database`` and ``providers``; ``dex serve`` lets the app open
    its own in the lifespan (and, in sandbox mode, start the provider sandbox in-process). The embedded
    executor runs in the lifespan unless ``run_executor`` is false or ``DEX_EXECUTOR=none``. Without
    ``console`` the app serves the API alone."""
    settings = settings or get_settings()
    if run_executor is None:
        run_executor = settings.dex_executor == "embedded"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if database is None:
                app.state.db = Database(resolve_database_url(settings), pool_size=settings.database_pool_size)
                stack.push_async_callback(app.state.db.dispose)
            if providers is None:
                app.state.providers = await stack.enter_async_context(
                    open_provider_runtime(settings, app.state.db)
                )
            if run_executor:
                executor = Executor(
                    app.state.db,
                    runner_deps(settings, app.state.providers, app.state.db),
                    executor_config(settings),
                    plans=app.state.plans,
                )
                await executor.start()
                stack.push_async_callback(executor.stop)
                app.state.executor = executor
            # Every API process delivers webhooks (they share the outbox through SKIP LOCKED claims).
            dispatcher = WebhookDispatcher(app.state.db, DeliveryConfig.from_settings(settings))
            await dispatcher.start()
            stack.push_async_callback(dispatcher.stop)
            stack.push_async_callback(close_progress_hub, app)
            yield

    app = FastAPI(
        title="dex",
        version=__version__,
        description="Data Engine X — multi-tenant entity intelligence API",
        lifespan=lifespan,
        # The docs pages are served offline by the console package (see ``console_docs.mount``).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.plans = PlanCache()
    app.state.executor = None
    if database is not None:
        app.state.db = database
    if providers is not None:
        app.state.providers = providers
    install_error_handlers(app)
    app.add_middleware(RefuseNulCharacters)
    # Added last, so it is outermost and also marks the answers of the middleware inside it.
    app.add_middleware(SecurityHeaders)
    app.router.routes.extend(_routes(console))
    return app
