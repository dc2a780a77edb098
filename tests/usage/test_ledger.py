"""The cost ledger through HTTP: sums per submission, provider, day, company and org, filters, the scope
each caller sees, the usage section of batch status, and spend counters that agree with the ledger."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from dex.tenancy.tokens import hash_api_token
from tests.conftest import PipelineHarness, Tenant, create_tenant

TECHNOGRAPHICS = [{"position": 1, "operation_id": "company.enrich.technographics"}]
DOMAINS = [{"domain": "ledger-a.io"}, {"domain": "ledger-b.io"}]


async def _usage(harness: PipelineHarness, **body: object) -> dict:
    response = await harness.post("/api/v1/usage", body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _two_submissions(pipeline: PipelineHarness) -> tuple[str, str]:
    """The same two companies twice: paid the first time, answered from the cache the second."""
    blueprint = await pipeline.blueprint("technologies", TECHNOGRAPHICS)
    first = await pipeline.submit(blueprint, DOMAINS)
    await pipeline.run_until_idle()
    second = await pipeline.submit(blueprint, DOMAINS)
    await pipeline.run_until_idle()
    return first, second


async def test_usage_is_summed_by_group_and_filtered(pipeline: PipelineHarness, database: Database) -> None:
    first, second = await _two_submissions(pipeline)

    report = await _usage(pipeline)
    assert report["totals"] == {
        "calls": 4,
        "billed_calls": 2,
        "cached_calls": 2,
        "cost_credits": "2.0000",
        "saved_credits": "2.0000",
    }
    assert report["groups"] == [] and report["pagination"]["total"] == 0

    by_submission = await _usage(pipeline, group_by=["submission"])
    assert [(g["submission_id"], g["cost_credits"], g["saved_credits"]) for g in by_submission["groups"]] == [
        (first, "2.0000", "0.0000"),
        (second, "0.0000", "2.0000"),
    ]
    today = datetime.now(UTC).date()
    by_provider_day = await _usage(pipeline, group_by=["provider", "day"])
    assert [(g["provider"], g["day"], g["calls"]) for g in by_provider_day["groups"]] == [
        ("leadmagic", today.isoformat(), 4)
    ]
    by_run = await _usage(pipeline, group_by=["run"], submission_id=first, limit=1)
    assert by_run["pagination"] == {"total": 2, "limit": 1, "offset": 0, "returned": 1, "has_more": True}

    assert (await _usage(pipeline, provider="prospeo"))["totals"]["calls"] == 0
    yesterday = (today - timedelta(days=1)).isoformat()
    assert (await _usage(pipeline, date_to=yesterday))["totals"]["calls"] == 0
    assert (await _usage(pipeline, date_from=today.isoformat(), date_to=today.isoformat()))["totals"][
        "calls"
    ] == 4
    assert (await _usage(pipeline, submission_id=second))["totals"]["cost_credits"] == "0.0000"
    bad = await pipeline.post("/api/v1/usage", {"group_by": ["provider", "provider"]})
    assert bad.status_code == 422

    status = await pipeline.status(second)
    assert status["usage"]["cached_calls"] == 2 and status["usage"]["saved_credits"] == "2.0000"
    assert [group["provider"] for group in status["usage"]["by_provider"]] == ["leadmagic"]

    async with database.transaction() as session:
        ledger = await session.scalar(text("SELECT sum(cost_credits) FROM operation_attempts"))
        counters = (
            await session.execute(
                text(
                    "SELECT (SELECT spent_credits FROM org_spend), "
                    "(SELECT spent_credits FROM submission_spend WHERE submission_id = :s)"
                ),
                {"s": first},
            )
        ).one()
    assert ledger == counters[0] == counters[1] == 2


async def _member_of_new_company(database: Database, tenant: Tenant) -> Tenant:
    """A member of a second company of the tenant's org."""
    token = f"test-token-member-{uuid.uuid4().hex}"
    async with database.transaction() as session:
        company_id = await session.scalar(
            text("INSERT INTO companies (org_id, name) VALUES (:org, 'second') RETURNING id"),
            {"org": tenant.org_id},
        )
        user_id = await session.scalar(
            text(
                "INSERT INTO users (org_id, company_id, email, role) "
                "VALUES (:org, :company, 'member@second.test', 'member') RETURNING id"
            ),
            {"org": tenant.org_id, "company": company_id},
        )
        await session.execute(
            text(
                "INSERT INTO api_tokens (org_id, company_id, user_id, name, token_hash, role) "
                "VALUES (:org, :company, :user, 'member', :hash, 'member')"
            ),
            {"org": tenant.org_id, "company": company_id, "user": user_id, "hash": hash_api_token(token)},
        )
    return Tenant(tenant.org_id, company_id, user_id, token)


async def test_company_scoped_callers_see_their_company_only(
    pipeline: PipelineHarness, database: Database
) -> None:
    first, _ = await _two_submissions(pipeline)
    member = PipelineHarness(
        pipeline.client, pipeline.executor, await _member_of_new_company(database, pipeline.tenant)
    )
    assert (await _usage(member))["totals"]["calls"] == 0
    assert (
        await member.post("/api/v1/usage", {"company_id": str(pipeline.tenant.company_id)})
    ).status_code == 403
    assert (await member.post("/api/v1/usage", {"submission_id": first})).status_code == 403
    by_company = await _usage(pipeline, group_by=["company"])
    assert [g["company_id"] for g in by_company["groups"]] == [str(pipeline.tenant.company_id)]


async def test_super_admin_sees_every_org_and_direct_executes_count(
    pipeline: PipelineHarness, database: Database, settings: Settings
) -> None:
    await _two_submissions(pipeline)
    other = PipelineHarness(pipeline.client, pipeline.executor, await create_tenant(database, "ledger-other"))
    executed = await other.post(
        "/api/v1/execute",
        {
            "operation_id": "company.enrich.technographics",
            "entity_type": "company",
            "input": {"domain": "ledger-c.io"},
        },
    )
    assert executed.status_code == 200, executed.text
    admin = {"Authorization": f"Bearer {settings.super_admin_api_key}"}
    response = await pipeline.client.post("/api/v1/usage", json={"group_by": ["org"]}, headers=admin)
    assert response.status_code == 200, response.text
    by_org = {group["org_id"]: group["cost_credits"] for group in response.json()["data"]["groups"]}
    assert by_org == {str(pipeline.tenant.org_id): "2.0000", str(other.tenant.org_id): "1.0000"}
    spent = (await other.post("/api/v1/budgets/get", {})).json()["data"]["org"]["spent_credits"]
    assert spent == "1.0000"  # the spend counter counts direct executes too
