"""Recording and reading the audit trail.

An event is written with the session of the change it records, so both commit or neither does (services
never commit: the request owns the transaction). Details hold what changed, never a secret: no password,
token or webhook signing secret is ever passed here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Depends
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from dex.audit.models import AuditEvent
from dex.audit.repository import AuditRepository
from dex.errors import Forbidden
from dex.kit.deps import SessionDep
from dex.kit.envelopes import PageRequest
from dex.kit.network import ClientAddress
from dex.tenancy.context import AuthContext, Caller, SuperAdminContext
from dex.tenancy.models import ApiToken, Company, Org, User

ACTOR_TYPE_OF_METHOD = {
    "jwt": "user",
    "api_token": "api_token",
    "internal": "internal",
    "super_admin": "super_admin",
}


@dataclass(frozen=True)
class Actor:
    """Who acted: ``actor_type`` (user, api_token, internal, super_admin, anonymous), their id and, for a
    super-admin or a login, an email."""

    actor_type: str
    actor_id: uuid.UUID | None = None
    actor_email: str | None = None


def url_without_secrets(url: str) -> str:
    """``url`` without user info, query or fragment: where credentials in a URL live."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def actor_of(caller: Caller) -> Actor:
    if isinstance(caller, SuperAdminContext):
        return Actor("super_admin", caller.super_admin_id, caller.email)
    return Actor(ACTOR_TYPE_OF_METHOD[caller.auth_method], caller.user_id)


async def record_event(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    org_id: uuid.UUID | None,
    client_address: str | None,
    target_type: str | None = None,
    target_id: Any = None,
    details: dict[str, Any] | None = None,
) -> None:
    await AuditRepository(session).add(
        {
            "org_id": org_id,
            "actor_type": actor.actor_type,
            "actor_id": actor.actor_id,
            "actor_email": actor.actor_email,
            "client_address": client_address,
            "action": action,
            "target_type": target_type,
            "target_id": None if target_id is None else str(target_id),
            # Ids, decimals and times in details are stored as JSON text.
            "details": to_jsonable_python(details or {}),
        }
    )


@dataclass(frozen=True)
class Audit:
    """The audit trail as a request sees it: its session and its client's address."""

    session: AsyncSession
    client_address: str | None

    async def record(
        self,
        caller: Caller,
        action: str,
        *,
        org_id: uuid.UUID | None,
        target_type: str | None = None,
        target_id: Any = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await record_event(
            self.session,
            actor_of(caller),
            action,
            org_id=org_id,
            client_address=self.client_address,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )

    # What each family of changes records, one place for every face (API routes, console pages). Webhook
    # endpoints and blueprints are read by attribute: their domains sit beside this one, not below it.

    async def org_created(self, caller: Caller, org: Org) -> None:
        details = {"name": org.name, "slug": org.slug}
        await self.record(
            caller, "org.created", org_id=org.id, target_type="org", target_id=org.id, details=details
        )

    async def org_updated(self, caller: Caller, org: Org, values: dict[str, Any]) -> None:
        await self.record(
            caller, "org.updated", org_id=org.id, target_type="org", target_id=org.id, details=values
        )

    async def company_created(self, caller: Caller, company: Company) -> None:
        await self.record(
            caller,
            "company.created",
            org_id=company.org_id,
            target_type="company",
            target_id=company.id,
            details={"name": company.name, "domain": company.domain, "external_ref": company.external_ref},
        )

    async def user_created(self, caller: Caller, user: User) -> None:
        await self.record(
            caller,
            "user.created",
            org_id=user.org_id,
            target_type="user",
            target_id=user.id,
            details={"email": user.email, "role": user.role, "company_id": user.company_id},
        )

    async def user_deactivated(self, caller: Caller, user: User) -> None:
        details = {"email": user.email}
        await self.record(
            caller,
            "user.deactivated",
            org_id=user.org_id,
            target_type="user",
            target_id=user.id,
            details=details,
        )

    async def api_token_created(self, caller: Caller, token: ApiToken) -> None:
        """The token row, never the token: it is shown once, in the answer that created it."""
        await self.record(
            caller,
            "api_token.created",
            org_id=token.org_id,
            target_type="api_token",
            target_id=token.id,
            details={
                "name": token.name,
                "user_id": token.user_id,
                "role": token.role,
                "expires_at": token.expires_at,
            },
        )

    async def api_token_revoked(self, caller: Caller, token: ApiToken) -> None:
        await self.record(
            caller,
            "api_token.revoked",
            org_id=token.org_id,
            target_type="api_token",
            target_id=token.id,
            details={"name": token.name, "user_id": token.user_id},
        )

    async def budget_set(
        self, caller: Caller, org_id: uuid.UUID, submission_id: uuid.UUID | None, budget_credits: Any
    ) -> None:
        await self.record(
            caller,
            "budget.set",
            org_id=org_id,
            target_type="org" if submission_id is None else "submission",
            target_id=submission_id or org_id,
            details={"budget_credits": budget_credits},
        )

    async def webhook_created(self, caller: Caller, endpoint: Any) -> None:
        """The endpoint's address without anything secret in it; never its signing secret."""
        await self.record(
            caller,
            "webhook.created",
            org_id=endpoint.org_id,
            target_type="webhook_endpoint",
            target_id=endpoint.id,
            details={"url": url_without_secrets(endpoint.url), "events": list(endpoint.event_types)},
        )

    async def webhook_deleted(self, caller: Caller, org_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
        await self.record(
            caller, "webhook.deleted", org_id=org_id, target_type="webhook_endpoint", target_id=endpoint_id
        )

    async def blueprint_saved(self, caller: Caller, blueprint: Any, *, created: bool) -> None:
        await self.record(
            caller,
            "blueprint.created" if created else "blueprint.updated",
            org_id=blueprint.org_id,
            target_type="blueprint",
            target_id=blueprint.id,
            details={
                "name": blueprint.name,
                "version": blueprint.version,
                "is_active": blueprint.is_active,
                "operations": [step.operation_id for step in blueprint.blueprint_steps],
            },
        )


def get_audit(session: SessionDep, client_address: ClientAddress) -> Audit:
    return Audit(session, client_address)


AuditDep = Annotated[Audit, Depends(get_audit)]


async def list_events(
    session: AsyncSession,
    caller: Caller,
    page: PageRequest,
    *,
    org_id: uuid.UUID | None,
    action: str | None,
) -> tuple[list[AuditEvent], int]:
    """Org admins read their own org's trail (naming another org is 403); super-admins any org's."""
    if isinstance(caller, AuthContext):
        if not caller.is_org_admin:
            raise Forbidden("org_admin role required")
        if org_id is not None and org_id != caller.org_id:
            raise Forbidden("Forbidden org access")
    return await AuditRepository(session).list(caller, page, org_id=org_id, action=action)
