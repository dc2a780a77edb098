"""Tenancy logic: logins, org/company/user/API-token administration, the legacy step registry.

Functions take the session and the caller, and never commit: the request (or CLI command) owns the
transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from dex.config import Settings
from dex.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from dex.kit.envelopes import PageRequest
from dex.tenancy.context import Caller, SuperAdminContext
from dex.tenancy.models import ApiToken, Company, LegacyStep, Org, User
from dex.tenancy.passwords import hash_password, verify_password
from dex.tenancy.repository import (
    ApiTokenRepository,
    CompanyRepository,
    CredentialRepository,
    OrgRepository,
    Page,
    StepRepository,
    SuperAdminRepository,
    UserRepository,
)
from dex.tenancy.tokens import hash_api_token, issue_session_jwt, issue_super_admin_jwt, new_api_token

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class NewApiToken:
    row: ApiToken
    token: str


def _found(row: RowT | None, message: str) -> RowT:
    if row is None:
        raise NotFound(message)
    return row


def _require_update(values: dict[str, Any]) -> dict[str, Any]:
    if not values:
        raise BadRequest("No fields provided for update")
    return values


# Logins -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    token: str
    account_id: uuid.UUID
    org_id: uuid.UUID | None  # None for a super-admin


async def login(session: AsyncSession, settings: Settings, *, email: str, password: str) -> LoginResult:
    user = await CredentialRepository(session).user_by_email(email)
    password_ok = await verify_password(password, user.password_hash if user else None)
    if user is None or not password_ok or not user.is_active:
        raise Unauthorized("Invalid credentials")
    token = issue_session_jwt(
        secret=settings.jwt_secret,
        ttl_hours=settings.session_ttl_hours,
        user_id=user.id,
        org_id=user.org_id,
        company_id=user.company_id,
        role=user.role,
        generation=user.token_generation,
    )
    return LoginResult(token, user.id, user.org_id)


async def super_admin_login(
    session: AsyncSession, settings: Settings, *, email: str, password: str
) -> LoginResult:
    admin = await CredentialRepository(session).super_admin_by_email(email)
    password_ok = await verify_password(password, admin.password_hash if admin else None)
    if admin is None or not password_ok:
        raise Unauthorized("Invalid credentials")
    if not admin.is_active:
        raise Unauthorized("Super admin is inactive")
    token = issue_super_admin_jwt(
        secret=settings.super_admin_jwt_secret,
        ttl_hours=settings.session_ttl_hours,
        super_admin_id=admin.id,
        email=admin.email,
        generation=admin.token_generation,
    )
    return LoginResult(token, admin.id, None)


# Orgs ---------------------------------------------------------------------------------------------------


async def create_org(session: AsyncSession, caller: SuperAdminContext, *, name: str, slug: str) -> Org:
    return await OrgRepository(session, caller).create(name=name, slug=slug)


async def list_orgs(session: AsyncSession, caller: SuperAdminContext, *, page: PageRequest) -> Page[Org]:
    return await OrgRepository(session, caller).list(page)


async def get_org(session: AsyncSession, caller: Caller, *, org_id: uuid.UUID) -> Org:
    return _found(await OrgRepository(session, caller).get(org_id), "Org not found")


async def update_org(
    session: AsyncSession, caller: SuperAdminContext, *, org_id: uuid.UUID, values: dict[str, Any]
) -> Org:
    org = await OrgRepository(session, caller).update(org_id, _require_update(values))
    return _found(org, "Org not found")


async def _require_org(session: AsyncSession, caller: SuperAdminContext, org_id: uuid.UUID) -> Org:
    org = await OrgRepository(session, caller).get(org_id)
    if org is None:
        raise BadRequest("org_id does not exist")
    return org


# Companies ----------------------------------------------------------------------------------------------


async def create_company(
    session: AsyncSession,
    caller: SuperAdminContext,
    *,
    org_id: uuid.UUID,
    name: str,
    domain: str | None = None,
    external_ref: str | None = None,
) -> Company:
    await _require_org(session, caller, org_id)
    return await CompanyRepository(session, caller).create(
        {"org_id": org_id, "name": name, "domain": domain, "external_ref": external_ref}
    )


async def list_companies(
    session: AsyncSession, caller: Caller, *, page: PageRequest, org_id: uuid.UUID | None = None
) -> Page[Company]:
    return await CompanyRepository(session, caller).list(page, org_id=org_id)


async def get_company(session: AsyncSession, caller: Caller, *, company_id: uuid.UUID) -> Company:
    if not isinstance(caller, SuperAdminContext):
        caller.check_company_access(company_id)
    return _found(await CompanyRepository(session, caller).get(company_id), "Company not found")


# Users --------------------------------------------------------------------------------------------------


def _require_org_admin(caller: Caller) -> None:
    if not isinstance(caller, SuperAdminContext) and not caller.is_org_admin:
        raise Forbidden("org_admin role required")


async def create_user(
    session: AsyncSession,
    caller: SuperAdminContext,
    *,
    org_id: uuid.UUID,
    email: str,
    password: str,
    role: str,
    company_id: uuid.UUID | None = None,
    full_name: str | None = None,
) -> User:
    await _require_org(session, caller, org_id)
    if company_id is not None:
        company = await CompanyRepository(session, caller).get(company_id)
        if company is None or company.org_id != org_id:
            raise BadRequest("company_id does not belong to org_id")
    elif role != "org_admin":
        # A company-scoped user without a company could authenticate but never see anything.
        raise BadRequest(f"company_id is required for role {role}")
    return await UserRepository(session, caller).create(
        {
            "org_id": org_id,
            "company_id": company_id,
            "email": email,
            "full_name": full_name,
            "role": role,
            "password_hash": await hash_password(password),
        }
    )


async def list_users(
    session: AsyncSession,
    caller: Caller,
    *,
    page: PageRequest,
    org_id: uuid.UUID | None = None,
    company_id: uuid.UUID | None = None,
) -> Page[User]:
    _require_org_admin(caller)
    return await UserRepository(session, caller).list(page, org_id=org_id, company_id=company_id)


async def get_user(session: AsyncSession, caller: Caller, *, user_id: uuid.UUID) -> User:
    _require_org_admin(caller)
    return _found(await UserRepository(session, caller).get(user_id), "User not found")


async def get_user_by_email(session: AsyncSession, caller: SuperAdminContext, *, email: str) -> User:
    return _found(await UserRepository(session, caller).get_by_email(email), "User not found")


async def deactivate_user(session: AsyncSession, caller: SuperAdminContext, *, user_id: uuid.UUID) -> User:
    return _found(await UserRepository(session, caller).deactivate(user_id), "User not found")


async def set_user_password(
    session: AsyncSession, caller: SuperAdminContext, *, user_id: uuid.UUID, password: str
) -> User:
    repository = UserRepository(session, caller)
    return _found(await repository.set_password(user_id, await hash_password(password)), "User not found")


# API tokens ---------------------------------------------------------------------------------------------


async def create_api_token(
    session: AsyncSession,
    caller: SuperAdminContext,
    *,
    user_id: uuid.UUID,
    name: str,
    expires_at: datetime | None = None,
) -> NewApiToken:
    """A token acting as ``user_id`` with its org, company and role. The raw token exists only in the
    returned value; the database keeps its SHA-256."""
    user = _found(await UserRepository(session, caller).get(user_id), "User not found")
    if not user.is_active:
        raise BadRequest("User is inactive")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise BadRequest("expires_at must include a timezone")
        if expires_at <= datetime.now(UTC):
            raise BadRequest("expires_at must be in the future")
    token = new_api_token()
    row = await ApiTokenRepository(session, caller).create(
        {
            "org_id": user.org_id,
            "company_id": user.company_id,
            "user_id": user.id,
            "name": name,
            "role": user.role,
            "token_hash": hash_api_token(token),
            "expires_at": expires_at,
        }
    )
    return NewApiToken(row=row, token=token)


async def list_api_tokens(
    session: AsyncSession,
    caller: SuperAdminContext,
    *,
    page: PageRequest,
    org_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Page[ApiToken]:
    return await ApiTokenRepository(session, caller).list(page, org_id=org_id, user_id=user_id)


async def revoke_api_token(
    session: AsyncSession, caller: SuperAdminContext, *, token_id: uuid.UUID
) -> ApiToken:
    return _found(await ApiTokenRepository(session, caller).revoke(token_id), "API token not found")


# Legacy step registry -----------------------------------------------------------------------------------


async def register_step(
    session: AsyncSession, caller: SuperAdminContext, *, values: dict[str, Any]
) -> LegacyStep:
    return await StepRepository(session, caller).create(values)


async def list_steps(
    session: AsyncSession,
    caller: Caller,
    *,
    page: PageRequest,
    step_type: str | None = None,
    is_active: bool | None = None,
) -> Page[LegacyStep]:
    return await StepRepository(session, caller).list(page, step_type=step_type, is_active=is_active)


async def get_step(
    session: AsyncSession, caller: Caller, *, step_id: uuid.UUID | None, slug: str | None
) -> LegacyStep:
    if step_id is None and slug is None:
        raise BadRequest("Provide either id or slug")
    return _found(await StepRepository(session, caller).get(step_id=step_id, slug=slug), "Step not found")


async def update_step(
    session: AsyncSession, caller: SuperAdminContext, *, step_id: uuid.UUID, values: dict[str, Any]
) -> LegacyStep:
    step = await StepRepository(session, caller).update(step_id, _require_update(values))
    return _found(step, "Step not found")


async def deactivate_step(
    session: AsyncSession, caller: SuperAdminContext, *, step_id: uuid.UUID
) -> LegacyStep:
    return _found(
        await StepRepository(session, caller).update(step_id, {"is_active": False}), "Step not found"
    )


# Bootstrap ----------------------------------------------------------------------------------------------

BOOTSTRAP_TOKEN_NAME = "bootstrap"


@dataclass
class BootstrapReport:
    """What a bootstrap found and did, in order, for the operator to read."""

    lines: list[str] = field(default_factory=list)
    # True when an account was created with the given password (so a generated one must be shown).
    password_used: bool = False
    api_token: NewApiToken | None = None
    # The org and company the deployment's user works in (set by ``bootstrap``).
    org: Org | None = None
    company: Company | None = None


async def ensure_org_and_company(
    session: AsyncSession,
    operator: SuperAdminContext,
    *,
    org_name: str,
    org_slug: str,
    company_name: str,
    report: list[str] | None = None,
) -> tuple[Org, Company]:
    """The org with ``org_slug`` and its company ``company_name``, created when missing (idempotent)."""
    lines = report if report is not None else []
    org = await OrgRepository(session, operator).get_by_slug(org_slug)
    if org is None:
        org = await create_org(session, operator, name=org_name, slug=org_slug)
        lines.append(f"created org {org_slug} ({org_name})")
    else:
        lines.append(f"org {org_slug} already exists")
    company = await CompanyRepository(session, operator).get_by_name(org.id, company_name)
    if company is None:
        company = await create_company(session, operator, org_id=org.id, name=company_name)
        lines.append(f"created company {company_name}")
    else:
        lines.append(f"company {company_name} already exists")
    return org, company


async def bootstrap(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    org_name: str,
    org_slug: str,
    company_name: str,
    new_token: bool,
) -> BootstrapReport:
    """Make sure a super-admin, an org, a company and an org_admin user exist (the super-admin and the user
    share ``email`` and ``password``). Idempotent: existing rows are kept as they are, passwords included.
    An API token is created on the run that creates the user, and afterwards only when ``new_token``."""
    report = BootstrapReport()
    credentials = CredentialRepository(session)

    admin = await credentials.super_admin_by_email(email)
    if admin is None:
        admin = await SuperAdminRepository(session).create(
            email=email, password_hash=await hash_password(password)
        )
        report.lines.append(f"created super-admin {email}")
        report.password_used = True
    else:
        report.lines.append(f"super-admin {email} already exists (password unchanged)")
    operator = SuperAdminContext(super_admin_id=admin.id, email=admin.email)

    org, report.company = await ensure_org_and_company(
        session,
        operator,
        org_name=org_name,
        org_slug=org_slug,
        company_name=company_name,
        report=report.lines,
    )
    report.org = org

    user = await credentials.user_by_email(email)
    user_created = user is None
    if user is None:
        user = await create_user(
            session, operator, org_id=org.id, email=email, password=password, role="org_admin"
        )
        report.lines.append(f"created org_admin user {email}")
        report.password_used = True
    elif user.org_id != org.id:
        raise Conflict(f"user {email} already exists in another org")
    else:
        report.lines.append(f"user {email} already exists (password unchanged)")

    if user_created or new_token:
        report.api_token = await create_api_token(
            session, operator, user_id=user.id, name=BOOTSTRAP_TOKEN_NAME
        )
    else:
        report.lines.append("no new API token (pass --new-token to create one)")
    return report
