"""Bearer credentials: session and super-admin JWTs (HS256), API tokens, constant-time secret checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import jwt
from pydantic import BaseModel, ValidationError

from dex.errors import ConfigurationError, Unauthorized

ALGORITHM = "HS256"
API_TOKEN_PREFIX = "dex_"
# 40 bytes of entropy, as the seed system.
API_TOKEN_BYTES = 40

ClaimsT = TypeVar("ClaimsT", bound=BaseModel)


class SessionClaims(BaseModel):
    type: Literal["session"]
    sub: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID | None = None
    role: str
    gen: int


class SuperAdminClaims(BaseModel):
    type: Literal["super_admin"]
    sub: uuid.UUID
    email: str
    gen: int


def secrets_match(given: str, expected: str | None) -> bool:
    """Constant-time comparison; an unset secret matches nothing."""
    if expected is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(API_TOKEN_BYTES)


def hash_api_token(token: str) -> str:
    """Only this SHA-256 hex digest is stored; the raw token is shown once, at creation."""
    return hashlib.sha256(token.encode()).hexdigest()


def _require_secret(secret: str | None, name: str) -> str:
    if secret is None:
        raise ConfigurationError(f"{name} is not configured")
    return secret


def issue_session_jwt(
    *,
    secret: str | None,
    ttl_hours: int,
    user_id: uuid.UUID,
    org_id: uuid.UUID,
    company_id: uuid.UUID | None,
    role: str,
    generation: int,
) -> str:
    claims = {
        "type": "session",
        "sub": str(user_id),
        "user_id": str(user_id),
        "org_id": str(org_id),
        "company_id": str(company_id) if company_id else None,
        "role": role,
        "gen": generation,
    }
    return _encode(claims, _require_secret(secret, "JWT_SECRET"), ttl_hours)


def issue_super_admin_jwt(
    *, secret: str | None, ttl_hours: int, super_admin_id: uuid.UUID, email: str, generation: int
) -> str:
    claims = {
        "type": "super_admin",
        "sub": str(super_admin_id),
        "super_admin_id": str(super_admin_id),
        "email": email,
        "gen": generation,
    }
    return _encode(claims, _require_secret(secret, "SUPER_ADMIN_JWT_SECRET"), ttl_hours)


def _encode(claims: dict[str, Any], secret: str, ttl_hours: int) -> str:
    now = datetime.now(UTC)
    return jwt.encode({**claims, "iat": now, "exp": now + timedelta(hours=ttl_hours)}, secret, ALGORITHM)


def decode_session_jwt(token: str, *, secret: str | None) -> SessionClaims:
    claims = _decode(token, _require_secret(secret, "JWT_SECRET"), invalid="Invalid authentication token")
    return _parse(
        SessionClaims,
        claims,
        expected_type="session",
        wrong_type="Invalid JWT type for tenant endpoints",
        invalid="Invalid authentication token",
    )


def decode_super_admin_jwt(token: str, *, secret: str | None) -> SuperAdminClaims:
    claims = _decode(token, _require_secret(secret, "SUPER_ADMIN_JWT_SECRET"), invalid="Invalid token")
    return _parse(
        SuperAdminClaims,
        claims,
        expected_type="super_admin",
        wrong_type="Invalid token type for super admin endpoints",
        invalid="Invalid token",
    )


def _decode(token: str, secret: str, *, invalid: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "iat", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(invalid) from exc


def _parse(
    model: type[ClaimsT], claims: dict[str, Any], *, expected_type: str, wrong_type: str, invalid: str
) -> ClaimsT:
    if claims.get("type") != expected_type:
        raise Unauthorized(wrong_type)
    try:
        return model.model_validate(claims)
    except ValidationError as exc:
        raise Unauthorized(invalid) from exc
