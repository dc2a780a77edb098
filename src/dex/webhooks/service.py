"""Managing webhook endpoints and their deliveries. Webhooks are org-wide settings: only org admins (and
super-admins acting for an org) manage them or read their deliveries, which carry every company's events."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import rowcount
from dex.errors import BadRequest, Forbidden, NotFound
from dex.kit.paging import Page, paginate
from dex.tenancy.context import AuthContext
from dex.webhooks.destinations import DestinationRefused, check_destination
from dex.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from dex.webhooks.outbox import DELIVERIES_NOTIFY_CHANNEL
from dex.webhooks.schemas import DeliveryListRequest, EndpointCreate
from dex.webhooks.signing import new_secret


def require_org_admin(scope: AuthContext) -> None:
    if not scope.is_org_admin:
        raise Forbidden("org_admin role required to manage webhooks")


async def create_endpoint(
    session: AsyncSession, scope: AuthContext, body: EndpointCreate, *, allow_private: bool
) -> WebhookEndpoint:
    require_org_admin(scope)
    try:
        await check_destination(body.url, allow_private=allow_private)
    except DestinationRefused as exc:
        raise BadRequest(str(exc)) from exc
    endpoint = WebhookEndpoint(
        org_id=scope.org_id,
        url=body.url,
        description=body.description,
        event_types=sorted(set(body.events)),
        secret=new_secret(),
        created_by_user_id=scope.user_id,
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def list_endpoints(session: AsyncSession, scope: AuthContext, page: Any) -> Page[WebhookEndpoint]:
    require_org_admin(scope)
    query = select(WebhookEndpoint).where(WebhookEndpoint.org_id == scope.org_id)
    return await paginate(session, query, page, WebhookEndpoint.created_at.desc(), WebhookEndpoint.id)


async def delete_endpoint(session: AsyncSession, scope: AuthContext, endpoint_id: uuid.UUID) -> None:
    """Delete an endpoint with its deliveries and their log (pending ones are never sent)."""
    require_org_admin(scope)
    deleted = await session.execute(
        delete(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.org_id == scope.org_id
        )
    )
    if not rowcount(deleted):
        raise NotFound("Webhook endpoint not found")


DELIVERY_FIELDS = (
    "id",
    "endpoint_id",
    "event_id",
    "event_type",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "last_response_status",
    "last_error",
    "delivered_at",
    "created_at",
)


async def _with_attempt_log(session: AsyncSession, deliveries: list[WebhookDelivery]) -> list[dict[str, Any]]:
    log: dict[uuid.UUID, list[WebhookDeliveryAttempt]] = defaultdict(list)
    if deliveries:
        attempts = await session.scalars(
            select(WebhookDeliveryAttempt)
            .where(WebhookDeliveryAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(WebhookDeliveryAttempt.created_at, WebhookDeliveryAttempt.id)
        )
        for attempt in attempts:
            log[attempt.delivery_id].append(attempt)
    return [
        {**{column: getattr(delivery, column) for column in DELIVERY_FIELDS}, "attempt_log": log[delivery.id]}
        for delivery in deliveries
    ]


async def list_deliveries(
    session: AsyncSession, scope: AuthContext, body: DeliveryListRequest
) -> tuple[list[dict[str, Any]], int]:
    """The org's deliveries, newest first, each with its attempt log."""
    require_org_admin(scope)
    query = select(WebhookDelivery).where(WebhookDelivery.org_id == scope.org_id)
    for column, value in (
        (WebhookDelivery.endpoint_id, body.endpoint_id),
        (WebhookDelivery.status, body.status),
        (WebhookDelivery.event_type, body.event_type),
    ):
        if value is not None:
            query = query.where(column == value)
    page = await paginate(session, query, body, WebhookDelivery.created_at.desc(), WebhookDelivery.id)
    return await _with_attempt_log(session, page.items), page.total


async def redeliver(session: AsyncSession, scope: AuthContext, delivery_id: uuid.UUID) -> dict[str, Any]:
    """Send a delivery again now, whatever became of it, with a fresh retry schedule."""
    require_org_admin(scope)
    delivery = await session.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.org_id == scope.org_id)
        .values(status="pending", attempts=0, next_attempt_at=text("now()"))
        .returning(WebhookDelivery)
    )
    if delivery is None:
        raise NotFound("Webhook delivery not found")
    await session.execute(text(f"NOTIFY {DELIVERIES_NOTIFY_CHANNEL}"))
    return (await _with_attempt_log(session, [delivery]))[0]
