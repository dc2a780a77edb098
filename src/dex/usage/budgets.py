"""Budgets: the most credits an org (and optionally one submission) may spend on providers.

The limit is hard. Every priced provider request of a budgeted org or submission reserves its price on
the spend counters before it is sent, atomically and across processes (``dex.providers.journal``), and
the reservation is settled to the real cost when the request's attempt is recorded; a request whose
price does not fit is not sent. So ``spent + reserved`` never passes the budget, and what was spent never
passes it either: a call costs its price or nothing.

A step whose request was refused is parked as ``budget_exhausted`` with what it recorded so far (paid
answers are in the enrichment cache, so running it again does not pay twice), its run stays running, and
nothing is lost. Before it runs a paid operation, the runner also asks :func:`exhausted_budget` whether
its cheapest paid call still fits, so a spent budget parks steps without running them at all. Parked
steps go back to the queue, through the state machine, as soon as their cheapest call fits again: when a
budget is raised or removed, or when reservations are settled for less than they held.

Only steps whose org or submission has a budget pay for this: the claim that hands a step to a worker
says whether one exists (``ClaimedStep.budgeted``), so unbudgeted work — most of it — spends no query on
budgets. A budget set on an org or submission applies to the steps claimed after it, not to those
already in flight.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.errors import Forbidden, NotFound
from dex.operations.registry import OperationSpec
from dex.providers.catalog import PROVIDERS, price_of
from dex.tenancy.context import AuthContext


@dataclass(frozen=True)
class Exhausted:
    """The budget a step would exceed."""

    scope: str  # org | submission
    budget_credits: Decimal
    spent_credits: Decimal
    # Prices held by calls in flight.
    reserved_credits: Decimal
    # What the parked step's cheapest next call costs.
    next_call_credits: Decimal

    @property
    def message(self) -> str:
        return (
            f"{self.scope} budget exhausted: {self.spent_credits:f} of {self.budget_credits:f} credits spent"
            f" ({self.reserved_credits:f} reserved); the next call needs {self.next_call_credits:f}"
        )

    def details(self) -> dict[str, Any]:
        return {
            "budget_scope": self.scope,
            "budget_credits": float(self.budget_credits),
            "spent_credits": float(self.spent_credits),
            "reserved_credits": float(self.reserved_credits),
            "next_call_credits": float(self.next_call_credits),
        }


@cache
def cheapest_paid_call(operation_id: str, providers: tuple[str, ...]) -> Decimal | None:
    """The least a paid call of the operation costs; None when none of its providers charges (free)."""
    prices = [
        price
        for provider in providers
        for action in PROVIDERS[provider].prices
        if (price := price_of(provider, action)) > 0
    ]
    return min(prices) if prices else None


def next_call_cost(spec: OperationSpec) -> Decimal | None:
    return cheapest_paid_call(spec.operation_id, spec.providers)


SPEND_AND_BUDGETS = text(
    """
    SELECT o.budget_credits AS org_budget, COALESCE(os.spent_credits, 0) AS org_spent,
           COALESCE(os.reserved_credits, 0) AS org_reserved,
           s.budget_credits AS submission_budget, COALESCE(ss.spent_credits, 0) AS submission_spent,
           COALESCE(ss.reserved_credits, 0) AS submission_reserved
    FROM submissions s
    JOIN orgs o ON o.id = s.org_id
    LEFT JOIN org_spend os ON os.org_id = s.org_id
    LEFT JOIN submission_spend ss ON ss.submission_id = s.id
    WHERE s.id = :submission_id
    """
)


async def exhausted_budget(
    session: AsyncSession, submission_id: uuid.UUID, next_cost: Decimal
) -> Exhausted | None:
    """The org's or the submission's budget that spending ``next_cost`` more (on top of what was spent and
    what calls in flight reserved) would exceed, if any."""
    row = (await session.execute(SPEND_AND_BUDGETS, {"submission_id": submission_id})).mappings().first()
    if row is None:
        return None
    for scope in ("org", "submission"):
        budget, spent, reserved = row[f"{scope}_budget"], row[f"{scope}_spent"], row[f"{scope}_reserved"]
        if budget is not None and spent + reserved + next_cost > budget:
            return Exhausted(scope, budget, spent, reserved, next_cost)
    return None


async def budget_refusal(
    session: AsyncSession, submission_id: uuid.UUID, refused_price: Decimal
) -> Exhausted:
    """Why a request of ``refused_price`` was refused: the budget it did not fit (the org's when the
    reservations that crowded it out have been settled since)."""
    found = await exhausted_budget(session, submission_id, refused_price)
    if found is not None:
        return found
    row = (await session.execute(SPEND_AND_BUDGETS, {"submission_id": submission_id})).mappings().one()
    scope = "org" if row["org_budget"] is not None else "submission"
    return Exhausted(
        scope,
        row[f"{scope}_budget"] or Decimal("0"),
        row[f"{scope}_spent"],
        row[f"{scope}_reserved"],
        refused_price,
    )


NEEDS = text(
    """
    SELECT o.budget_credits AS org_budget, COALESCE(os.spent_credits, 0) AS org_spent,
           COALESCE(os.reserved_credits, 0) AS org_reserved,
           s.budget_credits AS submission_budget, COALESCE(ss.spent_credits, 0) AS submission_spent,
           COALESCE(ss.reserved_credits, 0) AS submission_reserved,
           (SELECT min(CAST(st.error_details->>'next_call_credits' AS numeric)) FROM step_results st
            WHERE st.status = 'budget_exhausted' AND st.org_id = s.org_id AND st.submission_id = s.id)
               AS next_call
    FROM submissions s
    JOIN orgs o ON o.id = s.org_id
    LEFT JOIN org_spend os ON os.org_id = s.org_id
    LEFT JOIN submission_spend ss ON ss.submission_id = s.id
    WHERE s.id = :id
    """
)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def budget_needs(session: AsyncSession, submission_id: uuid.UUID) -> dict[str, Any]:
    """What a waiting submission needs: the credits spent (and held by calls in flight) against the org's
    and the submission's budgets, and the price of the cheapest call a parked step waits to make."""
    row = (await session.execute(NEEDS, {"id": submission_id})).mappings().one()
    return {
        "org": {
            "budget_credits": _number(row["org_budget"]),
            "spent_credits": _number(row["org_spent"]),
            "reserved_credits": _number(row["org_reserved"]),
        },
        "submission": {
            "budget_credits": _number(row["submission_budget"]),
            "spent_credits": _number(row["submission_spent"]),
            "reserved_credits": _number(row["submission_reserved"]),
        },
        "next_call_credits": _number(row["next_call"]),
    }


async def parked_steps(
    session: AsyncSession, org_id: uuid.UUID, submission_id: uuid.UUID | None = None
) -> int:
    """Steps waiting for budget (an index of only parked steps answers this)."""
    query = "SELECT count(*) FROM step_results WHERE status = 'budget_exhausted' AND org_id = :org_id"
    params: dict[str, Any] = {"org_id": org_id}
    if submission_id:
        query += " AND submission_id = :submission_id"
        params["submission_id"] = submission_id
    return int(await session.scalar(text(query), params) or 0)


def _require_org_admin(scope: AuthContext) -> None:
    if not scope.is_org_admin:
        raise Forbidden("org_admin role required to manage budgets")


def _limit(budget: Decimal | None, spent: Decimal) -> dict[str, Any]:
    return {
        "budget_credits": budget,
        "spent_credits": spent,
        "remaining_credits": None if budget is None else max(Decimal("0"), budget - spent),
    }


async def _submission_in_org(session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID) -> None:
    found = await session.scalar(
        text("SELECT 1 FROM submissions WHERE id = :id AND org_id = :org"),
        {"id": submission_id, "org": scope.org_id},
    )
    if found is None:
        raise NotFound("Submission not found")


async def budget_view(
    session: AsyncSession, scope: AuthContext, submission_id: uuid.UUID | None = None
) -> dict[str, Any]:
    _require_org_admin(scope)
    if submission_id is not None:
        await _submission_in_org(session, scope, submission_id)
    org = (
        await session.execute(
            text(
                "SELECT o.budget_credits, COALESCE(os.spent_credits, 0) AS spent FROM orgs o "
                "LEFT JOIN org_spend os ON os.org_id = o.id WHERE o.id = :org"
            ),
            {"org": scope.org_id},
        )
    ).one_or_none()
    if org is None:
        # Only a super-admin can name an org that does not exist (a tenant's own org always does).
        raise NotFound("Org not found")
    view: dict[str, Any] = {
        "org_id": scope.org_id,
        "org": _limit(org.budget_credits, org.spent),
        "submission_id": submission_id,
        "submission": None,
        "parked_steps": await parked_steps(session, scope.org_id, submission_id),
    }
    if submission_id is not None:
        submission = (
            await session.execute(
                text(
                    "SELECT s.budget_credits, COALESCE(ss.spent_credits, 0) AS spent FROM submissions s "
                    "LEFT JOIN submission_spend ss ON ss.submission_id = s.id WHERE s.id = :id"
                ),
                {"id": submission_id},
            )
        ).one()
        view["submission"] = _limit(submission.budget_credits, submission.spent)
    return view


async def set_budget(
    session: AsyncSession,
    scope: AuthContext,
    *,
    budget_credits: Decimal | None,
    submission_id: uuid.UUID | None = None,
) -> None:
    """Set (null: remove) the org's budget, or one submission's. The parked steps that now fit are the
    pipeline's to resume (``pipeline.service.requeue_parked``)."""
    _require_org_admin(scope)
    if submission_id is None:
        await session.execute(
            text("UPDATE orgs SET budget_credits = :budget WHERE id = :org"),
            {"budget": budget_credits, "org": scope.org_id},
        )
    else:
        await _submission_in_org(session, scope, submission_id)
        await session.execute(
            text("UPDATE submissions SET budget_credits = :budget WHERE id = :id"),
            {"budget": budget_credits, "id": submission_id},
        )
