"""The audit trail through HTTP: each family of actions is recorded with actor, org, client address, target
and details (never a secret), in the transaction of the change; org admins read their own org's trail only,
super-admins any org's; nothing deletes it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text

from dex.config import Settings
from dex.db.engine import Database
from dex.tenancy.models import SuperAdmin
from dex.tenancy.passwords import hash_password
from tests.conftest import Tenant, add_user_with_token, create_tenant

LIST = "/api/v1/audit/list"
PASSWORD = "correct horse battery"


@pytest.fixture
def operator(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.super_admin_api_key}"}


async def trail(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> list[dict[str, Any]]:
    response = await client.post(LIST, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def by_action(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {event["action"]: event for event in events}


async def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_org_company_user_and_token_changes_are_recorded(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    post = client.post
    org = await ok(
        await post(
            "/api/super-admin/orgs/create", json={"name": "Initech", "slug": "initech"}, headers=operator
        )
    )
    await ok(
        await post(
            "/api/super-admin/orgs/update", json={"id": org["id"], "name": "Initech Ltd"}, headers=operator
        )
    )
    company = await ok(
        await post(
            "/api/super-admin/companies/create",
            json={"org_id": org["id"], "name": "Client"},
            headers=operator,
        )
    )
    user = await ok(
        await post(
            "/api/super-admin/users/create",
            json={
                "org_id": org["id"],
                "company_id": company["id"],
                "email": "peter@initech.test",
                "password": PASSWORD,
                "role": "member",
            },
            headers=operator,
        )
    )
    token = await ok(
        await post(
            "/api/super-admin/api-tokens/create", json={"user_id": user["id"], "name": "ci"}, headers=operator
        )
    )
    await ok(await post("/api/super-admin/api-tokens/revoke", json={"id": token["id"]}, headers=operator))
    await ok(await post("/api/super-admin/users/deactivate", json={"id": user["id"]}, headers=operator))

    events = await trail(client, operator, org_id=org["id"])
    assert [event["action"] for event in events] == [
        "user.deactivated",
        "api_token.revoked",
        "api_token.created",
        "user.created",
        "company.created",
        "org.updated",
        "org.created",
    ]
    for event in events:
        assert event["org_id"] == org["id"]
        assert (event["actor_type"], event["actor_email"]) == ("super_admin", "api-key@super-admin")
        assert event["client_address"] == "127.0.0.1"
    actions = by_action(events)
    assert actions["org.updated"]["details"] == {"name": "Initech Ltd"}
    assert (actions["user.created"]["target_type"], actions["user.created"]["target_id"]) == (
        "user",
        user["id"],
    )
    assert actions["user.created"]["details"] == {
        "email": "peter@initech.test",
        "role": "member",
        "company_id": company["id"],
    }
    assert actions["api_token.created"]["target_id"] == token["id"]
    assert actions["api_token.created"]["details"]["name"] == "ci"
    # Secrets never reach the trail: not the password, not the token.
    everything = (await client.post(LIST, json={}, headers=operator)).text
    assert PASSWORD not in everything and token["token"] not in everything


async def test_logins_are_recorded_whether_they_succeed_or_fail(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, operator: dict[str, str]
) -> None:
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE users SET password_hash = :hash WHERE id = :id"),
            {"hash": await hash_password(PASSWORD), "id": tenant.user_id},
        )
        await session.execute(
            insert(SuperAdmin).values(email="root@dex.test", password_hash=await hash_password(PASSWORD))
        )
    email = "org_admin@acme.test"
    assert (
        await client.post("/api/auth/login", json={"email": email, "password": "wrong!"})
    ).status_code == 401
    assert (
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    ).status_code == 200
    assert (
        await client.post("/api/auth/login", json={"email": "ghost@acme.test", "password": "wrong!"})
    ).status_code == 401
    assert (
        await client.post("/api/super-admin/login", json={"email": "root@dex.test", "password": PASSWORD})
    ).status_code == 200

    own = await trail(client, tenant.headers)
    assert [(e["action"], e["actor_type"], e["actor_email"]) for e in own] == [
        ("login.succeeded", "user", email),
        ("login.failed", "anonymous", email),
    ]
    assert own[0]["actor_id"] == str(tenant.user_id) and own[0]["org_id"] == str(tenant.org_id)
    assert own[1]["details"] == {"login": "tenant", "locked_out": False} and own[1]["actor_id"] is None
    everything = await trail(client, operator)
    outside_orgs = [
        (e["action"], e["actor_email"], e["details"]["login"]) for e in everything if e["org_id"] is None
    ]
    assert outside_orgs == [
        ("login.succeeded", "root@dex.test", "super_admin"),
        ("login.failed", "ghost@acme.test", "tenant"),
    ]
    assert "wrong!" not in str(everything) and PASSWORD not in str(everything)


async def test_budget_webhook_and_blueprint_changes_are_recorded(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.headers
    await ok(await client.post("/api/v1/budgets/set", json={"budget_credits": 250}, headers=headers))
    endpoint = await ok(
        await client.post(
            "/api/v1/webhooks/create",
            # A public address literal (no DNS lookup); a token in its query must not be recorded.
            json={"url": "https://93.184.216.34/hook?token=abc123", "events": ["run.failed"]},
            headers=headers,
        )
    )
    await ok(await client.post("/api/v1/webhooks/delete", json={"id": endpoint["id"]}, headers=headers))
    blueprint = await ok(
        await client.post(
            "/api/blueprints/create",
            json={"name": "profiles", "steps": [{"position": 1, "operation_id": "company.enrich.profile"}]},
            headers=headers,
        )
    )
    await ok(
        await client.post(
            "/api/blueprints/update", json={"id": blueprint["id"], "name": "profiles v2"}, headers=headers
        )
    )

    actions = by_action(await trail(client, headers))
    assert set(actions) == {
        "budget.set",
        "webhook.created",
        "webhook.deleted",
        "blueprint.created",
        "blueprint.updated",
    }
    for event in actions.values():
        assert (event["actor_type"], event["actor_id"]) == ("api_token", str(tenant.user_id))
        assert event["org_id"] == str(tenant.org_id)
    assert actions["budget.set"]["details"] == {"budget_credits": "250"}
    created = actions["webhook.created"]
    assert created["details"] == {"url": "https://93.184.216.34/hook", "events": ["run.failed"]}
    assert (
        "s3cret" not in str(actions)
        and "abc123" not in str(actions)
        and endpoint["secret"] not in str(actions)
    )
    assert actions["webhook.deleted"]["target_id"] == endpoint["id"]
    assert actions["blueprint.updated"]["details"]["name"] == "profiles v2"
    assert actions["blueprint.updated"]["details"]["operations"] == ["company.enrich.profile"]


async def test_a_refused_change_leaves_no_event(
    client: httpx.AsyncClient, tenant: Tenant, operator: dict[str, str]
) -> None:
    """The event is written in the change's transaction: when the change fails, neither is kept."""
    taken = await client.post(
        "/api/super-admin/orgs/create", json={"name": "Dup", "slug": "acme"}, headers=operator
    )
    assert taken.status_code == 409
    invalid = await client.post(
        "/api/blueprints/create",
        json={"name": "bad", "steps": [{"position": 1, "operation_id": "no.such.operation"}]},
        headers=tenant.headers,
    )
    assert invalid.status_code in (400, 422)
    assert await trail(client, operator) == []


async def test_each_org_reads_only_its_own_trail(
    client: httpx.AsyncClient, database: Database, tenant: Tenant, operator: dict[str, str]
) -> None:
    other = await create_tenant(database, "globex")
    for caller in (tenant, other):
        await ok(
            await client.post("/api/v1/budgets/set", json={"budget_credits": 10}, headers=caller.headers)
        )

    own = await trail(client, tenant.headers)
    assert [event["org_id"] for event in own] == [str(tenant.org_id)]
    assert str(other.org_id) not in str(own)
    # Naming another org is refused, for the list and through the filter alike.
    refused = await client.post(LIST, json={"org_id": str(other.org_id)}, headers=tenant.headers)
    assert (refused.status_code, refused.json()) == (403, {"error": "Forbidden org access"})
    # Company-scoped roles do not read the trail.
    member_token = f"member-{uuid.uuid4().hex}"
    async with database.transaction() as session:
        await add_user_with_token(
            session, tenant.org_id, tenant.company_id, "member", "m@acme.test", member_token
        )
    member = await client.post(LIST, json={}, headers={"Authorization": f"Bearer {member_token}"})
    assert member.status_code == 403

    # Super-admins read any org's, one org with the filter, and page through them.
    assert {event["org_id"] for event in await trail(client, operator)} == {
        str(tenant.org_id),
        str(other.org_id),
    }
    assert [event["org_id"] for event in await trail(client, operator, org_id=str(other.org_id))] == [
        str(other.org_id)
    ]
    page = await client.post(LIST, json={"limit": 1, "offset": 1}, headers=operator)
    assert page.json()["pagination"] == {
        "total": 2,
        "limit": 1,
        "offset": 1,
        "returned": 1,
        "has_more": False,
    }


async def test_the_trail_cannot_be_changed_through_the_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert [path for path in paths if path.startswith("/api/v1/audit")] == [LIST]
