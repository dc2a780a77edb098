"""Blueprint CRUD, save-time validation against the registry, and immutable versions."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from dex.db.engine import Database
from tests.conftest import Tenant


async def create(
    client: httpx.AsyncClient, tenant: Tenant, steps: list[dict], **extra: object
) -> httpx.Response:
    return await client.post(
        "/api/blueprints/create", json={"name": "bp", "steps": steps, **extra}, headers=tenant.headers
    )


@pytest.mark.parametrize(
    ("steps", "extra", "message"),
    [
        (
            [
                {"position": 1, "operation_id": "company.enrich.profile"},
                {"position": 1, "operation_id": "person.search"},
            ],
            {},
            "Blueprint step positions must be unique",
        ),
        (
            [{"position": 1, "operation_id": "company.nope"}, {"position": 2, "operation_id": "a.b"}],
            {},
            "Unsupported operation_id values: a.b, company.nope",
        ),
        (
            [{"position": 1, "operation_id": "person.contact.verify_email"}],
            {"entity_type": "company"},
            "step 1 (person.contact.verify_email) operates on person entities, "
            "but runs carry company entities at that point",
        ),
        (
            [{"position": 1, "operation_id": "company.derive.pricing_intelligence"}],
            {},
            "step 1 (company.derive.pricing_intelligence) requires pricing_page_url, "
            "which neither the entity input nor an earlier step produces",
        ),
        (
            [{"position": 1, "operation_id": "company.enrich.profile", "fan_out": True}],
            {},
            "step 1 (company.enrich.profile) cannot fan out: the operation returns no list of entities",
        ),
    ],
)
async def test_invalid_blueprints_are_refused_naming_step_and_field(
    client: httpx.AsyncClient, tenant: Tenant, steps: list[dict], extra: dict, message: str
) -> None:
    response = await create(client, tenant, steps, **extra)
    assert (response.status_code, response.json()) == (400, {"error": message})


async def test_step_positions_past_postgres_integer_are_invalid_requests(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    past = await create(client, tenant, [{"position": 2**31, "operation_id": "company.enrich.profile"}])
    assert past.status_code == 422
    assert past.json()["error"].startswith("invalid request: steps.0.position:")
    last = await create(client, tenant, [{"position": 2**31 - 1, "operation_id": "company.enrich.profile"}])
    assert last.status_code == 200, last.text


async def test_produced_fields_satisfy_later_steps_and_fan_out_switches_entity_type(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    steps = [
        {"position": 1, "operation_id": "company.research.resolve_pricing_page_url"},
        {"position": 2, "operation_id": "company.derive.pricing_intelligence"},
        {"position": 3, "operation_id": "person.search", "fan_out": True},
        {"position": 4, "operation_id": "person.contact.resolve_email"},
    ]
    response = await create(client, tenant, steps)
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    assert body["entity_type"] == "company" and body["version"] == 1
    assert [s["position"] for s in body["blueprint_steps"]] == [1, 2, 3, 4]


async def test_updates_write_new_immutable_versions(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    created = (
        await create(client, tenant, [{"position": 1, "operation_id": "company.enrich.profile"}])
    ).json()["data"]
    for expected in (2, 3):
        updated = await client.post(
            "/api/blueprints/update",
            json={
                "id": created["id"],
                "steps": [
                    {"position": 1, "operation_id": "company.enrich.profile"},
                    {"position": 2, "operation_id": "company.enrich.technographics"},
                ],
            },
            headers=tenant.headers,
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["data"]["version"] == expected
    async with database.transaction() as session:
        versions = (
            await session.execute(
                text(
                    "SELECT version, jsonb_array_length(snapshot->'steps') "
                    "FROM blueprint_versions ORDER BY version"
                )
            )
        ).all()
    assert versions == [(1, 1), (2, 2), (3, 2)]
    invalid = await client.post(
        "/api/blueprints/update",
        json={"id": created["id"], "steps": [{"position": 1, "operation_id": "no.such.op"}]},
        headers=tenant.headers,
    )
    assert invalid.status_code == 400
    current = await client.post("/api/blueprints/get", json={"id": created["id"]}, headers=tenant.headers)
    assert current.json()["data"]["version"] == 3 and len(current.json()["data"]["blueprint_steps"]) == 2


async def test_duplicate_names_conflict_and_members_cannot_write(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    steps = [{"position": 1, "operation_id": "company.enrich.profile"}]
    assert (await create(client, tenant, steps)).status_code == 200
    duplicate = await create(client, tenant, steps)
    assert (duplicate.status_code, duplicate.json()) == (
        409,
        {"error": "A blueprint with this name already exists in the org"},
    )
    from tests.conftest import create_tenant

    member = await create_tenant(database, "members-org", role="member")
    refused = await create(client, member, steps)
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "org_admin role required to change blueprints"},
    )
    listed = await client.post("/api/blueprints/list", json={}, headers=member.headers)
    assert listed.json()["pagination"]["total"] == 0
