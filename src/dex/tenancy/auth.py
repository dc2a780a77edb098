"""Authentication: bearer credentials → ``AuthContext`` (tenants) or ``SuperAdminContext`` (operators).

Other packages use the dependency aliases ``TenantAuth``, ``SuperAdminAuth`` and ``FlexibleAuth`` and the
``tenant_scope`` helper. Tenant credentials, tried in this order:

1. the internal service key (only when ``INTERNAL_API_KEY`` is set) with ``x-internal-org-id`` and optional
   ``x-internal-company-id`` headers, which must name an existing org and a company of that org;
2. a session JWT, re-checked against the user row so deactivation revokes it at once;
3. an API token, looked up by its SHA-256.

Every secret comparison is constant-time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from dex.config import Settings
from dex.errors import Forbidden, Unauthorized
from dex.kit.deps import SessionDep, SettingsDep
from dex.tenancy.context import AuthContext, SuperAdminContext, tenant_scope
from dex.tenancy.repository import LAST_USED_RESOLUTION, CredentialRepository
from dex.tenancy.tokens import (
    decode_session_jwt,
    decode_super_admin_jwt,
    hash_api_token,
    looks_like_jwt,
    secrets_match,
)

__all__ = [
    "AuthContext",
    "FlexibleAuth",
    "SuperAdminAuth",
    "SuperAdminContext",
    "TenantAuth",
    "authenticate_super_admin",
    "authenticate_tenant",
    "tenant_scope",
]

INTERNAL_ORG_HEADER = "x-internal-org-id"
INTERNAL_COMPANY_HEADER = "x-internal-company-id"
# Whoever holds SUPER_ADMIN_API_KEY; the seed system's fixed identity for it.
API_KEY_SUPER_ADMIN = SuperAdminContext(super_admin_id=uuid.UUID(int=0), email="api-key@super-admin")

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A session JWT, an API token, a super-admin JWT or key, or the internal service key.",
)


async def _bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    if credentials is None:
        raise Unauthorized("Missing authorization token")
    return credentials.credentials


BearerToken = Annotated[str, Depends(_bearer_token)]


async def authenticate_tenant(
    session: AsyncSession, settings: Settings, token: str, headers: Mapping[str, str]
) -> AuthContext:
    if secrets_match(token, settings.internal_api_key):
        return await _internal_context(session, headers)
    if looks_like_jwt(token):
        return await _session_context(session, settings, token)
    return await _api_token_context(session, token)


async def authenticate_super_admin(
    session: AsyncSession, settings: Settings, token: str
) -> SuperAdminContext:
    if secrets_match(token, settings.super_admin_api_key):
        return API_KEY_SUPER_ADMIN
    claims = decode_super_admin_jwt(token, secret=settings.super_admin_jwt_secret)
    admin = await CredentialRepository(session).super_admin_by_id(claims.sub)
    if (
        admin is None
        or not admin.is_active
        or admin.email != claims.email
        or admin.token_generation != claims.gen
    ):
        raise Unauthorized("Super admin not found or inactive")
    return SuperAdminContext(super_admin_id=admin.id, email=admin.email)


def _header_uuid(headers: Mapping[str, str], name: str) -> uuid.UUID | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise Unauthorized(f"Invalid {name} header") from exc


async def _internal_context(session: AsyncSession, headers: Mapping[str, str]) -> AuthContext:
    org_id = _header_uuid(headers, INTERNAL_ORG_HEADER)
    if org_id is None:
        raise Unauthorized(f"Missing {INTERNAL_ORG_HEADER} for internal authorization")
    company_id = _header_uuid(headers, INTERNAL_COMPANY_HEADER)
    credentials = CredentialRepository(session)
    if not await credentials.org_exists(org_id):
        raise Unauthorized(f"{INTERNAL_ORG_HEADER} names no org")
    if company_id is not None and not await credentials.company_in_org(company_id, org_id):
        raise Forbidden(f"{INTERNAL_COMPANY_HEADER} is not a company of {INTERNAL_ORG_HEADER}")
    return AuthContext(
        org_id=org_id, user_id=None, company_id=company_id, role="org_admin", auth_method="internal"
    )


async def _session_context(session: AsyncSession, settings: Settings, token: str) -> AuthContext:
    claims = decode_session_jwt(token, secret=settings.jwt_secret)
    user = await CredentialRepository(session).user_by_id(claims.sub)
    if user is None or not user.is_active or user.token_generation != claims.gen:
        raise Unauthorized("Session is no longer valid")
    # The row, not the claims, is the authority: a role or company change applies at once.
    return AuthContext(
        org_id=user.org_id, user_id=user.id, company_id=user.company_id, role=user.role, auth_method="jwt"
    )


async def _api_token_context(session: AsyncSession, token: str) -> AuthContext:
    credentials = CredentialRepository(session)
    found = await credentials.api_token_by_hash(hash_api_token(token))
    if found is None:
        raise Unauthorized("Invalid authentication token")
    api_token, owner_active = found
    now = datetime.now(UTC)
    if api_token.revoked_at is not None:
        raise Unauthorized("API token is revoked")
    if api_token.expires_at is not None and api_token.expires_at <= now:
        raise Unauthorized("API token is expired")
    if owner_active is False:
        raise Unauthorized("API token owner is inactive")
    if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
        await credentials.touch_api_token(api_token.id)
    return AuthContext(
        org_id=api_token.org_id,
        user_id=api_token.user_id,
        company_id=api_token.company_id,
        role=api_token.role,
        auth_method="api_token",
    )


async def get_current_auth(
    request: Request, token: BearerToken, session: SessionDep, settings: SettingsDep
) -> AuthContext:
    return await authenticate_tenant(session, settings, token, request.headers)


async def get_current_super_admin(
    token: BearerToken, session: SessionDep, settings: SettingsDep
) -> SuperAdminContext:
    return await authenticate_super_admin(session, settings, token)


async def get_flexible_auth(
    request: Request, token: BearerToken, session: SessionDep, settings: SettingsDep
) -> AuthContext | SuperAdminContext:
    """Super-admin credentials first, then tenant ones; failures report the tenant error."""
    try:
        return await authenticate_super_admin(session, settings, token)
    except Unauthorized:
        return await authenticate_tenant(session, settings, token, request.headers)


TenantAuth = Annotated[AuthContext, Depends(get_current_auth)]
SuperAdminAuth = Annotated[SuperAdminContext, Depends(get_current_super_admin)]
FlexibleAuth = Annotated[AuthContext | SuperAdminContext, Depends(get_flexible_auth)]
