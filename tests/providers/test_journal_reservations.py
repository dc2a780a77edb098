"""Budget reservations of the journal, on the real database: concurrent requests never reserve more than
the budget, a refused request is not journaled, and a settled row gives its reservation back."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from dex.db.engine import Database
from dex.providers.journal import BudgetRefused, CallJournal, CallOrigin, Requester
from tests.conftest import Tenant

PRICES = st.sampled_from([Decimal("0.5"), Decimal("1"), Decimal("2")])


async def reserved(database: Database, tenant: Tenant) -> tuple[Decimal, int]:
    async with database.transaction() as session:
        row = (
            await session.execute(
                text(
                    "SELECT COALESCE((SELECT reserved_credits FROM org_spend WHERE org_id = :org), 0), "
                    "(SELECT count(*) FROM provider_call_journal WHERE org_id = :org)"
                ),
                {"org": tenant.org_id},
            )
        ).one()
    return row[0], row[1]


async def send_all(journal: CallJournal, tenant: Tenant, prices: list[Decimal]) -> list[Decimal | None]:
    """Journal one request per price at once; each answers its price, or None when the budget refused it."""
    origin = CallOrigin(
        org_id=tenant.org_id,
        run_id=uuid.uuid4(),
        operation_id="person.contact.verify_email",
        entity_type="person",
        requester=Requester(role="org_admin", auth_method="api_token"),
    )

    async def send(price: Decimal) -> Decimal | None:
        try:
            await journal.before_send(
                origin, uuid.uuid4(), "millionverifier", "verify", price=price, sandbox=True, reserve=True
            )
        except BudgetRefused:
            return None
        return price

    return list(await asyncio.gather(*(send(price) for price in prices)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prices=st.lists(PRICES, min_size=1, max_size=40), budget=st.integers(min_value=0, max_value=20))
async def test_concurrent_reservations_never_exceed_the_budget(
    database: Database, tenant: Tenant, prices: list[Decimal], budget: int
) -> None:
    async with database.transaction() as session:
        await session.execute(
            text("DELETE FROM provider_call_journal WHERE org_id = :org"), {"org": tenant.org_id}
        )
        await session.execute(
            text("UPDATE orgs SET budget_credits = :budget WHERE id = :org"),
            {"budget": budget, "org": tenant.org_id},
        )
    journal = CallJournal(database)
    outcomes = await send_all(journal, tenant, prices)

    accepted = sum((price for price in outcomes if price is not None), Decimal("0"))
    assert accepted <= budget
    # Reservations only grew during the run, so a refused price does not fit what ended up reserved.
    refused = [price for price, outcome in zip(prices, outcomes, strict=True) if outcome is None]
    assert all(accepted + price > budget for price in refused)
    # Only the accepted requests are journaled, each holding its price.
    assert await reserved(database, tenant) == (accepted, sum(outcome is not None for outcome in outcomes))

    # Settling (the row leaves the journal) gives the reservations back.
    async with database.transaction() as session:
        await session.execute(
            text("DELETE FROM provider_call_journal WHERE org_id = :org"), {"org": tenant.org_id}
        )
    assert await reserved(database, tenant) == (Decimal("0"), 0)


async def test_a_submission_budget_refuses_even_when_the_org_has_room(
    database: Database, tenant: Tenant
) -> None:
    """The org's reservation is rolled back with the submission's refusal: nothing stays held."""
    submission_id = await _submission(database, tenant, budget=Decimal("1"))
    origin = CallOrigin(
        org_id=tenant.org_id,
        run_id=uuid.uuid4(),
        operation_id="person.contact.verify_email",
        entity_type="person",
        requester=Requester(role="org_admin", auth_method="pipeline", submission_id=submission_id),
    )
    journal = CallJournal(database)
    await journal.before_send(
        origin, uuid.uuid4(), "leadmagic", "x", price=Decimal("1"), sandbox=True, reserve=True
    )
    with pytest.raises(BudgetRefused):
        await journal.before_send(
            origin, uuid.uuid4(), "leadmagic", "x", price=Decimal("1"), sandbox=True, reserve=True
        )
    assert await reserved(database, tenant) == (Decimal("1"), 1)


async def _submission(database: Database, tenant: Tenant, *, budget: Decimal) -> uuid.UUID:
    async with database.transaction() as session:
        blueprint = (
            await session.execute(
                text("INSERT INTO blueprints (org_id, name) VALUES (:org, 'reserve') RETURNING id"),
                {"org": tenant.org_id},
            )
        ).scalar_one()
        return (
            await session.execute(
                text(
                    "INSERT INTO submissions (org_id, company_id, blueprint_id, input_payload, "
                    "budget_credits) VALUES (:org, :company, :blueprint, '{}', :budget) RETURNING id"
                ),
                {
                    "org": tenant.org_id,
                    "company": tenant.company_id,
                    "blueprint": blueprint,
                    "budget": budget,
                },
            )
        ).scalar_one()
