"""Direct executes under an org budget: each priced request reserves its price first, so a request that
does not fit is never sent and the operation fails as ``budget_exhausted``."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from dex.db.engine import Database
from tests.conftest import SandboxHandle, Tenant
from tests.operations.test_execute import execute
from tests.usage.test_hard_budgets import billed_credits


async def test_an_execute_that_does_not_fit_the_budget_is_not_sent(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, database: Database
) -> None:
    async with database.transaction() as session:
        await session.execute(
            text("UPDATE orgs SET budget_credits = 1 WHERE id = :id"), {"id": tenant.org_id}
        )
    technographics = "company.enrich.technographics"  # one LeadMagic call, 1 credit
    first = await execute(client, tenant, technographics, "company", {"company_domain": "fits.io"})
    assert first.status_code == 200 and first.json()["data"]["status"] == "found"

    refused = await execute(client, tenant, technographics, "company", {"company_domain": "over.io"})
    assert refused.status_code == 200, refused.text
    data = refused.json()["data"]
    assert data["status"] == "failed" and data["error"]["code"] == "budget_exhausted"
    # No call was made: the attempt is skipped, like one without a key.
    assert [(a["status"], a["skip_reason"]) for a in data["provider_attempts"]] == [
        ("skipped", "budget_exhausted")
    ]
    assert await billed_credits(database, sandbox, tenant.org_id) == 1  # the second call was never sent
