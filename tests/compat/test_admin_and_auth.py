"""Health, logins and the super-admin administration endpoints, driven with the original's request bodies;
the answers keep its envelopes, row fields and status codes."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import insert

from dex.config import Settings
from dex.db.engine import Database
from dex.tenancy.models import SuperAdmin
from dex.tenancy.passwords import hash_password
from tests.compat.reference import REFERENCE_ENDPOINTS, RecordingClient, has_keys

ENDPOINTS = {
    "/health",
    "/api/auth/login",
    "/api/auth/me",
    "/api/super-admin/login",
    "/api/super-admin/me",
    *(
        path
        for path in REFERENCE_ENDPOINTS
        if path.startswith("/api/super-admin/")
        and path.split("/")[3] in ("orgs", "companies", "users", "steps", "blueprints", "api-tokens")
    ),
}
ORG_FIELDS = ("id", "name", "slug", "created_at", "updated_at")
COMPANY_FIELDS = ("id", "org_id", "name", "external_ref", "domain", "created_at", "updated_at")
USER_FIELDS = ("id", "org_id", "company_id", "email", "full_name", "role", "is_active", "created_at")
TOKEN_FIELDS = (
    "id",
    "name",
    "org_id",
    "company_id",
    "role",
    "user_id",
    "expires_at",
    "revoked_at",
    "created_at",
)
STEP_FIELDS = ("id", "slug", "task_id", "name", "step_type", "default_config", "url", "method", "is_active")
BLUEPRINT_FIELDS = ("id", "org_id", "name", "description", "is_active", "blueprint_steps")
BLUEPRINT_STEP_FIELDS = ("id", "blueprint_id", "step_id", "position", "config", "is_enabled", "operation_id")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_admin_and_auth_endpoints(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    api = RecordingClient(client)
    health = await api.get("/health")
    # dex adds its version and the database's; the original's key is unchanged.
    assert (health.status_code, health.json()["status"]) == (200, "healthy")

    async with database.transaction() as session:
        await session.execute(
            insert(SuperAdmin).values(
                email="root@dex.test", password_hash=await hash_password("operator pw 1")
            )
        )
    login = await api.data("/api/super-admin/login", {"email": "root@dex.test", "password": "operator pw 1"})
    assert set(login) == {"access_token", "token_type"} and login["token_type"] == "bearer"
    admin = bearer(login["access_token"])
    assert set(await api.data("/api/super-admin/me", {}, admin)) == {"super_admin_id", "email"}
    assert await api.error(
        "/api/super-admin/login", {"email": "root@dex.test", "password": "x"}, None, 401
    ) == ("Invalid credentials")

    org = await api.data("/api/super-admin/orgs/create", {"name": "Acme", "slug": "acme"}, admin)
    has_keys(org, *ORG_FIELDS)
    assert [o["id"] for o in await api.data("/api/super-admin/orgs/list", {}, admin)] == [org["id"]]
    assert (await api.data("/api/super-admin/orgs/get", {"id": org["id"]}, admin))["slug"] == "acme"
    assert (await api.data("/api/super-admin/orgs/update", {"id": org["id"], "name": "Acme Inc"}, admin))[
        "name"
    ] == "Acme Inc"
    assert (
        await api.error("/api/super-admin/orgs/get", {"id": str(uuid.uuid4())}, admin, 404) == "Org not found"
    )
    assert await api.error("/api/super-admin/orgs/update", {"id": org["id"]}, admin, 400) == (
        "No fields provided for update"
    )

    company = await api.data(
        "/api/super-admin/companies/create",
        {"org_id": org["id"], "name": "Acme client", "domain": "acme.io", "external_ref": "crm-1"},
        admin,
    )
    has_keys(company, *COMPANY_FIELDS)
    assert [
        c["id"] for c in await api.data("/api/super-admin/companies/list", {"org_id": org["id"]}, admin)
    ] == [company["id"]]
    assert (await api.data("/api/super-admin/companies/get", {"id": company["id"]}, admin))[
        "domain"
    ] == "acme.io"
    assert await api.error(
        "/api/super-admin/companies/create", {"org_id": str(uuid.uuid4()), "name": "x"}, admin, 400
    ) == ("org_id does not exist")

    user = await api.data(
        "/api/super-admin/users/create",
        {
            "org_id": org["id"],
            "email": " Ava@Acme.io ",
            "password": "correct horse battery",
            "role": "org_admin",
            "full_name": "Ava",
        },
        admin,
    )
    has_keys(user, *USER_FIELDS)
    assert user["email"] == "ava@acme.io" and "password_hash" not in user
    member = await api.data(
        "/api/super-admin/users/create",
        {
            "org_id": org["id"],
            "company_id": company["id"],
            "email": "ben@acme.io",
            "password": "another horse battery",
            "role": "member",
        },
        admin,
    )
    users = await api.data("/api/super-admin/users/list", {"org_id": org["id"]}, admin)
    assert {u["id"] for u in users} == {user["id"], member["id"]}
    assert (await api.data("/api/super-admin/users/get", {"id": user["id"]}, admin))["role"] == "org_admin"

    session = await api.data("/api/auth/login", {"email": "ava@acme.io", "password": "correct horse battery"})
    assert set(session) == {"access_token", "token_type"}
    me = await api.data("/api/auth/me", {}, bearer(session["access_token"]))
    assert set(me) == {"user_id", "org_id", "company_id", "role", "auth_method"}
    assert (me["org_id"], me["role"], me["auth_method"]) == (org["id"], "org_admin", "jwt")

    token = await api.data(
        "/api/super-admin/api-tokens/create", {"user_id": member["id"], "name": "ci"}, admin
    )
    assert set(token) >= {"id", "token", "name", "org_id", "company_id", "role", "user_id", "created_at"}
    assert (token["role"], token["company_id"]) == ("member", company["id"])
    tokens = await api.data("/api/super-admin/api-tokens/list", {"org_id": org["id"]}, admin)
    has_keys(tokens[0], *TOKEN_FIELDS)
    assert all("token_hash" not in row and "token" not in row for row in tokens)
    member_me = await api.data("/api/auth/me", {}, bearer(token["token"]))
    assert (member_me["auth_method"], member_me["company_id"]) == ("api_token", company["id"])
    revoked = await api.data("/api/super-admin/api-tokens/revoke", {"id": token["id"]}, admin)
    assert revoked["revoked_at"] is not None
    assert await api.error("/api/auth/me", {}, bearer(token["token"]), 401) == "API token is revoked"
    deactivated = await api.data("/api/super-admin/users/deactivate", {"id": member["id"]}, admin)
    assert deactivated["is_active"] is False

    step = await api.data(
        "/api/super-admin/steps/register",
        {"slug": "clean", "name": "Clean", "step_type": "clean", "url": "https://steps.example/clean"},
        admin,
    )
    has_keys(step, *STEP_FIELDS)
    assert (step["method"], step["retry_config"]) == ("POST", {"max_attempts": 3, "backoff_factor": 2})
    # A second registration without task_id works (the original failed on its unique default).
    await api.data(
        "/api/super-admin/steps/register",
        {"slug": "enrich", "name": "Enrich", "step_type": "enrich", "url": "https://steps.example/enrich"},
        admin,
    )
    assert len(await api.data("/api/super-admin/steps/list", {"step_type": "clean"}, admin)) == 1
    assert (await api.data("/api/super-admin/steps/get", {"slug": "clean"}, admin))["id"] == step["id"]
    assert await api.error("/api/super-admin/steps/get", {}, admin, 400) == "Provide either id or slug"
    assert (await api.data("/api/super-admin/steps/update", {"id": step["id"], "timeout_ms": 5000}, admin))[
        "timeout_ms"
    ] == 5000
    assert (await api.data("/api/super-admin/steps/deactivate", {"id": step["id"]}, admin))[
        "is_active"
    ] is False

    blueprint = await api.data(
        "/api/super-admin/blueprints/create",
        {
            "org_id": org["id"],
            "name": "Profile",
            "steps": [
                {"operation_id": "company.enrich.profile", "position": 1, "step_config": {"x": 1}},
                {"operation_id": "person.search", "position": 2, "fan_out": True},
            ],
        },
        admin,
    )
    has_keys(blueprint, *BLUEPRINT_FIELDS)
    has_keys(blueprint["blueprint_steps"][0], *BLUEPRINT_STEP_FIELDS)
    assert [s["position"] for s in blueprint["blueprint_steps"]] == [1, 2]
    assert await api.error(
        "/api/super-admin/blueprints/create",
        {"org_id": org["id"], "name": "Dup", "steps": [{"position": 1}, {"position": 1}]},
        admin,
        400,
    ) == ("Blueprint step positions must be unique")
    listed = await api.data("/api/super-admin/blueprints/list", {"org_id": org["id"]}, admin)
    assert [b["id"] for b in listed] == [blueprint["id"]]
    got = await api.data("/api/super-admin/blueprints/get", {"id": blueprint["id"]}, admin)
    assert [s["operation_id"] for s in got["blueprint_steps"]] == ["company.enrich.profile", "person.search"]
    updated = await api.data(
        "/api/super-admin/blueprints/update",
        {
            "id": blueprint["id"],
            "description": "v2",
            "steps": [{"operation_id": "person.search", "position": 1}],
        },
        admin,
    )
    assert updated["description"] == "v2" and len(updated["blueprint_steps"]) == 1

    assert api.called == ENDPOINTS
