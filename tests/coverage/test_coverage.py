"""The coverage check over real entity rows: readiness none/partial/ready, every verifier's vocabulary of
a deliverable email, counts past the reference's 1000-row cap, company scoping, and the 400s."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from dex.entities.repository import EntityRepository, Lineage
from dex.tenancy.tokens import hash_api_token
from tests.conftest import SandboxHandle, Tenant

CHECK = "/api/v1/coverage/check"


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox: SandboxHandle) -> SandboxHandle:
    """Checks look research lists up live: every test starts from a sandbox without scripted faults."""
    return sandbox


async def upsert(
    database: Database, tenant: Tenant, entity_type: str, context: dict, company_id=None
) -> None:
    async with database.transaction() as session:
        lineage = Lineage("test.seed", None, company_id or tenant.company_id)
        await EntityRepository(session, tenant.org_id).upsert(entity_type, context, lineage)


async def seed_market(database: Database, tenant: Tenant) -> None:
    """acme.io lists three customers (two enriched) and a competitor; four people work at acme.io or an
    enriched customer, three of them with an email some verifier called deliverable."""
    await upsert(
        database,
        tenant,
        "company",
        {
            "company_domain": "acme.io",
            "company_name": "Acme",
            "industry_primary": "Software",
            "customers": [
                {"customer_domain": "c1.io"},
                {"customer_domain": "https://www.C2.io/case-study"},
                {"customer_domain": "c3.io"},
                {"customer_name": "no domain"},
            ],
            "competitors": [{"domain": "k1.io"}, {"domain": "k2.io"}],
        },
    )
    await upsert(
        database, tenant, "company", {"company_domain": "c1.io", "industry": "Retail", "g2_url": "x"}
    )
    await upsert(database, tenant, "company", {"company_domain": "c2.io", "employee_count": 40})
    await upsert(database, tenant, "company", {"company_domain": "k1.io"})
    people = [
        {"work_email": "a@acme.io", "email_status": "deliverable", "company_domain": "acme.io"},
        {"work_email": "b@acme.io", "verification": {"status": "ok"}, "current_company_domain": "acme.io"},
        {"work_email": "c@c1.io", "email_status": "safe", "company_domain": "c1.io", "title": "VP"},
        {"full_name": "No Email", "company_domain": "c1.io", "linkedin_url": "https://linkedin.com/in/ne"},
        {"work_email": "z@elsewhere.io", "email_status": "deliverable", "company_domain": "elsewhere.io"},
    ]
    for person in people:
        await upsert(database, tenant, "person", person)


async def check(client: httpx.AsyncClient, headers: dict, body: dict) -> httpx.Response:
    return await client.post(CHECK, json=body, headers=headers)


async def test_ready_when_customers_and_emails_are_covered(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    await seed_market(database, tenant)
    response = await check(client, tenant.headers, {"domain": "https://www.ACME.io/pricing"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    target = data["target"]
    assert (target["domain"], target["enriched"], target["company_name"], target["industry"]) == (
        "acme.io",
        True,
        "Acme",
        "Software",
    )
    assert {"customers", "competitors", "industry_primary"} <= set(target["fields_present"])
    assert target["age_hours"] is not None and target["age_hours"] < 1
    assert data["customers"] == {
        "known_count": 3,
        "enriched_count": 2,
        "coverage_pct": 66.7,
        "with_industry": 1,
        "with_employees": 1,
        "with_g2_url": 1,
        "with_pricing_page_url": 0,
    }
    assert (data["competitors"]["known_count"], data["competitors"]["enriched_count"]) == (2, 1)
    # Not stored on acme.io: looked up live (none of them enriched here).
    similar = data["similar_companies"]
    assert similar["known_count"] > 0 and similar["enriched_count"] == 0
    async with database.transaction() as session:
        asked = (
            await session.execute(
                text("SELECT operation_id, status FROM operation_runs WHERE org_id = :org ORDER BY 1"),
                {"org": tenant.org_id},
            )
        ).all()
    # Only the lists acme.io has not stored; each lookup is in the operation history.
    assert [operation for operation, _ in asked] == [
        "company.research.find_similar_companies",
        "company.research.lookup_alumni",
        "company.research.lookup_champions",
    ]
    people = data["people"]
    # MillionVerifier's "ok", Reoon's "safe" and dex's "deliverable" all count; elsewhere.io does not.
    assert (people["total_count"], people["at_target_count"], people["with_email"]) == (4, 2, 3)
    assert (people["with_verified_email"], people["email_coverage_pct"]) == (3, 75.0)
    assert (people["with_title"], people["with_linkedin_url"]) == (1, 1)
    assert people["newest_enriched_at"] is not None
    assert data["overall_readiness"] == "ready"
    assert data["recommendation"] == "Coverage is ready for outbound and portal gating."


async def test_none_and_partial(client: httpx.AsyncClient, tenant: Tenant, database: Database) -> None:
    unknown = (await check(client, tenant.headers, {"domain": "nobody.io"})).json()["data"]
    assert unknown["overall_readiness"] == "none" and unknown["target"]["enriched"] is False
    assert (
        unknown["recommendation"] == "Target company is not enriched. Run company profile enrichment first."
    )
    assert unknown["people"]["total_count"] == 0

    await upsert(
        database,
        tenant,
        "company",
        {
            "company_domain": "acme.io",
            "customers": [{"customer_domain": "c1.io"}, {"customer_domain": "c2.io"}],
        },
    )
    partial = (await check(client, tenant.headers, {"domain": "acme.io"})).json()["data"]
    assert partial["overall_readiness"] == "partial"
    assert partial["recommendation"] == (
        "Enrich 2 remaining customers and run person search on enriched companies to improve coverage."
    )


async def test_people_are_counted_in_the_database_past_a_thousand(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    await upsert(database, tenant, "company", {"company_domain": "big.io"})
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO person_entities (org_id, entity_id, company_id, work_email, email_status, "
                "company_domain) SELECT :org, gen_random_uuid(), :company, 'p' || n || '@big.io', "
                "CASE WHEN n % 2 = 0 THEN 'ok' ELSE 'undeliverable' END, 'big.io' "
                "FROM generate_series(1, 1500) AS n"
            ),
            {"org": tenant.org_id, "company": tenant.company_id},
        )
    people = (await check(client, tenant.headers, {"domain": "big.io"})).json()["data"]["people"]
    assert (people["total_count"], people["with_verified_email"], people["email_coverage_pct"]) == (
        1500,
        750,
        50.0,
    )


async def _member(database: Database, tenant: Tenant, company_id: uuid.UUID) -> dict[str, str]:
    token = f"member-{uuid.uuid4().hex}"
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO api_tokens (org_id, company_id, name, token_hash, role) "
                "VALUES (:org, :company, 'member', :hash, 'member')"
            ),
            {"org": tenant.org_id, "company": company_id, "hash": hash_api_token(token)},
        )
    return {"Authorization": f"Bearer {token}"}


async def test_company_scoped_callers_see_their_company_only(
    client: httpx.AsyncClient, tenant: Tenant, database: Database
) -> None:
    await seed_market(database, tenant)
    async with database.transaction() as session:
        sibling = (
            await session.execute(
                text("INSERT INTO companies (org_id, name) VALUES (:org, 'sibling') RETURNING id"),
                {"org": tenant.org_id},
            )
        ).scalar_one()
    # One person the sibling company enriched, at acme.io: only its own member counts it.
    await upsert(
        database, tenant, "person", {"work_email": "s@acme.io", "company_domain": "acme.io"}, sibling
    )

    own = (
        await check(client, await _member(database, tenant, tenant.company_id), {"domain": "acme.io"})
    ).json()
    assert own["data"]["overall_readiness"] == "ready" and own["data"]["people"]["total_count"] == 4
    other = (await check(client, await _member(database, tenant, sibling), {"domain": "acme.io"})).json()
    assert other["data"]["target"]["enriched"] is False and other["data"]["overall_readiness"] == "none"
    org_wide = (await check(client, tenant.headers, {"domain": "acme.io"})).json()["data"]
    assert org_wide["people"]["total_count"] == 5


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"domain": "  "}, 400, "domain is required"),
        ({"domain": "acme.io"}, 400, "org_id is required for super-admin requests"),
    ],
)
async def test_bad_requests(
    client: httpx.AsyncClient, settings: Settings, body: dict, status: int, message: str
) -> None:
    headers = {"Authorization": f"Bearer {settings.super_admin_api_key}"}
    if body["domain"].strip():
        response = await check(client, headers, body)
    else:
        response = await check(client, headers, {**body, "org_id": str(uuid.uuid4())})
    assert (response.status_code, response.json()) == (status, {"error": message})


async def test_super_admin_names_the_org(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, settings: Settings
) -> None:
    await seed_market(database, tenant)
    headers = {"Authorization": f"Bearer {settings.super_admin_api_key}"}
    response = await check(client, headers, {"domain": "acme.io", "org_id": str(tenant.org_id)})
    assert response.json()["data"]["overall_readiness"] == "ready"
    elsewhere = await check(client, tenant.headers, {"domain": "acme.io", "org_id": str(uuid.uuid4())})
    assert elsewhere.status_code == 403


async def test_a_target_not_enriched_still_gets_its_market_looked_up(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, sandbox: SandboxHandle
) -> None:
    data = (await check(client, tenant.headers, {"domain": "acme.io"})).json()["data"]
    assert data["target"]["enriched"] is False and data["overall_readiness"] == "none"
    assert data["customers"]["known_count"] > 0 and data["competitors"]["known_count"] > 0


async def test_failing_lookups_count_as_empty_lists(
    client: httpx.AsyncClient, tenant: Tenant, database: Database, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("revenueinfra", ["500"] * 30)
    response = await check(client, tenant.headers, {"domain": "acme.io"})
    sandbox.configure()  # the faults left over must not reach a later test
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert all(data[category]["known_count"] == 0 for category in ("customers", "competitors", "alumni"))
    async with database.transaction() as session:
        statuses = (
            (
                await session.execute(
                    text("SELECT DISTINCT status FROM operation_runs WHERE org_id = :o"), {"o": tenant.org_id}
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["failed"]
