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
