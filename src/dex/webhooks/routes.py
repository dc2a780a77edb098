"""``POST /api/v1/webhooks/create|list|delete|deliveries|redeliver``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dex.audit.service import AuditDep
from dex.kit.deps import SessionDep, SettingsDep
from dex.kit.envelopes import Envelope, ListEnvelope, list_envelope
from dex.tenancy.auth import FlexibleAuth, tenant_scope
from dex.webhooks import service
from dex.webhooks.schemas import (
    Deleted,
    DeliveryListRequest,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointListRequest,
    EndpointOut,
    EndpointRef,
    RedeliverRequest,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post("/create", response_model=Envelope[EndpointCreated])
async def create(
    body: EndpointCreate, auth: FlexibleAuth, session: SessionDep, settings: SettingsDep, audit: AuditDep
) -> dict[str, Any]:
    """Subscribe a URL to events. The response carries the signing secret — the only time it is shown."""
    scope = tenant_scope(auth, org_id=body.org_id)
    endpoint = await service.create_endpoint(
        session, scope, body, allow_private=settings.dex_webhook_allow_private_urls
    )
    await audit.webhook_created(auth, endpoint)
    return {"data": {**EndpointOut.model_validate(endpoint).model_dump(), "secret": endpoint.secret}}


@router.post("/list", response_model=ListEnvelope[EndpointOut])
async def list_endpoints(
    body: EndpointListRequest, auth: FlexibleAuth, session: SessionDep
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    page = await service.list_endpoints(session, scope, body)
    return list_envelope([EndpointOut.model_validate(e) for e in page.items], total=page.total, page=body)


@router.post("/delete", response_model=Envelope[Deleted])
async def delete(
    body: EndpointRef, auth: FlexibleAuth, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    scope = tenant_scope(auth, org_id=body.org_id)
    await service.delete_endpoint(session, scope, body.id)
    await audit.webhook_deleted(auth, scope.org_id, body.id)
    return {"data": {"id": body.id, "deleted": True}}


@router.post("/deliveries", response_model=ListEnvelope[DeliveryOut])
async def deliveries(body: DeliveryListRequest, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    """Deliveries newest first, each with the log of its HTTP attempts."""
    scope = tenant_scope(auth, org_id=body.org_id)
    items, total = await service.list_deliveries(session, scope, body)
    return list_envelope(items, total=total, page=body)


@router.post("/redeliver", response_model=Envelope[DeliveryOut])
async def redeliver(body: RedeliverRequest, auth: FlexibleAuth, session: SessionDep) -> dict[str, Any]:
    """Send a delivery again now (succeeded or failed alike), with a fresh retry schedule."""
    scope = tenant_scope(auth, org_id=body.org_id)
    return {"data": await service.redeliver(session, scope, body.delivery_id)}
