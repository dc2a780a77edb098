"""Which client company a batch runs for when an org-wide caller does not name one: the org's only company,
else a 400 that lists the org's companies — the same answer through both submit endpoints."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from dex.db.engine import Database
from tests.conftest import Tenant, add_user_with_token, create_tenant
from tests.entities.conftest import add_company

PROFILE = [{"position": 1, "operation_id": "company.enrich.profile"}]


async def blueprint_of(client: httpx.AsyncClient, tenant: Tenant) -> str:
    created = await client.post(
        "/api/blueprints/create", json={"name": "profiles", "steps": PROFILE}, headers=tenant.headers
    )
    assert created.status_code == 200, created.text
    return created.json()["data"]["id"]


async def submit_json(client: httpx.AsyncClient, tenant: Tenant, blueprint_id: str) -> httpx.Response:
    body = {
        "blueprint_id": blueprint_id,
        "entities": [{"entity_type": "company", "input": {"domain": "a.io"}}],
    }
    return await client.post("/api/v1/batch/submit", json=body, headers=tenant.headers)


async def submit_csv(client: httpx.AsyncClient, tenant: Tenant, blueprint_id: str) -> httpx.Response:
    body = {"blueprint_id": blueprint_id, "csv": "domain\nb.io\n"}
    return await client.post("/api/v1/batch/submit-csv", json=body, headers=tenant.headers)


async def submission_company(database: Database, submission_id: str) -> uuid.UUID:
    async with database.transaction() as session:
        return (
            await session.execute(
                text("SELECT company_id FROM submissions WHERE id = :id"), {"id": submission_id}
            )
        ).scalar_one()


async def test_the_org_s_only_company_is_the_default(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    blueprint_id = await blueprint_of(client, tenant)
    for submit in (submit_json, submit_csv):
        response = await submit(client, tenant, blueprint_id)
        assert response.status_code == 200, response.text
        submitted = response.json()["data"]["submission_id"]
        assert await submission_company(database, submitted) == tenant.company_id


async def test_several_companies_must_be_named_and_the_error_lists_them(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    blueprint_id = await blueprint_of(client, tenant)
    other = await add_company(database, tenant.org_id, "Globex")
    await create_tenant(database, "elsewhere")  # another org's company is never listed
    for submit in (submit_json, submit_csv):
        response = await submit(client, tenant, blueprint_id)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error.startswith("company_id is required: this org has 2 companies: ")
        assert f"acme client ({tenant.company_id})" in error and f"Globex ({other})" in error
        assert "elsewhere" not in error

    body = {
        "blueprint_id": blueprint_id,
        "company_id": str(other),
        "entities": [{"entity_type": "company", "input": {"domain": "c.io"}}],
    }
    named = await client.post("/api/v1/batch/submit", json=body, headers=tenant.headers)
    assert named.status_code == 200, named.text
    assert await submission_company(database, named.json()["data"]["submission_id"]) == other


async def test_another_org_s_company_is_not_found(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    blueprint_id = await blueprint_of(client, tenant)
    stranger = await create_tenant(database, "stranger")
    body = {
        "blueprint_id": blueprint_id,
        "company_id": str(stranger.company_id),
        "entities": [{"entity_type": "company", "input": {"domain": "d.io"}}],
    }
    response = await client.post("/api/v1/batch/submit", json=body, headers=tenant.headers)
    assert (response.status_code, response.json()) == (404, {"error": "company_id does not belong to org_id"})


async def test_an_org_without_a_company_says_so(client: httpx.AsyncClient, database: Database) -> None:
    async with database.transaction() as session:
        org_id = (
            await session.execute(
                text("INSERT INTO orgs (name, slug) VALUES ('Empty', 'empty') RETURNING id")
            )
        ).scalar_one()
        await add_user_with_token(session, org_id, None, "org_admin", "admin@empty.test", "empty-org-token")
    lonely = Tenant(org_id, uuid.UUID(int=0), uuid.UUID(int=0), "empty-org-token")
    created = await client.post(
        "/api/blueprints/create", json={"name": "profiles", "steps": PROFILE}, headers=lonely.headers
    )
    response = await submit_json(client, lonely, created.json()["data"]["id"])
    assert (response.status_code, response.json()) == (
        400,
        {"error": "this org has no company yet: a super-admin creates one first"},
    )
