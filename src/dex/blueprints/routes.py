"""Blueprint endpoints for tenants and for super-admins (reference §4.5–4.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dex.api.deps import SessionDep
from dex.api.envelopes import ERROR_RESPONSES, Envelope, ListEnvelope, list_envelope
from dex.blueprints import service
from dex.blueprints.schemas import (
    BlueprintCreate,
    BlueprintGet,
    BlueprintList,
    BlueprintOut,
    BlueprintUpdate,
    BlueprintWithSteps,
    SuperAdminBlueprintCreate,
    SuperAdminBlueprintList,
)
from dex.tenancy.auth import SuperAdminAuth, TenantAuth, tenant_scope

tenant_router = APIRouter(prefix="/api/blueprints", tags=["blueprints"], responses=ERROR_RESPONSES)
super_admin_router = APIRouter(
    prefix="/api/super-admin/blueprints", tags=["super-admin"], responses=ERROR_RESPONSES
)


@tenant_router.post("/create", response_model=Envelope[BlueprintWithSteps])
async def create(body: BlueprintCreate, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    return {"data": await service.create(session, auth, body)}


@tenant_router.post("/update", response_model=Envelope[BlueprintWithSteps])
async def update(body: BlueprintUpdate, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    return {"data": await service.update(session, auth, body)}


@tenant_router.post("/get", response_model=Envelope[BlueprintWithSteps])
async def get(body: BlueprintGet, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    return {"data": await service.get(session, auth.org_id, body.id)}


@tenant_router.post("/list", response_model=ListEnvelope[BlueprintOut])
async def list_(body: BlueprintList, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    page = await service.list_blueprints(session, auth.org_id, body)
    return list_envelope(page.items, total=page.total, page=body)


@super_admin_router.post("/create", response_model=Envelope[BlueprintWithSteps])
async def super_admin_create(
    body: SuperAdminBlueprintCreate, auth: SuperAdminAuth, session: SessionDep
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    return {"data": await service.create(session, scope, body)}


@super_admin_router.post("/update", response_model=Envelope[BlueprintWithSteps])
async def super_admin_update(
    body: BlueprintUpdate, auth: SuperAdminAuth, session: SessionDep
) -> dict[str, Any]:
    blueprint = await service.get(session, None, body.id)
    scope = tenant_scope(auth, org_id=blueprint.org_id)
    return {"data": await service.update(session, scope, body)}


@super_admin_router.post("/get", response_model=Envelope[BlueprintWithSteps])
async def super_admin_get(body: BlueprintGet, auth: SuperAdminAuth, session: SessionDep) -> dict[str, Any]:
    return {"data": await service.get(session, None, body.id)}


@super_admin_router.post("/list", response_model=ListEnvelope[BlueprintOut])
async def super_admin_list(
    body: SuperAdminBlueprintList, auth: SuperAdminAuth, session: SessionDep
) -> dict[str, Any]:
    page = await service.list_blueprints(session, body.org_id, body)
    return list_envelope(page.items, total=page.total, page=body)
