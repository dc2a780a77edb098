"""Credentials: logins, every way a bearer token can be wrong, revocation, the internal key, FlexibleAuth."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import APIRouter
from sqlalchemy import insert, select, update

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.errors import BadRequest, Forbidden
from dex.tenancy.auth import AuthContext, FlexibleAuth, SuperAdminContext, tenant_scope
from dex.tenancy.models import ApiToken, SuperAdmin
from dex.tenancy.passwords import hash_password
from dex.tenancy.tokens import issue_session_jwt, issue_super_admin_jwt
from tests.tenancy.world import Principal, World

ME = "/api/auth/me"
SUPER_ME = "/api/super-admin/me"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def assert_refused(response: httpx.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"error": message})


def session_jwt(settings: Settings, principal: Principal, **overrides: object) -> str:
    claims = {
        "secret": settings.jwt_secret,
        "ttl_hours": 1,
        "user_id": principal.user_id,
        "org_id": principal.org_id,
        "company_id": principal.company_id,
        "role": principal.role,
        "generation": 0,
        **overrides,
    }
    return issue_session_jwt(**claims)  # type: ignore[arg-type]


# Logins -------------------------------------------------------------------------------------------------


async def create_user_via_api(client: httpx.AsyncClient, admin_headers: dict[str, str], world: World) -> dict:
    response = await client.post(
        "/api/super-admin/users/create",
        headers=admin_headers,
        json={
            "org_id": str(world.a.org_id),
            "company_id": str(world.a.companies[0]),
            "email": "  Login.User@Example.COM ",
            "password": "correct horse battery",
            "role": "member",
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_login_issues_a_session_that_authenticates(
    client: httpx.AsyncClient, admin_headers: dict[str, str], world: World, settings: Settings
) -> None:
    user = await create_user_via_api(client, admin_headers, world)
    assert user["email"] == "login.user@example.com" and "password_hash" not in user

    login = await client.post(
        "/api/auth/login", json={"email": "LOGIN.user@example.com ", "password": "correct horse battery"}
    )
    assert login.status_code == 200, login.text
    assert login.json()["data"]["token_type"] == "bearer"
    token = login.json()["data"]["access_token"]
    claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"])
    assert {"type", "sub", "user_id", "org_id", "company_id", "role", "iat", "exp", "gen"} <= set(claims)
    assert (claims["type"], claims["sub"], claims["role"]) == ("session", user["id"], "member")

    me = await client.post(ME, headers=bearer(token))
    assert me.json() == {
        "data": {
            "user_id": user["id"],
            "org_id": str(world.a.org_id),
            "company_id": str(world.a.companies[0]),
            "role": "member",
            "auth_method": "jwt",
        }
    }


async def test_login_refuses_bad_credentials_alike(
    client: httpx.AsyncClient, admin_headers: dict[str, str], world: World
) -> None:
    user = await create_user_via_api(client, admin_headers, world)
    wrong = {"email": "login.user@example.com", "password": "wrong password!"}
    unknown = {"email": "nobody@example.com", "password": "correct horse battery"}
    for body in (wrong, unknown):
        assert_refused(await client.post("/api/auth/login", json=body), 401, "Invalid credentials")
    await client.post("/api/super-admin/users/deactivate", headers=admin_headers, json={"id": user["id"]})
    inactive = {"email": "login.user@example.com", "password": "correct horse battery"}
    assert_refused(await client.post("/api/auth/login", json=inactive), 401, "Invalid credentials")


async def test_super_admin_login_and_me(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    async with database.transaction() as session:
        for email, active in (("root@dex.test", True), ("retired@dex.test", False)):
            await session.execute(
                insert(SuperAdmin).values(
                    email=email, password_hash=await hash_password("operator password"), is_active=active
                )
            )
    login = await client.post(
        "/api/super-admin/login", json={"email": "ROOT@dex.test", "password": "operator password"}
    )
    assert login.status_code == 200, login.text
    me = await client.post(SUPER_ME, headers=bearer(login.json()["data"]["access_token"]))
    assert me.status_code == 200 and me.json()["data"]["email"] == "root@dex.test"

    bad = await client.post(
        "/api/super-admin/login", json={"email": "root@dex.test", "password": "nope nope"}
    )
    assert_refused(bad, 401, "Invalid credentials")
    retired = await client.post(
        "/api/super-admin/login", json={"email": "retired@dex.test", "password": "operator password"}
    )
    assert_refused(retired, 401, "Super admin is inactive")

    key_me = await client.post(SUPER_ME, headers=bearer(settings.super_admin_api_key or ""))
    assert key_me.json()["data"] == {
        "super_admin_id": "00000000-0000-0000-0000-000000000000",
        "email": "api-key@super-admin",
    }


# /api/auth/me for each credential kind -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["jwt", "api_token"])
async def test_me_reports_the_credential_kind(client: httpx.AsyncClient, world: World, method: str) -> None:
    principal = world.a.principals["company_admin"]
    me = await client.post(ME, headers=world.bearer(principal, method))
    assert me.json()["data"] == {
        "user_id": str(principal.user_id),
        "org_id": str(world.a.org_id),
        "company_id": str(world.a.companies[0]),
        "role": "company_admin",
        "auth_method": method,
    }


async def test_me_with_the_internal_key(client: httpx.AsyncClient, world: World) -> None:
    internal = next(caller for caller in world.callers if caller.label == "internal")
    me = await client.post(ME, headers=internal.headers)
    assert me.json()["data"] == {
        "user_id": None,
        "org_id": str(world.a.org_id),
        "company_id": str(world.a.companies[0]),
        "role": "org_admin",
        "auth_method": "internal",
    }


# Bad bearer tokens --------------------------------------------------------------------------------------


async def test_missing_or_garbage_authorization(client: httpx.AsyncClient, world: World) -> None:
    assert_refused(await client.post(ME), 401, "Missing authorization token")
    basic = await client.post(ME, headers={"authorization": "Basic dXNlcjpwYXNz"})
    assert_refused(basic, 401, "Missing authorization token")
    for garbage in ("garbage", "a.b.c", "dex_" + "x" * 54):
        response = await client.post(ME, headers=bearer(garbage))
        assert_refused(response, 401, "Invalid authentication token")


async def test_bad_session_jwts(client: httpx.AsyncClient, world: World, settings: Settings) -> None:
    principal = world.a.principals["member"]
    expired = session_jwt(settings, principal, ttl_hours=-1)
    assert_refused(await client.post(ME, headers=bearer(expired)), 401, "Token has expired")

    header, payload, signature = principal.jwt.split(".")
    tampered = ".".join((header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature))
    assert_refused(await client.post(ME, headers=bearer(tampered)), 401, "Invalid authentication token")

    wrong_secret = session_jwt(settings, principal, secret="not-the-jwt-secret-0123456789abcdef")
    assert_refused(await client.post(ME, headers=bearer(wrong_secret)), 401, "Invalid authentication token")

    now = datetime.now(UTC)
    base = {"sub": str(principal.user_id), "org_id": str(principal.org_id), "role": "member", "gen": 0}
    times = {"iat": now, "exp": now + timedelta(hours=1)}
    wrong_type = jwt.encode({**base, **times, "type": "super_admin"}, settings.jwt_secret, "HS256")
    response = await client.post(ME, headers=bearer(wrong_type))
    assert_refused(response, 401, "Invalid JWT type for tenant endpoints")
    untyped = jwt.encode({**base, **times}, settings.jwt_secret, "HS256")
    assert_refused(
        await client.post(ME, headers=bearer(untyped)), 401, "Invalid JWT type for tenant endpoints"
    )
    no_generation = jwt.encode(
        {key: value for key, value in {**base, **times, "type": "session"}.items() if key != "gen"},
        settings.jwt_secret,
        "HS256",
    )
    assert_refused(await client.post(ME, headers=bearer(no_generation)), 401, "Invalid authentication token")
    unsigned = jwt.encode({**base, **times, "type": "session"}, None, "none")
    assert_refused(await client.post(ME, headers=bearer(unsigned)), 401, "Invalid authentication token")


async def test_bad_super_admin_jwts(
    client: httpx.AsyncClient, world: World, settings: Settings, database: Database
) -> None:
    ghost = issue_super_admin_jwt(
        secret=settings.super_admin_jwt_secret,
        ttl_hours=1,
        super_admin_id=uuid.uuid4(),
        email="ghost@dex.test",
        generation=0,
    )
    assert_refused(
        await client.post(SUPER_ME, headers=bearer(ghost)), 401, "Super admin not found or inactive"
    )

    async with database.transaction() as session:
        admin = await session.scalar(
            insert(SuperAdmin).values(email="ops@dex.test", password_hash="x").returning(SuperAdmin)
        )
    valid = issue_super_admin_jwt(
        secret=settings.super_admin_jwt_secret,
        ttl_hours=1,
        super_admin_id=admin.id,
        email=admin.email,
        generation=0,
    )
    assert (await client.post(SUPER_ME, headers=bearer(valid))).status_code == 200
    async with database.transaction() as session:
        await session.execute(update(SuperAdmin).values(is_active=False))
    assert_refused(
        await client.post(SUPER_ME, headers=bearer(valid)), 401, "Super admin not found or inactive"
    )

    expired = issue_super_admin_jwt(
        secret=settings.super_admin_jwt_secret,
        ttl_hours=-1,
        super_admin_id=admin.id,
        email=admin.email,
        generation=0,
    )
    assert_refused(await client.post(SUPER_ME, headers=bearer(expired)), 401, "Token has expired")
    tenant_jwt = world.a.principals["org_admin"].jwt
    assert_refused(await client.post(SUPER_ME, headers=bearer(tenant_jwt)), 401, "Invalid token")
    session_typed = jwt.decode(tenant_jwt, settings.jwt_secret, algorithms=["HS256"])
    resigned = jwt.encode(session_typed, settings.super_admin_jwt_secret, "HS256")
    response = await client.post(SUPER_ME, headers=bearer(resigned))
    assert_refused(response, 401, "Invalid token type for super admin endpoints")


# Revocation ---------------------------------------------------------------------------------------------


async def test_revoked_and_expired_api_tokens(
    client: httpx.AsyncClient, world: World, admin_headers: dict[str, str], database: Database
) -> None:
    revoked, expired = world.a.principals["member"], world.a.principals["company_admin"]
    response = await client.post(
        "/api/super-admin/api-tokens/revoke", headers=admin_headers, json={"id": str(revoked.api_token_id)}
    )
    assert response.json()["data"]["revoked_at"] is not None
    assert_refused(
        await client.post(ME, headers=world.bearer(revoked, "api_token")), 401, "API token is revoked"
    )

    async with database.transaction() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == expired.api_token_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = await client.post(ME, headers=world.bearer(expired, "api_token"))
    assert_refused(response, 401, "API token is expired")


async def test_deactivation_revokes_existing_sessions_and_tokens_at_once(
    client: httpx.AsyncClient, world: World, admin_headers: dict[str, str]
) -> None:
    principal = world.a.principals["org_admin"]
    assert (await client.post(ME, headers=world.bearer(principal))).status_code == 200
    response = await client.post(
        "/api/super-admin/users/deactivate", headers=admin_headers, json={"id": str(principal.user_id)}
    )
    assert response.json()["data"]["is_active"] is False
    assert_refused(await client.post(ME, headers=world.bearer(principal)), 401, "Session is no longer valid")
    response = await client.post(ME, headers=world.bearer(principal, "api_token"))
    assert_refused(response, 401, "API token owner is inactive")


async def test_last_used_at_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    principal = world.a.principals["member"]

    async def last_used() -> datetime | None:
        async with database.transaction() as session:
            return await session.scalar(
                select(ApiToken.last_used_at).where(ApiToken.id == principal.api_token_id)
            )

    assert await last_used() is None
    await client.post(ME, headers=world.bearer(principal, "api_token"))
    first = await last_used()
    assert first is not None
    await client.post(ME, headers=world.bearer(principal, "api_token"))
    assert await last_used() == first

    async with database.transaction() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == principal.api_token_id)
            .values(last_used_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    await client.post(ME, headers=world.bearer(principal, "api_token"))
    refreshed = await last_used()
    assert refreshed is not None and refreshed > first


# The internal key ---------------------------------------------------------------------------------------


async def test_internal_key_must_name_a_real_org_and_one_of_its_companies(
    client: httpx.AsyncClient, world: World
) -> None:
    key = bearer(world.internal_api_key)
    org_a, org_b = str(world.a.org_id), str(world.b.org_id)
    cases = [
        ({}, 401, "Missing x-internal-org-id for internal authorization"),
        ({"x-internal-org-id": "not-a-uuid"}, 401, "Invalid x-internal-org-id header"),
        ({"x-internal-org-id": str(uuid.uuid4())}, 401, "x-internal-org-id names no org"),
        (
            {"x-internal-org-id": org_a, "x-internal-company-id": str(world.b.companies[0])},
            403,
            "x-internal-company-id is not a company of x-internal-org-id",
        ),
        (
            {"x-internal-org-id": org_b, "x-internal-company-id": str(uuid.uuid4())},
            403,
            "x-internal-company-id is not a company of x-internal-org-id",
        ),
    ]
    for headers, status, message in cases:
        assert_refused(await client.post(ME, headers={**key, **headers}), status, message)
    response = await client.post(ME, headers={**key, "x-internal-org-id": org_b})
    assert response.json()["data"]["org_id"] == org_b


async def test_internal_key_is_inert_when_not_configured(
    settings: Settings, database: Database, world: World
) -> None:
    app = create_app(
        settings.model_copy(update={"internal_api_key": None}), database=database, run_executor=False
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        response = await http.post(
            ME, headers={**bearer(world.internal_api_key), "x-internal-org-id": str(world.a.org_id)}
        )
    assert_refused(response, 401, "Invalid authentication token")


# FlexibleAuth and tenant_scope --------------------------------------------------------------------------


async def test_flexible_auth_and_tenant_scope(
    settings: Settings, database: Database, world: World, admin_headers: dict[str, str]
) -> None:
    router = APIRouter()

    @router.post("/probe")
    async def probe(auth: FlexibleAuth, body: dict[str, str]) -> dict[str, str | None]:
        company = body.get("company_id")
        scope = tenant_scope(
            auth,
            org_id=uuid.UUID(body["org_id"]) if "org_id" in body else None,
            company_id=uuid.UUID(company) if company else None,
        )
        return {"kind": type(auth).__name__, "org_id": str(scope.org_id), "method": scope.auth_method}

    app = create_app(settings, database=database, run_executor=False)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    org_a = str(world.a.org_id)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        as_admin = await http.post("/probe", headers=admin_headers, json={"org_id": org_a})
        assert as_admin.json() == {"kind": "SuperAdminContext", "org_id": org_a, "method": "super_admin"}
        no_org = await http.post("/probe", headers=admin_headers, json={})
        assert_refused(no_org, 400, "org_id is required for super-admin requests")

        member = world.bearer(world.a.principals["member"])
        as_member = await http.post("/probe", headers=member, json={})
        assert as_member.json() == {"kind": "AuthContext", "org_id": org_a, "method": "jwt"}
        sibling = await http.post("/probe", headers=member, json={"company_id": str(world.a.companies[1])})
        assert_refused(sibling, 403, "Forbidden company access")
        other_org = await http.post("/probe", headers=member, json={"org_id": str(world.b.org_id)})
        assert_refused(other_org, 403, "Forbidden org access")
        assert_refused(await http.post("/probe", json={}), 401, "Missing authorization token")
        garbage = await http.post("/probe", headers=bearer("garbage"), json={})
        assert_refused(garbage, 401, "Invalid authentication token")


def test_tenant_scope_rules() -> None:
    org, company, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    member = AuthContext(org_id=org, user_id=None, company_id=company, role="member", auth_method="api_token")
    assert member.company_scoped and tenant_scope(member, org_id=None, company_id=company) is member
    with pytest.raises(Forbidden, match="Forbidden company access"):
        tenant_scope(member, org_id=org, company_id=other)
    orphan = AuthContext(org_id=org, user_id=None, company_id=None, role="company_admin", auth_method="jwt")
    with pytest.raises(Forbidden, match="Company-scoped user missing company_id"):
        tenant_scope(orphan, org_id=None, company_id=company)
    admin = AuthContext(org_id=org, user_id=None, company_id=None, role="org_admin", auth_method="jwt")
    assert not admin.company_scoped and tenant_scope(admin, org_id=org, company_id=other) is admin
    operator = SuperAdminContext(super_admin_id=uuid.uuid4(), email="ops@dex.test")
    scoped = tenant_scope(operator, org_id=org, company_id=company)
    assert (scoped.org_id, scoped.company_id, scoped.role, scoped.user_id) == (
        org,
        company,
        "org_admin",
        None,
    )
    with pytest.raises(BadRequest):
        tenant_scope(operator, org_id=None)
