"""Super-admin endpoint checking the provider keys this deployment is configured with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from dex.kit.envelopes import Envelope
from dex.providers.accounts import check_keys, plan_checks, sandbox_stands_in
from dex.providers.runtime import ProviderRuntime
from dex.providers.schemas import KeyCheckOut, ProviderCheckOut, ProviderCheckRequest
from dex.tenancy.auth import SuperAdminAuth

super_admin_router = APIRouter(prefix="/api/super-admin/providers", tags=["super-admin"])


@super_admin_router.post("/check", response_model=Envelope[ProviderCheckOut])
async def check(body: ProviderCheckRequest, _: SuperAdminAuth, request: Request) -> dict[str, Any]:
    """Try each configured provider key (or the named ones) with the provider's cheapest call — its account
    or credits endpoint where it has one — and report whether the key is accepted and the credits left where
    the provider says. A refused key is a result (``invalid_key``), not an error of this endpoint; an unknown
    provider name is a 400."""
    runtime: ProviderRuntime = request.app.state.providers
    plan = plan_checks(runtime, body.providers, keys_configured=not sandbox_stands_in(runtime.settings))
    results = [] if plan.nothing_configured else await check_keys(runtime, plan.providers)
    out = ProviderCheckOut(
        mode=runtime.mode,
        nothing_configured=plan.nothing_configured,
        results=[KeyCheckOut(**result.to_dict()) for result in results],
    )
    return {"data": out}
