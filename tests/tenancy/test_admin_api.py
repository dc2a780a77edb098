"""Super-admin administration round trips, pagination, conflicts, and the tenant read endpoints."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.tenancy.world import World

ADMIN = "/api/super-admin"


class Admin:
    """The super-admin API through the static key."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(f"{ADMIN}{path}", headers=self.headers, json=body or {})

    async def data(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.post(path, body)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def refused(self, path: str, body: dict[str, Any], status: int, message: str) -> None:
        response = await self.post(path, body)
        assert (response.status_code, response.json()) == (status, {"error": message})


@pytest.fixture
def admin(client: httpx.AsyncClient, admin_headers: dict[str, str], database: object) -> Admin:
    return Admin(client, admin_headers)


async def test_orgs_round_trip(admin: Admin) -> None:
    org = await admin.data("/orgs/create", {"name": "Acme", "slug": "acme"})
    assert await admin.data("/orgs/get", {"id": org["id"]}) == org
    renamed = await admin.data("/orgs/update", {"id": org["id"], "name": "Acme Inc"})
    assert (renamed["name"], renamed["slug"]) == ("Acme Inc", "acme")
    await admin.refused(
        "/orgs/create", {"name": "Other", "slug": "acme"}, 409, "An org with this slug already exists"
    )
    other = await admin.data("/orgs/create", {"name": "Other", "slug": "other"})
    await admin.refused(
        "/orgs/update", {"id": other["id"], "slug": "acme"}, 409, "An org with this slug already exists"
    )
    await admin.refused("/orgs/update", {"id": org["id"]}, 400, "No fields provided for update")
    await admin.refused("/orgs/update", {"id": str(uuid.uuid4()), "name": "x"}, 404, "Org not found")
    await admin.refused("/orgs/get", {"id": str(uuid.uuid4())}, 404, "Org not found")


async def test_lists_are_paginated_newest_first(admin: Admin) -> None:
    slugs = [f"org-{n}" for n in range(5)]
    for slug in slugs:
        await admin.data("/orgs/create", {"name": slug, "slug": slug})
    response = await admin.post("/orgs/list", {"limit": 2, "offset": 1})
    body = response.json()
    assert body["pagination"] == {"total": 5, "limit": 2, "offset": 1, "returned": 2, "has_more": True}
    assert [org["slug"] for org in body["data"]] == ["org-3", "org-2"]
    everything = (await admin.client.post(f"{ADMIN}/orgs/list", headers=admin.headers)).json()
    # Without paging fields: every row, up to the cap.
    assert everything["pagination"] == {
        "total": 5,
        "limit": 1000,
        "offset": 0,
        "returned": 5,
        "has_more": False,
    }
    past_the_end = (await admin.post("/orgs/list", {"offset": 10})).json()
    assert (past_the_end["data"], past_the_end["pagination"]["total"]) == ([], 5)
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}):
        assert (await admin.post("/orgs/list", bad)).status_code == 422


async def test_companies_round_trip(admin: Admin) -> None:
    org = await admin.data("/orgs/create", {"name": "Acme", "slug": "acme"})
    other = await admin.data("/orgs/create", {"name": "Other", "slug": "other"})
    company = await admin.data(
        "/companies/create",
        {"org_id": org["id"], "name": "Widgets", "domain": "widgets.test", "external_ref": "w1"},
    )
    assert (company["org_id"], company["domain"], company["external_ref"]) == (
        org["id"],
        "widgets.test",
        "w1",
    )
    assert await admin.data("/companies/get", {"id": company["id"]}) == company
    same_name = {"org_id": org["id"], "name": "Widgets"}
    await admin.refused(
        "/companies/create", same_name, 409, "A company with this name already exists in the org"
    )
    same_ref = {"org_id": org["id"], "name": "Gadgets", "external_ref": "w1"}
    await admin.refused(
        "/companies/create", same_ref, 409, "A company with this external_ref already exists in the org"
    )
    await admin.data("/companies/create", {"org_id": other["id"], "name": "Widgets"})
    missing_org = {"org_id": str(uuid.uuid4()), "name": "Ghost"}
    await admin.refused("/companies/create", missing_org, 400, "org_id does not exist")
    await admin.refused("/companies/get", {"id": str(uuid.uuid4())}, 404, "Company not found")

    in_org = (await admin.post("/companies/list", {"org_id": org["id"]})).json()
    assert [row["id"] for row in in_org["data"]] == [company["id"]]
    assert (await admin.post("/companies/list")).json()["pagination"]["total"] == 2


async def test_users_round_trip(admin: Admin) -> None:
    org = await admin.data("/orgs/create", {"name": "Acme", "slug": "acme"})
    other = await admin.data("/orgs/create", {"name": "Other", "slug": "other"})
    company = await admin.data("/companies/create", {"org_id": org["id"], "name": "Widgets"})
    foreign = await admin.data("/companies/create", {"org_id": other["id"], "name": "Foreign"})
    body = {
        "org_id": org["id"],
        "email": "Ann@Acme.test",
        "password": "long enough password",
        "role": "member",
        "company_id": company["id"],
        "full_name": "Ann",
    }
    user = await admin.data("/users/create", body)
    assert (user["email"], user["role"], user["is_active"]) == ("ann@acme.test", "member", True)
    assert "password_hash" not in user and "token_generation" not in user
    assert await admin.data("/users/get", {"id": user["id"]}) == user

    duplicate = {**body, "email": " ANN@acme.test"}
    await admin.refused("/users/create", duplicate, 409, "A user with this email already exists")
    wrong_company = {**body, "email": "bob@acme.test", "company_id": foreign["id"]}
    await admin.refused("/users/create", wrong_company, 400, "company_id does not belong to org_id")
    no_company = {**body, "email": "bob@acme.test", "company_id": None}
    await admin.refused("/users/create", no_company, 400, "company_id is required for role member")
    await admin.refused("/users/create", {**body, "org_id": str(uuid.uuid4())}, 400, "org_id does not exist")
    assert (
        await admin.post("/users/create", {**body, "email": "c@acme.test", "password": "short"})
    ).status_code == 422

    await admin.data(
        "/users/create", {**body, "email": "root@acme.test", "role": "org_admin", "company_id": None}
    )
    by_company = (await admin.post("/users/list", {"company_id": company["id"]})).json()
    assert [row["id"] for row in by_company["data"]] == [user["id"]]
    assert (await admin.post("/users/list", {"org_id": org["id"]})).json()["pagination"]["total"] == 2
    assert (await admin.post("/users/list", {"org_id": other["id"]})).json()["data"] == []

    deactivated = await admin.data("/users/deactivate", {"id": user["id"]})
    assert deactivated["is_active"] is False
    await admin.refused("/users/deactivate", {"id": str(uuid.uuid4())}, 404, "User not found")
    await admin.refused("/users/get", {"id": str(uuid.uuid4())}, 404, "User not found")


async def test_api_tokens_round_trip(admin: Admin, world: World) -> None:
    member = world.a.principals["member"]
    created = await admin.data("/api-tokens/create", {"user_id": str(member.user_id), "name": "ci"})
    assert created["token"].startswith("dex_") and "token_hash" not in created
    assert (created["org_id"], created["company_id"], created["role"]) == (
        str(world.a.org_id),
        str(world.a.companies[0]),
        "member",
    )
    me = await admin.client.post("/api/auth/me", headers={"authorization": f"Bearer {created['token']}"})
    assert me.json()["data"]["auth_method"] == "api_token"

    listed = (await admin.post("/api-tokens/list", {"user_id": str(member.user_id)})).json()
    assert listed["pagination"]["total"] == 2
    assert all("token" not in row and "token_hash" not in row for row in listed["data"])
    assert (await admin.post("/api-tokens/list", {"org_id": str(world.b.org_id)})).json()["pagination"][
        "total"
    ] == 4

    revoked = await admin.data("/api-tokens/revoke", {"id": created["id"]})
    assert revoked["revoked_at"] is not None
    assert (await admin.data("/api-tokens/revoke", {"id": created["id"]}))["revoked_at"] == revoked[
        "revoked_at"
    ]
    await admin.refused("/api-tokens/revoke", {"id": str(uuid.uuid4())}, 404, "API token not found")
    await admin.refused(
        "/api-tokens/create", {"user_id": str(uuid.uuid4()), "name": "x"}, 404, "User not found"
    )
    past = {"user_id": str(member.user_id), "name": "old", "expires_at": "2001-01-01T00:00:00Z"}
    await admin.refused("/api-tokens/create", past, 400, "expires_at must be in the future")
    naive = {"user_id": str(member.user_id), "name": "naive", "expires_at": "2999-01-01T00:00:00"}
    await admin.refused("/api-tokens/create", naive, 400, "expires_at must include a timezone")
    await admin.data("/users/deactivate", {"id": str(member.user_id)})
    await admin.refused(
        "/api-tokens/create", {"user_id": str(member.user_id), "name": "x"}, 400, "User is inactive"
    )


STEP = {"slug": "clean-names", "name": "Clean names", "step_type": "clean", "url": "https://steps.test/clean"}


async def test_legacy_steps_round_trip(admin: Admin, world: World) -> None:
    step = await admin.data("/steps/register", STEP)
    assert (step["task_id"], step["method"], step["timeout_ms"]) == ("execute-step", "POST", 30000)
    assert step["retry_config"] == {"max_attempts": 3, "backoff_factor": 2}
    assert (step["default_config"], step["auth_config"]) == ({}, {})
    # The reference's unique task_id default made this second registration fail.
    second = await admin.data("/steps/register", {**STEP, "slug": "clean-more", "step_type": "transform"})
    await admin.refused("/steps/register", STEP, 409, "A step with this slug already exists")

    assert await admin.data("/steps/get", {"slug": "clean-names"}) == step
    assert await admin.data("/steps/get", {"id": step["id"]}) == step
    await admin.refused("/steps/get", {}, 400, "Provide either id or slug")
    await admin.refused("/steps/get", {"slug": "nope"}, 404, "Step not found")

    updated = await admin.data(
        "/steps/update", {"id": step["id"], "timeout_ms": 5000, "auth_type": "bearer_token"}
    )
    assert (updated["timeout_ms"], updated["auth_type"], updated["name"]) == (
        5000,
        "bearer_token",
        "Clean names",
    )
    await admin.refused("/steps/update", {"id": step["id"]}, 400, "No fields provided for update")
    await admin.refused("/steps/update", {"id": str(uuid.uuid4()), "name": "x"}, 404, "Step not found")

    assert (await admin.data("/steps/deactivate", {"id": second["id"]}))["is_active"] is False
    await admin.refused("/steps/deactivate", {"id": str(uuid.uuid4())}, 404, "Step not found")
    transform = (await admin.post("/steps/list", {"step_type": "transform"})).json()
    assert [row["slug"] for row in transform["data"]] == ["clean-more"]
    inactive = (await admin.post("/steps/list", {"is_active": False})).json()
    assert {row["slug"] for row in inactive["data"]} == {"clean-more", "retired-step"}

    tenant = world.bearer(world.a.principals["member"])
    visible = (await admin.client.post("/api/steps/list", headers=tenant, json={})).json()
    assert {row["slug"] for row in visible["data"]} == {"clean-names", "active-step"}
    hidden = await admin.client.post("/api/steps/get", headers=tenant, json={"id": second["id"]})
    assert (hidden.status_code, hidden.json()) == (404, {"error": "Step not found"})


async def test_tenant_reads_follow_the_role(client: httpx.AsyncClient, world: World) -> None:
    org_admin = world.bearer(world.a.principals["org_admin"])
    member = world.bearer(world.a.principals["member"], "api_token")

    companies = (await client.post("/api/companies/list", headers=org_admin, json={})).json()
    assert {row["id"] for row in companies["data"]} == {str(c) for c in world.a.companies}
    own = (await client.post("/api/companies/list", headers=member, json={})).json()
    assert [row["id"] for row in own["data"]] == [str(world.a.companies[0])]
    assert own["pagination"]["total"] == 1

    users = (await client.post("/api/users/list", headers=org_admin, json={"limit": 2})).json()
    assert users["pagination"] == {"total": 4, "limit": 2, "offset": 0, "returned": 2, "has_more": True}
    refused = await client.post("/api/users/list", headers=member, json={})
    assert (refused.status_code, refused.json()) == (403, {"error": "org_admin role required"})
