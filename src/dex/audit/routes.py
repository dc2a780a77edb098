"""``POST /api/v1/audit/list``: the audit trail, newest first. There is no route that changes it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dex.audit import service
from dex.audit.schemas import AuditEventOut, AuditListRequest
from dex.kit.deps import SessionDep
from dex.kit.envelopes import ListEnvelope, list_envelope
from dex.tenancy.auth import FlexibleAuth

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.post("/list", response_model=ListEnvelope[AuditEventOut])
async def list_events(
    auth: FlexibleAuth, session: SessionDep, body: AuditListRequest = AuditListRequest()
) -> dict[str, Any]:
    """Security-relevant actions of the caller's org (org admins), or of any org (super-admins; filter with
    ``org_id``): logins, API tokens, users, orgs and companies, budgets, webhooks, blueprints."""
    items, total = await service.list_events(session, auth, body, org_id=body.org_id, action=body.action)
    return list_envelope([AuditEventOut.model_validate(item) for item in items], total=total, page=body)
