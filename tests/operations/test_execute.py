"""``POST /api/v1/execute`` and ``POST /api/v1/registry/operations`` through HTTP, on the sandbox."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from dex.db.engine import Database
from tests.conftest import SandboxHandle, Tenant


async def execute(
    client: httpx.AsyncClient,
    tenant: Tenant,
    operation_id: str,
    entity_type: str,
    input_: dict,
    **extra: object,
) -> httpx.Response:
    body = {"operation_id": operation_id, "entity_type": entity_type, "input": input_, **extra}
    return await client.post("/api/v1/execute", json=body, headers=tenant.headers)


async def test_verify_email_records_run_and_attempts(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, sandbox: SandboxHandle
) -> None:
    response = await execute(
        client, tenant, "person.contact.verify_email", "person", {"email": "Ava@Acme.io"}
    )
    assert response.status_code == 200, response.text
    result = response.json()["data"]
    assert result["status"] == "verified"
    assert result["output"]["email"] == "ava@acme.io"
    assert result["provider_attempts"][0]["provider"] == "millionverifier"
    assert result["sandbox"] is True
    async with database.transaction() as session:
        run = (await session.execute(text("SELECT * FROM operation_runs"))).mappings().one()
        attempts = (
            (await session.execute(text("SELECT * FROM operation_attempts ORDER BY sequence")))
            .mappings()
            .all()
        )
    assert str(run["run_id"]) == result["run_id"]
    assert run["org_id"] == tenant.org_id and run["status"] == "verified"
    assert [a["provider"] for a in attempts] == [a["provider"] for a in result["provider_attempts"]]
    assert all(a["sandbox"] for a in attempts)


async def test_missing_inputs_make_no_provider_call(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    response = await execute(
        client, tenant, "person.contact.verify_email", "person", {"email": "   ", "x": [1]}
    )
    result = response.json()["data"]
    assert (response.status_code, result["status"], result["missing_inputs"]) == (200, "failed", ["email"])
    assert result["provider_attempts"] == []
    assert sandbox.state.ledger == []


async def test_second_identical_call_is_served_from_cache_at_zero_cost(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    first = (
        await execute(client, tenant, "person.contact.verify_email", "person", {"email": "ben@acme.io"})
    ).json()
    calls = len(sandbox.state.ledger)
    second = (
        await execute(client, tenant, "person.contact.verify_email", "person", {"email": "ben@acme.io"})
    ).json()
    assert first["data"]["cost_credits"] > 0
    assert second["data"]["cost_credits"] == 0
    assert all(a["cached"] for a in second["data"]["provider_attempts"])
    assert second["data"]["output"] == first["data"]["output"]
    assert len(sandbox.state.ledger) == calls
    bypass = await execute(
        client,
        tenant,
        "person.contact.verify_email",
        "person",
        {"email": "ben@acme.io"},
        options={"bypass_cache": True},
    )
    assert bypass.json()["data"]["cost_credits"] > 0


async def test_request_validation_errors(client: httpx.AsyncClient, tenant: Tenant) -> None:
    unknown = await execute(client, tenant, "person.nope", "person", {})
    assert (unknown.status_code, unknown.json()) == (400, {"error": "Unsupported operation_id: person.nope"})
    wrong_type = await execute(client, tenant, "person.contact.verify_email", "company", {"email": "a@b.io"})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"] == "entity_type must be person for person operations"
    anonymous = await client.post("/api/v1/execute", json={"operation_id": "x", "entity_type": "person"})
    assert anonymous.status_code == 401


async def test_registry_lists_operations(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/registry/operations", json={"produces_field": "email"}, headers=tenant.headers
    )
    data = response.json()["data"]
    assert data["count"] == len(data["operations"]) >= 1
    assert all("email" in op["produces"] for op in data["operations"])
    assert (await client.post("/api/v1/registry/operations", json={})).status_code == 401
