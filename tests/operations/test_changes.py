"""Change detection as operations (``company.derive.detect_changes``, ``person.derive.detect_changes``)
through ``POST /api/v1/execute`` and as a blueprint step, on the caller's entity history."""

from __future__ import annotations

import httpx

from dex.db.engine import Database
from tests.conftest import PipelineHarness, Tenant, create_tenant
from tests.entities.conftest import upsert
from tests.operations.test_execute import execute


async def detect(
    client: httpx.AsyncClient, tenant: Tenant, entity_type: str, input_: dict, **extra: object
) -> dict:
    response = await execute(
        client, tenant, f"{entity_type}.derive.detect_changes", entity_type, input_, **extra
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_company_changes_by_domain_with_watched_fields(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    await upsert(database, tenant.org_id, "company", {"domain": "acme.io", "employee_count": 100})
    first = await detect(client, tenant, "company", {"company_domain": "acme.io"})
    assert first["status"] == "not_found"
    assert first["output"]["reason"] == "insufficient_history" and first["provider_attempts"] == []

    await upsert(
        database,
        tenant.org_id,
        "company",
        {"domain": "acme.io", "employee_count": 150, "industry": "Fintech"},
    )
    # A URL-shaped domain in a nested profile names the same entity.
    result = await detect(client, tenant, "company", {"company_profile": {"domain": "https://www.Acme.io/"}})
    assert result["status"] == "found"
    changes = {change["field"]: change for change in result["output"]["changes"]}
    assert changes["employee_count"]["change_type"] == "increased"
    assert changes["employee_count"]["percent_change"] == 50.0
    assert changes["industry"]["change_type"] == "added"

    watched = await detect(
        client, tenant, "company", {"domain": "acme.io"}, options={"fields_to_watch": ["domain"]}
    )
    assert watched["status"] == "not_found"
    assert watched["output"]["reason"] == "no_changes" and watched["output"]["unchanged_fields"] == ["domain"]


async def test_person_changes_by_explicit_id_and_org_isolation(
    client: httpx.AsyncClient, database: Database, tenant: Tenant
) -> None:
    person = await upsert(database, tenant.org_id, "person", {"email": "ava@acme.io", "title": "CTO"})
    await upsert(database, tenant.org_id, "person", {"email": "ava@acme.io", "title": "CEO"})
    mine = await detect(client, tenant, "person", {"person_entity_id": str(person.entity_id)})
    assert mine["status"] == "found"
    assert [(c["field"], c["current_value"]) for c in mine["output"]["changes"]] == [("title", "CEO")]

    # Another org sees nothing of it, by id or by natural key, even when the input names our org.
    outsider = await create_tenant(database, "globex")
    for input_ in (
        {"entity_id": str(person.entity_id), "org_id": str(tenant.org_id)},
        {"work_email": "ava@acme.io"},
    ):
        theirs = await detect(client, outsider, "person", input_)
        assert theirs["status"] == "not_found" and theirs["output"] is None


async def test_nothing_identifying_is_a_missing_input(client: httpx.AsyncClient, tenant: Tenant) -> None:
    result = await detect(client, tenant, "company", {"employee_count": 3})
    assert result["status"] == "failed"
    assert result["missing_inputs"] == [
        "entity_id|company_entity_id|company_domain|company_linkedin_url|company_name|company_profile"
    ]


async def test_detect_changes_as_a_blueprint_step(pipeline: PipelineHarness, database: Database) -> None:
    org_id = pipeline.tenant.org_id
    await upsert(database, org_id, "company", {"domain": "acme.io", "employee_count": 10})
    await upsert(database, org_id, "company", {"domain": "acme.io", "employee_count": 12})
    blueprint = await pipeline.blueprint(
        "changes", [{"position": 1, "operation_id": "company.derive.detect_changes"}]
    )
    submission = await pipeline.submit(blueprint, [{"company_domain": "acme.io"}])
    await pipeline.run_until_idle()
    status = await pipeline.status(submission)
    run = status["runs"][0]
    assert run["status"] == "completed", run
    assert run["final_context"]["has_changes"] is True
    assert run["final_context"]["changes"][0]["field"] == "employee_count"
