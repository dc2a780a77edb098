"""Console pages for running an org and the platform: usage with a chart, budgets, webhooks, and the
super-admin's orgs, companies, users and API tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from dex.audit.service import AuditDep
from dex.console.paging import pager
from dex.console.web import (
    CONSOLE_PREFIX,
    ConsoleOrgAdmin,
    ConsoleRoute,
    ConsoleSuperAdmin,
    ConsoleTenant,
    render,
)
from dex.errors import BadRequest
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.envelopes import PageRequest
from dex.tenancy import service as tenancy
from dex.usage import budgets, ledger
from dex.webhooks import service as webhooks
from dex.webhooks.models import EVENT_TYPES
from dex.webhooks.schemas import DeliveryListRequest, EndpointCreate

router = APIRouter(prefix=CONSOLE_PREFIX, route_class=ConsoleRoute)

USAGE_DAYS = 30
ROLES = ("org_admin", "company_admin", "member")
# The orgs, companies or users offered in a form's drop-down.
CHOICES = PageRequest(limit=1000)


# Usage and budgets --------------------------------------------------------------------------------------


def day_chart(rows: list[dict[str, Any]], first: date, last: date) -> dict[str, Any]:
    """Bars of credits per UTC day from ``first`` to ``last`` (days without spend are zero), laid out for
    an inline SVG: each bar's position and height in the chart's own units."""
    spent = {row["day"]: Decimal(row["cost_credits"]) for row in rows}
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    top = max(spent.values(), default=Decimal(0)) or Decimal(1)
    width, height, gap = 720, 160, 2
    bar = width / len(days)
    bars = []
    for index, day in enumerate(days):
        value = spent.get(day, Decimal(0))
        bar_height = float(value / top) * height
        bars.append(
            {
                "x": round(index * bar + gap / 2, 1),
                "y": round(height - bar_height, 1),
                "width": round(bar - gap, 1),
                "height": round(bar_height, 1),
                "day": day.isoformat(),
                "credits": f"{value.normalize():f}",
            }
        )
    return {"bars": bars, "width": width, "height": height, "top": f"{top.normalize():f}"}


@router.get("/usage")
async def usage(request: Request, auth: ConsoleTenant, session: SessionDep) -> Response:
    today = datetime.now(UTC).date()
    first = today - timedelta(days=USAGE_DAYS - 1)
    filters = ledger.LedgerFilter(
        org_id=auth.org_id, company_id=auth.own_company_id(), date_from=first, date_to=today
    )
    by_day = await ledger.usage(session, filters, ["day"], limit=USAGE_DAYS, offset=0)
    by_provider = await ledger.usage(session, filters, ["provider"], limit=100, offset=0)
    by_operation = await ledger.usage(session, filters, ["operation"], limit=100, offset=0)
    return render(
        request,
        "admin/usage.html",
        first=first,
        last=today,
        totals=by_day["totals"],
        chart=day_chart(by_day["groups"], first, today),
        by_provider=by_provider["groups"],
        by_operation=by_operation["groups"],
    )


@router.get("/usage/budgets")
async def budget_page(request: Request, auth: ConsoleOrgAdmin, session: SessionDep) -> Response:
    view = await budgets.budget_view(session, auth)
    return render(request, "admin/budgets.html", view=view, saved=request.query_params.get("saved"))


@router.post("/usage/budgets")
async def set_budget(
    auth: ConsoleOrgAdmin,
    session: SessionDep,
    audit: AuditDep,
    budget_credits: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    try:
        value = Decimal(budget_credits) if budget_credits.strip() else None
    except InvalidOperation as exc:
        raise BadRequest("The budget must be a number of credits, or empty for no budget") from exc
    if value is not None and (value < 0 or not value.is_finite()):
        raise BadRequest("The budget must be zero or more credits")
    await budgets.set_budget(session, auth, budget_credits=value)
    await audit.budget_set(auth, auth.org_id, None, value)
    return RedirectResponse(f"{CONSOLE_PREFIX}/usage/budgets?saved=1", status_code=303)


# Webhooks -----------------------------------------------------------------------------------------------


@router.get("/webhooks")
async def webhook_page(request: Request, auth: ConsoleOrgAdmin, session: SessionDep) -> Response:
    paging = pager(request)
    endpoints = await webhooks.list_endpoints(session, auth, paging.request())
    delivery_paging = pager(request, size=25, param="deliveries")
    deliveries, total = await webhooks.list_deliveries(
        session, auth, DeliveryListRequest(limit=delivery_paging.size, offset=delivery_paging.offset)
    )
    return render(
        request,
        "admin/webhooks.html",
        endpoints=endpoints.items,
        pager=paging.with_total(endpoints.total),
        deliveries=deliveries,
        delivery_pager=delivery_paging.with_total(total),
        events=EVENT_TYPES,
    )


@router.post("/webhooks")
async def create_webhook(
    request: Request,
    auth: ConsoleOrgAdmin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    url: Annotated[str, Form(max_length=2048)],
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    form = await request.form()
    body = EndpointCreate(url=url, events=form.getlist("events"), description=description or None)
    endpoint = await webhooks.create_endpoint(
        session, auth, body, allow_private=settings.dex_webhook_allow_private_urls
    )
    await audit.webhook_created(auth, endpoint)
    return render(request, "admin/webhook_created.html", endpoint=endpoint)


@router.post("/webhooks/{endpoint_id}/delete")
async def delete_webhook(
    endpoint_id: uuid.UUID, auth: ConsoleOrgAdmin, session: SessionDep, audit: AuditDep
) -> Response:
    await webhooks.delete_endpoint(session, auth, endpoint_id)
    await audit.webhook_deleted(auth, auth.org_id, endpoint_id)
    return RedirectResponse(f"{CONSOLE_PREFIX}/webhooks", status_code=303)


@router.post("/webhooks/deliveries/{delivery_id}/redeliver")
async def redeliver(delivery_id: uuid.UUID, auth: ConsoleOrgAdmin, session: SessionDep) -> Response:
    await webhooks.redeliver(session, auth, delivery_id)
    return RedirectResponse(f"{CONSOLE_PREFIX}/webhooks", status_code=303)


# Super-admin --------------------------------------------------------------------------------------------


def _optional_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError as exc:
        raise BadRequest(f"{value!r} is not an id") from exc


@router.get("/admin/orgs")
async def orgs(request: Request, admin: ConsoleSuperAdmin, session: SessionDep) -> Response:
    paging = pager(request)
    page = await tenancy.list_orgs(session, admin, page=paging.request())
    return render(request, "admin/orgs.html", orgs=page.items, pager=paging.with_total(page.total))


@router.post("/admin/orgs")
async def create_org(
    admin: ConsoleSuperAdmin,
    session: SessionDep,
    audit: AuditDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    slug: Annotated[str, Form(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9-]*$")],
) -> Response:
    await audit.org_created(admin, await tenancy.create_org(session, admin, name=name, slug=slug))
    return RedirectResponse(f"{CONSOLE_PREFIX}/admin/orgs", status_code=303)


@router.get("/admin/companies")
async def companies(request: Request, admin: ConsoleSuperAdmin, session: SessionDep) -> Response:
    paging = pager(request)
    org_id = _optional_uuid(request.query_params.get("org_id", ""))
    page = await tenancy.list_companies(session, admin, page=paging.request(), org_id=org_id)
    all_orgs = await tenancy.list_orgs(session, admin, page=CHOICES)
    return render(
        request,
        "admin/companies.html",
        companies=page.items,
        orgs=all_orgs.items,
        org_id=org_id,
        pager=paging.with_total(page.total),
    )


@router.post("/admin/companies")
async def create_company(
    admin: ConsoleSuperAdmin,
    session: SessionDep,
    audit: AuditDep,
    org_id: Annotated[uuid.UUID, Form()],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    domain: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    company = await tenancy.create_company(session, admin, org_id=org_id, name=name, domain=domain or None)
    await audit.company_created(admin, company)
    return RedirectResponse(f"{CONSOLE_PREFIX}/admin/companies?org_id={org_id}", status_code=303)


@router.get("/admin/users")
async def users(request: Request, admin: ConsoleSuperAdmin, session: SessionDep) -> Response:
    paging = pager(request)
    org_id = _optional_uuid(request.query_params.get("org_id", ""))
    page = await tenancy.list_users(session, admin, page=paging.request(), org_id=org_id)
    all_orgs = await tenancy.list_orgs(session, admin, page=CHOICES)
    all_companies = await tenancy.list_companies(session, admin, page=CHOICES, org_id=org_id)
    return render(
        request,
        "admin/users.html",
        users=page.items,
        orgs=all_orgs.items,
        companies=all_companies.items,
        org_id=org_id,
        roles=ROLES,
        pager=paging.with_total(page.total),
    )


@router.post("/admin/users")
async def create_user(
    admin: ConsoleSuperAdmin,
    session: SessionDep,
    audit: AuditDep,
    org_id: Annotated[uuid.UUID, Form()],
    email: Annotated[str, Form(min_length=3, max_length=320)],
    password: Annotated[str, Form(min_length=8, max_length=1024)],
    role: Annotated[str, Form(pattern="^(org_admin|company_admin|member)$")],
    company_id: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    user = await tenancy.create_user(
        session,
        admin,
        org_id=org_id,
        email=email,
        password=password,
        role=role,
        company_id=_optional_uuid(company_id),
        full_name=full_name or None,
    )
    await audit.user_created(admin, user)
    return RedirectResponse(f"{CONSOLE_PREFIX}/admin/users?org_id={org_id}", status_code=303)


@router.post("/admin/users/{user_id}/deactivate")
async def deactivate_user(
    user_id: uuid.UUID, admin: ConsoleSuperAdmin, session: SessionDep, audit: AuditDep
) -> Response:
    await audit.user_deactivated(admin, await tenancy.deactivate_user(session, admin, user_id=user_id))
    return RedirectResponse(f"{CONSOLE_PREFIX}/admin/users", status_code=303)


@router.get("/admin/tokens")
async def tokens(request: Request, admin: ConsoleSuperAdmin, session: SessionDep) -> Response:
    paging = pager(request)
    page = await tenancy.list_api_tokens(session, admin, page=paging.request())
    all_users = await tenancy.list_users(session, admin, page=CHOICES)
    return render(
        request,
        "admin/tokens.html",
        tokens=page.items,
        users=all_users.items,
        pager=paging.with_total(page.total),
    )


@router.post("/admin/tokens")
async def create_token(
    request: Request,
    admin: ConsoleSuperAdmin,
    session: SessionDep,
    audit: AuditDep,
    user_id: Annotated[uuid.UUID, Form()],
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    created = await tenancy.create_api_token(session, admin, user_id=user_id, name=name)
    await audit.api_token_created(admin, created.row)
    # The raw token exists only in this response: it is shown once and never again.
    return render(request, "admin/token_created.html", row=created.row, token=created.token)


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(
    token_id: uuid.UUID, admin: ConsoleSuperAdmin, session: SessionDep, audit: AuditDep
) -> Response:
    await audit.api_token_revoked(admin, await tenancy.revoke_api_token(session, admin, token_id=token_id))
    return RedirectResponse(f"{CONSOLE_PREFIX}/admin/tokens", status_code=303)
