"""The sandbox ASGI app: every provider emulation under ``/<provider>/…`` at the provider's documented
paths, plus a small control API under ``/_sandbox`` (configuration, scripted faults, the ledger)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from dex.sandbox import providers
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


def create_sandbox_app(config: SandboxConfig | None = None) -> FastAPI:
    app = FastAPI(title="dex provider sandbox", description="Emulates the providers' documented APIs.")
    app.state.sandbox = SandboxState(config)
    app.include_router(control)
    for router in provider_routers():
        app.include_router(router)
    return app
