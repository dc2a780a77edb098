"""Tenancy endpoints: logins, super-admin administration, tenant reads. All POST."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from dex.audit.logins import throttled_login
from dex.audit.service import AuditDep
from dex.config import Settings
from dex.db.engine import Database
from dex.kit.deps import DatabaseDep, SessionDep, SettingsDep
from dex.kit.envelopes import Envelope, ErrorEnvelope, ListEnvelope, PageRequest, envelope, list_envelope
from dex.kit.network import ClientAddress
from dex.kit.paging import Page
from dex.tenancy import service
from dex.tenancy.auth import AuthContext, SuperAdminAuth, TenantAuth
from dex.tenancy.schemas import (
    AccessToken,
    ApiTokenCreated,
    ApiTokenCreateRequest,
    ApiTokenListRequest,
    ApiTokenOut,
    CompanyCreateRequest,
    CompanyListRequest,
    CompanyOut,
    IdRequest,
    LoginRequest,
    Me,
    OrgCreateRequest,
    OrgOut,
    OrgUpdateRequest,
    StepGetRequest,
    StepListRequest,
    StepOut,
    StepRegisterRequest,
    StepUpdateRequest,
    SuperAdminMe,
    UserCreateRequest,
    UserListRequest,
    UserOut,
)
from dex.tenancy.service import LoginResult
from dex.tenancy.throttle import LoginKind

Payload = dict[str, Any]

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
super_admin_router = APIRouter(prefix="/api/super-admin", tags=["super-admin"])
tenant_router = APIRouter(prefix="/api", tags=["tenant"])


def _paged(result: Page[Any], page: PageRequest) -> Payload:
    return list_envelope(result.items, total=result.total, page=page)


def _me(auth: AuthContext) -> Me:
    return Me(
        user_id=auth.user_id,
        org_id=auth.org_id,
        company_id=auth.company_id,
        role=auth.role,
        auth_method=auth.auth_method,
    )


# Logins -------------------------------------------------------------------------------------------------

LOGIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ErrorEnvelope,
        "description": "Too many failed logins for this account or from this address",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    }
}


async def _login(
    kind: LoginKind,
    check: Callable[..., Awaitable[LoginResult]],
    body: LoginRequest,
    session: AsyncSession,
    database: Database,
    settings: Settings,
    address: str | None,
) -> Payload:
    result = await throttled_login(
        kind,
        lambda: check(session, settings, email=body.email, password=body.password),
        email=body.email,
        session=session,
        database=database,
        settings=settings,
        address=address,
    )
    return envelope(AccessToken(access_token=result.token))


@auth_router.post("/login", response_model=Envelope[AccessToken], responses=LOGIN_RESPONSES)
async def login(
    body: LoginRequest,
    session: SessionDep,
    database: DatabaseDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> Payload:
    """A session JWT for a user. Failed logins are throttled per account and per client address (429)."""
    return await _login("tenant", service.login, body, session, database, settings, address)


@auth_router.post("/me", response_model=Envelope[Me])
async def me(auth: TenantAuth) -> Payload:
    return envelope(_me(auth))


@super_admin_router.post("/login", response_model=Envelope[AccessToken], responses=LOGIN_RESPONSES)
async def super_admin_login(
    body: LoginRequest,
    session: SessionDep,
    database: DatabaseDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> Payload:
    """A super-admin JWT. Failed logins are throttled per account and per client address (429)."""
    return await _login("super_admin", service.super_admin_login, body, session, database, settings, address)


@super_admin_router.post("/me", response_model=Envelope[SuperAdminMe])
async def super_admin_me(admin: SuperAdminAuth) -> Payload:
    return envelope(SuperAdminMe(super_admin_id=admin.super_admin_id, email=admin.email))


# Super-admin: orgs --------------------------------------------------------------------------------------


@super_admin_router.post("/orgs/create", response_model=Envelope[OrgOut])
async def create_org(
    body: OrgCreateRequest, admin: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> Payload:
    org = await service.create_org(session, admin, name=body.name, slug=body.slug)
    await audit.org_created(admin, org)
    return envelope(org)


@super_admin_router.post("/orgs/list", response_model=ListEnvelope[OrgOut])
async def list_orgs(admin: SuperAdminAuth, session: SessionDep, body: PageRequest = PageRequest()) -> Payload:
    return _paged(await service.list_orgs(session, admin, page=body), body)


@super_admin_router.post("/orgs/get", response_model=Envelope[OrgOut])
async def get_org(body: IdRequest, admin: SuperAdminAuth, session: SessionDep) -> Payload:
    return envelope(await service.get_org(session, admin, org_id=body.id))


@super_admin_router.post("/orgs/update", response_model=Envelope[OrgOut])
async def update_org(
    body: OrgUpdateRequest, admin: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> Payload:
    values = body.model_dump(exclude_none=True, exclude={"id"})
    org = await service.update_org(session, admin, org_id=body.id, values=values)
    await audit.org_updated(admin, org, values)
    return envelope(org)


# Super-admin: companies ---------------------------------------------------------------------------------


@super_admin_router.post("/companies/create", response_model=Envelope[CompanyOut])
async def create_company(
    body: CompanyCreateRequest, admin: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> Payload:
    company = await service.create_company(
        session, admin, org_id=body.org_id, name=body.name, domain=body.domain, external_ref=body.external_ref
    )
    await audit.company_created(admin, company)
    return envelope(company)


@super_admin_router.post("/companies/list", response_model=ListEnvelope[CompanyOut])
async def admin_list_companies(
    admin: SuperAdminAuth, session: SessionDep, body: CompanyListRequest = CompanyListRequest()
) -> Payload:
    return _paged(await service.list_companies(session, admin, page=body, org_id=body.org_id), body)


@super_admin_router.post("/companies/get", response_model=Envelope[CompanyOut])
async def admin_get_company(body: IdRequest, admin: SuperAdminAuth, session: SessionDep) -> Payload:
    return envelope(await service.get_company(session, admin, company_id=body.id))


# Super-admin: users -------------------------------------------------------------------------------------


@super_admin_router.post("/users/create", response_model=Envelope[UserOut])
async def create_user(
    body: UserCreateRequest, admin: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> Payload:
    user = await service.create_user(
        session,
        admin,
        org_id=body.org_id,
        email=body.email,
        password=body.password,
        role=body.role,
        company_id=body.company_id,
        full_name=body.full_name,
    )
    await audit.user_created(admin, user)
    return envelope(user)


@super_admin_router.post("/users/list", response_model=ListEnvelope[UserOut])
async def admin_list_users(
    admin: SuperAdminAuth, session: SessionDep, body: UserListRequest = UserListRequest()
) -> Payload:
    result = await service.list_users(
        session, admin, page=body, org_id=body.org_id, company_id=body.company_id
    )
    return _paged(result, body)


@super_admin_router.post("/users/get", response_model=Envelope[UserOut])
async def admin_get_user(body: IdRequest, admin: SuperAdminAuth, session: SessionDep) -> Payload:
    return envelope(await service.get_user(session, admin, user_id=body.id))


@super_admin_router.post("/users/deactivate", response_model=Envelope[UserOut])
async def deactivate_user(
    body: IdRequest, admin: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> Payload:
    user = await service.deactivate_user(session, admin, user_id=body.id)
    await audit.user_deactivated(admin, user)
    return envelope(user)


# Super-admin: API tokens --------------------------------------------------------------------------------


@super_admin_router.post("/api-tokens/create", response_model=Envelope[ApiTokenCreated])
async def create_api_token(
    body: ApiTokenCreateRequest, admin: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> Payload:
    created = await service.create_api_token(
        session, admin, user_id=body.user_id, name=body.name, expires_at=body.expires_at
    )
    row = ApiTokenOut.model_validate(created.row)
    await audit.api_token_created(admin, created.row)
    return envelope(ApiTokenCreated(**row.model_dump(), token=created.token))


@super_admin_router.post("/api-tokens/list", response_model=ListEnvelope[ApiTokenOut])
async def list_api_tokens(
    admin: SuperAdminAuth, session: SessionDep, body: ApiTokenListRequest = ApiTokenListRequest()
) -> Payload:
    result = await service.list_api_tokens(
        session, admin, page=body, org_id=body.org_id, user_id=body.user_id
    )
    return _paged(result, body)


@super_admin_router.post("/api-tokens/revoke", response_model=Envelope[ApiTokenOut])
async def revoke_api_token(
    body: IdRequest, admin: SuperAdminAuth, session: SessionDep, audit: AuditDep
) -> Payload:
    token = await service.revoke_api_token(session, admin, token_id=body.id)
    await audit.api_token_revoked(admin, token)
    return envelope(token)


# Super-admin: legacy step registry ----------------------------------------------------------------------


@super_admin_router.post("/steps/register", response_model=Envelope[StepOut])
async def register_step(body: StepRegisterRequest, admin: SuperAdminAuth, session: SessionDep) -> Payload:
    return envelope(await service.register_step(session, admin, values=body.provided()))


@super_admin_router.post("/steps/list", response_model=ListEnvelope[StepOut])
async def admin_list_steps(
    admin: SuperAdminAuth, session: SessionDep, body: StepListRequest = StepListRequest()
) -> Payload:
    result = await service.list_steps(
        session, admin, page=body, step_type=body.step_type, is_active=body.is_active
    )
    return _paged(result, body)


@super_admin_router.post("/steps/get", response_model=Envelope[StepOut])
async def admin_get_step(body: StepGetRequest, admin: SuperAdminAuth, session: SessionDep) -> Payload:
    return envelope(await service.get_step(session, admin, step_id=body.id, slug=body.slug))


@super_admin_router.post("/steps/update", response_model=Envelope[StepOut])
async def update_step(body: StepUpdateRequest, admin: SuperAdminAuth, session: SessionDep) -> Payload:
    return envelope(await service.update_step(session, admin, step_id=body.id, values=body.provided()))


@super_admin_router.post("/steps/deactivate", response_model=Envelope[StepOut])
async def deactivate_step(body: IdRequest, admin: SuperAdminAuth, session: SessionDep) -> Payload:
    return envelope(await service.deactivate_step(session, admin, step_id=body.id))


# Tenant reads -------------------------------------------------------------------------------------------


@tenant_router.post("/companies/list", response_model=ListEnvelope[CompanyOut])
async def list_companies(auth: TenantAuth, session: SessionDep, body: PageRequest = PageRequest()) -> Payload:
    return _paged(await service.list_companies(session, auth, page=body), body)


@tenant_router.post("/companies/get", response_model=Envelope[CompanyOut])
async def get_company(body: IdRequest, auth: TenantAuth, session: SessionDep) -> Payload:
    return envelope(await service.get_company(session, auth, company_id=body.id))


@tenant_router.post("/users/list", response_model=ListEnvelope[UserOut])
async def list_users(auth: TenantAuth, session: SessionDep, body: PageRequest = PageRequest()) -> Payload:
    return _paged(await service.list_users(session, auth, page=body), body)


@tenant_router.post("/users/get", response_model=Envelope[UserOut])
async def get_user(body: IdRequest, auth: TenantAuth, session: SessionDep) -> Payload:
    return envelope(await service.get_user(session, auth, user_id=body.id))


@tenant_router.post("/steps/list", response_model=ListEnvelope[StepOut])
async def list_steps(auth: TenantAuth, session: SessionDep, body: PageRequest = PageRequest()) -> Payload:
    return _paged(await service.list_steps(session, auth, page=body), body)


@tenant_router.post("/steps/get", response_model=Envelope[StepOut])
async def get_step(body: StepGetRequest, auth: TenantAuth, session: SessionDep) -> Payload:
    return envelope(await service.get_step(session, auth, step_id=body.id, slug=body.slug))


router = APIRouter()
router.include_router(auth_router)
router.include_router(super_admin_router)
router.include_router(tenant_router)
