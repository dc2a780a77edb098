"""``POST /api/v1/coverage/check`` (flexible auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from dex.coverage import service
from dex.coverage.schemas import Coverage, CoverageRequest
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.envelopes import Envelope
from dex.tenancy.auth import FlexibleAuth, tenant_scope

router = APIRouter(prefix="/api/v1/coverage", tags=["coverage"])


@router.post("/check", response_model=Envelope[Coverage])
async def check(
    body: CoverageRequest, auth: FlexibleAuth, session: SessionDep, settings: SettingsDep, request: Request
) -> dict[str, Any]:
    """What the org already knows about a company, its market (the related companies its research listed,
    looked up live where it has listed none) and their people; company-scoped callers see their company's
    entities only."""
    scope = tenant_scope(auth, org_id=body.org_id)
    runtime = request.app.state.providers
    return {"data": await service.check(session, scope, body.domain, runtime=runtime, settings=settings)}
