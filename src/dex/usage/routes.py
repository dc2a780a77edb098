"""``POST /api/v1/usage`` (the cost ledger) and ``POST /api/v1/budgets/get|set``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dex.audit.service import AuditDep
from dex.kit.deps import SessionDep
from dex.kit.envelopes import Envelope
from dex.pipeline import budget_waits
from dex.pipeline import service as pipeline_service
from dex.pipeline.service import load_submission
from dex.tenancy.auth import FlexibleAuth, SuperAdminContext, tenant_scope
from dex.usage import budgets, ledger
from dex.usage.schemas import (
    BudgetRequest,
    BudgetSet,
    BudgetSetRequest,
    BudgetView,
    UsageReport,
    UsageRequest,
)

router = APIRouter(prefix="/api/v1", tags=["usage"])


@router.post("/usage", response_model=Envelope[UsageReport])
async def usage(body: UsageRequest, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    """Credits spent and saved on providers. Org-wide callers see their org; company-scoped callers their
    company; a super-admin without ``org_id`` every org."""
    if isinstance(auth, SuperAdminContext) and body.org_id is None:
        org_id, company_id = None, body.company_id
    else:
        scope = tenant_scope(auth, org_id=body.org_id, company_id=body.company_id)
        org_id, company_id = scope.org_id, scope.own_company_id() or body.company_id
        if body.submission_id is not None:
            await load_submission(session, scope, body.submission_id)
    filters = ledger.LedgerFilter(
        org_id=org_id,
        company_id=company_id,
        submission_id=body.submission_id,
        provider=body.provider,
        date_from=body.date_from,
        date_to=body.date_to,
    )
    report = await ledger.usage(session, filters, list(body.group_by), limit=body.limit, offset=body.offset)
    return {"data": report}


@router.post("/budgets/get", response_model=Envelope[BudgetView])
async def get_budget(body: BudgetRequest, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    """The org's budget and spend (with ``submission_id``, that submission's too) and the steps waiting."""
    scope = tenant_scope(auth, org_id=body.org_id)
    return {"data": await budgets.budget_view(session, scope, body.submission_id)}


@router.post("/budgets/set", response_model=Envelope[BudgetSet])
async def set_budget(
    body: BudgetSetRequest, auth: FlexibleAuth, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    """Set or remove (``null``) a budget; steps parked as ``budget_exhausted`` that now fit resume."""
    scope = tenant_scope(auth, org_id=body.org_id)
    submission_id = body.submission_id
    await budgets.set_budget(session, scope, budget_credits=body.budget_credits, submission_id=submission_id)
    requeued = await pipeline_service.requeue_parked(session, scope.org_id, submission_id)
    await audit.budget_set(auth, scope.org_id, submission_id, body.budget_credits)
    # Submissions whose parked steps resumed run again.
    await budget_waits.reflect_org(session, scope.org_id)
    view = await budgets.budget_view(session, scope, submission_id)
    return {"data": {**view, "requeued_steps": requeued}}
