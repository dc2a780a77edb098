"""Hard budgets against the sandbox's own ledger: a batch under a budget spends no more than the budget,
whatever the executor's concurrency, and waits for budget honestly (status, what it needs) until the
budget is raised. ``tests/scaleout`` runs the same scenarios with two ``dex worker`` processes."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from importlib import resources

from sqlalchemy import text

from dex.db.engine import Database
from dex.providers.catalog import price_of
from tests.conftest import PipelineHarness, SandboxHandle
from tests.usage.test_budgets import set_budget

BUDGET = Decimal("50")
COMPANIES = 100
# Every provider request reserves its full price before it is sent and then costs that price or nothing,
# so reservations leave no room for overshoot: the bound is the budget itself.
RESERVATION_SLACK = Decimal("0")


def people_at_companies() -> dict:
    return json.loads(resources.files("dex.examples").joinpath("people_at_companies.json").read_text())


async def billed_credits(database: Database, sandbox: SandboxHandle, org_id: uuid.UUID) -> Decimal:
    """What the sandbox billed for this org's requests: its billable ledger entries whose request id is
    one of the org's journaled calls (the shared ledger may hold other tests' requests), at catalog
    prices."""
    async with database.transaction() as session:
        calls = set(
            (
                await session.execute(
                    text(
                        "SELECT CAST(unnest(call_ids) AS text) FROM operation_attempts WHERE org_id = :org "
                        "UNION SELECT CAST(call_id AS text) FROM provider_call_journal WHERE org_id = :org"
                    ),
                    {"org": org_id},
                )
            ).scalars()
        )
    return sum(
        (
            price_of(entry.provider, entry.action)
            for entry in sandbox.state.ledger
            if entry.billable and entry.request_id in calls
        ),
        Decimal("0"),
    )


async def test_a_100_company_batch_spends_no_more_than_its_50_credit_budget(
    pipeline: PipelineHarness, database: Database, sandbox: SandboxHandle
) -> None:
    await set_budget(pipeline, budget_credits=str(BUDGET))
    created = await pipeline.post("/api/blueprints/create", people_at_companies())
    assert created.status_code == 200, created.text
    companies = [{"domain": f"hard-budget-{i}.io"} for i in range(COMPANIES)]
    submission = await pipeline.submit(created.json()["data"]["id"], companies)
    await pipeline.run_until_idle(timeout=120)

    spent = await billed_credits(database, sandbox, pipeline.tenant.org_id)
    print(f"\n100-company batch under a {BUDGET} credit budget: the sandbox billed {spent} credits")
    assert spent <= BUDGET + RESERVATION_SLACK
    # The budget was used, not refused early: what is left is less than the dearest call of the blueprint.
    assert spent > BUDGET - 2
    status = await pipeline.status(submission)
    assert status["usage"]["cost_credits"] == f"{spent:.4f}"  # dex's own ledger agrees with the sandbox's
    assert status["submission"]["status"] == "waiting_for_budget"
    assert status["usage"]["parked_steps"] > 0
    needs = status["budget"]
    assert needs["org"]["budget_credits"] == float(BUDGET)
    assert needs["org"]["spent_credits"] == float(spent) and needs["org"]["reserved_credits"] == 0
    assert needs["next_call_credits"] > 0

    # Raising the budget resumes the parked steps, and the new budget holds as hard as the first.
    raised = await set_budget(pipeline, budget_credits=str(BUDGET + 10))
    assert raised["requeued_steps"] > 0
    await pipeline.run_until_idle(timeout=120)
    spent_after = await billed_credits(database, sandbox, pipeline.tenant.org_id)
    assert BUDGET + 8 < spent_after <= BUDGET + 10 + RESERVATION_SLACK
    assert (await pipeline.status(submission))["submission"]["status"] == "waiting_for_budget"
