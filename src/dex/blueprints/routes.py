"""Blueprint endpoints for tenants and for super-admins, and the assembler."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from dex.audit.service import Audit, AuditDep
from dex.blueprints import assembler, service
from dex.blueprints.assembler import AssembledBlueprint, AssembleRequest
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
from dex.errors import BadRequest
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.envelopes import Envelope, ListEnvelope, list_envelope
from dex.tenancy.auth import (
    AuthContext,
    FlexibleAuth,
    SuperAdminAuth,
    SuperAdminContext,
    TenantAuth,
    tenant_scope,
)

tenant_router = APIRouter(prefix="/api/blueprints", tags=["blueprints"])
super_admin_router = APIRouter(prefix="/api/super-admin/blueprints", tags=["super-admin"])
assemble_router = APIRouter(prefix="/api/v1/blueprints", tags=["blueprints"])


async def _audited(
    audit: Audit, caller: AuthContext | SuperAdminContext, blueprint: BlueprintWithSteps, *, created: bool
) -> dict[str, Any]:
    await audit.blueprint_saved(caller, blueprint, created=created)
    return {"data": blueprint}


@tenant_router.post("/create", response_model=Envelope[BlueprintWithSteps])
async def create(
    body: BlueprintCreate, auth: TenantAuth, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    return await _audited(audit, auth, await service.create(session, auth, body), created=True)


@tenant_router.post("/update", response_model=Envelope[BlueprintWithSteps])
async def update(
    body: BlueprintUpdate, auth: TenantAuth, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    return await _audited(audit, auth, await service.update(session, auth, body), created=False)


@tenant_router.post("/get", response_model=Envelope[BlueprintWithSteps])
async def get(body: BlueprintGet, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    return {"data": await service.get(session, auth.org_id, body.id)}


@tenant_router.post("/list", response_model=ListEnvelope[BlueprintOut])
async def list_(body: BlueprintList, auth: TenantAuth, session: SessionDep) -> dict[str, Any]:
    page = await service.list_blueprints(session, auth.org_id, body)
    return list_envelope(page.items, total=page.total, page=body)


@super_admin_router.post("/create", response_model=Envelope[BlueprintWithSteps])
async def super_admin_create(
    body: SuperAdminBlueprintCreate, auth: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    return await _audited(audit, auth, await service.create(session, scope, body), created=True)


@super_admin_router.post("/update", response_model=Envelope[BlueprintWithSteps])
async def super_admin_update(
    body: BlueprintUpdate, auth: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    blueprint = await service.get(session, None, body.id)
    scope = tenant_scope(auth, org_id=blueprint.org_id)
    return await _audited(audit, auth, await service.update(session, scope, body), created=False)


@super_admin_router.post("/get", response_model=Envelope[BlueprintWithSteps])
async def super_admin_get(body: BlueprintGet, auth: SuperAdminAuth, session: SessionDep) -> dict[str, Any]:
    return {"data": await service.get(session, None, body.id)}


@super_admin_router.post("/list", response_model=ListEnvelope[BlueprintOut])
async def super_admin_list(
    body: SuperAdminBlueprintList, auth: SuperAdminAuth, session: SessionDep
) -> dict[str, Any]:
    page = await service.list_blueprints(session, body.org_id, body)
    return list_envelope(page.items, total=page.total, page=body)


@assemble_router.post("/assemble", response_model=Envelope[AssembledBlueprint])
async def assemble(
    body: AssembleRequest, auth: FlexibleAuth, settings: SettingsDep, request: Request
) -> dict[str, Any]:
    """The shortest blueprint producing the wanted fields (``mode: fields``), or the fields an LLM reads in
    a sentence (``mode: natural_language``; the request's own options override the extracted ones). The
    result is not saved: create a blueprint from its ``steps``."""
    fields, options, extracted = body.desired_fields, body.options, None
    if body.mode == "fields" and not any(f.strip() for f in fields):
        raise BadRequest("desired_fields is required when mode=fields")
    if body.mode == "natural_language":
        if not (body.prompt or "").strip():
            raise BadRequest("prompt is required when mode=natural_language")
        # A sentence is not an enrichment: it is never cached, so the org (a super-admin has none) is unused.
        org_id = auth.org_id if isinstance(auth, AuthContext) else uuid.UUID(int=0)
        providers = request.app.state.providers.context(org_id, use_cache=False)
        extracted = await assembler.interpret(body.prompt or "", body.entity_type, providers, settings)
        fields, options = extracted.desired_fields, {**extracted.options, **body.options}
        if not fields:
            raise BadRequest("the prompt names no field dex can produce")
    result = assembler.assemble(fields, body.entity_type, options, inputs=body.inputs, name=body.name)
    result.llm_extracted = extracted
    return {"data": result}
