"""The sandbox ASGI app: every provider emulation under ``/<provider>/…`` at the provider's documented
paths, plus a small control API under ``/_sandbox`` (configuration, scripted faults, the ledger)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from dex.sandbox import providers
from dex.sandbox.binding import DirectRoutes
from dex.sandbox.state import FaultKind, SandboxConfig, SandboxState


def sandbox_state(request: Request) -> SandboxState:
    return request.app.state.sandbox


class ScriptedFaults(BaseModel):
    provider: str
    faults: list[FaultKind]


control = APIRouter(prefix="/_sandbox", tags=["sandbox control"])


@control.get("/config")
async def get_config(request: Request) -> SandboxConfig:
    return sandbox_state(request).config


@control.post("/config")
async def set_config(request: Request, config: SandboxConfig) -> SandboxConfig:
    """Replace the behaviour; also clears the ledger and scripted faults."""
    sandbox_state(request).configure(config)
    return config


@control.post("/faults")
async def script_faults(request: Request, body: ScriptedFaults) -> dict[str, Any]:
    sandbox_state(request).script_faults(body.provider, body.faults)
    return {"scripted": body.faults}


@control.get("/ledger")
async def ledger(request: Request) -> dict[str, Any]:
    entries = sandbox_state(request).ledger
    return {"entries": [entry.model_dump() for entry in entries], "count": len(entries)}


@control.post("/ledger/reset")
async def reset_ledger(request: Request) -> dict[str, Any]:
    sandbox_state(request).reset_ledger()
    return {"count": 0}


def provider_routers() -> list[APIRouter]:
    routers = []
    for module_info in sorted(pkgutil.iter_modules(providers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{providers.__name__}.{module_info.name}")
        routers.append(module.router)
    return routers


# The sandbox exports no telemetry: checking for it cost every request a few percent.
_QUIET: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


class SandboxApp:
    """The sandbox as one ASGI app. A provider's requests go straight to that provider's own app, by the
    first segment of their path; the rest (the control API, the OpenAPI document of every provider) to
    ``main``. One app for all providers would try every provider's routes in turn: an eighth of the
    sandbox's CPU, which every benchmark and test shares with dex."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.main = FastAPI(
            title="dex provider sandbox",
            description="Emulates the providers' documented APIs.",
            telemetry=_QUIET,
        )
        self.state = self.main.state
        self.state.sandbox = SandboxState(config)
        self.main.include_router(control)
        self.providers: dict[str, ASGIApp] = {}
        for router in provider_routers():
            self.main.include_router(router)
            provider_app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=_QUIET)
            provider_app.state.sandbox = self.state.sandbox
            provider_app.include_router(router)
            routes = [route for route in router.routes if isinstance(route, APIRoute)]
            self.providers[router.prefix.split("/")[1]] = DirectRoutes(provider_app, routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (provider := self.providers.get(scope["path"].split("/", 2)[1])):
            await provider(scope, receive, send)
        else:
            await self.main(scope, receive, send)


def create_sandbox_app(config: SandboxConfig | None = None) -> SandboxApp:
    return SandboxApp(config)
