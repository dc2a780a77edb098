"""Submissions waiting for budget: their status, and what they need to go on.

A submission whose every unfinished step is parked for budget is ``waiting_for_budget`` — not
``running``, which would say work is moving. The transactions that park or resume steps of budgeted
submissions (recording outcomes, raising a budget) call :func:`settle` or :func:`reflect_org` after their
step changes: parked steps that fit again are resumed, then each submission moves between ``running`` and
``waiting_for_budget`` through the state machine (``states.REFLECT_BUDGET_WAITS``), and the change is
announced (webhooks, live progress).

Each submission row is locked before its steps are looked at, and the look is a fresh statement, so of
two transactions changing one submission's steps at once the second to lock sees the first's steps.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.db.queries import rowcount
from dex.pipeline import live, states
from dex.pipeline import repository as repo
from dex.usage.budgets import budget_needs

WAITING_IN_ORGS = text(
    "SELECT id FROM submissions WHERE org_id = ANY(:orgs) AND status = 'waiting_for_budget'"
)


async def reflect(session: AsyncSession, submission_ids: Iterable[uuid.UUID]) -> list[dict[str, Any]]:
    """Move the named submissions between running and waiting_for_budget as their steps say; returns the
    changes, each with what a waiting submission needs."""
    ids = sorted(set(submission_ids))
    if not ids:
        return []
    await session.execute(states.LOCK_SUBMISSIONS, {"ids": ids})
    rows = await session.execute(states.REFLECT_BUDGET_WAITS, {"ids": ids})
    changes = []
    for row in rows.mappings():
        change = {
            "id": row["id"],
            "status": row["status"],
            "org_id": row["org_id"],
            "company_id": row["company_id"],
            "blueprint_id": row["blueprint_id"],
            "counters": states.RunCounters(
                row["runs_total"],
                row["runs_running"],
                row["runs_succeeded"],
                row["runs_failed"],
                row["runs_canceled"],
            ),
        }
        if row["status"] == "waiting_for_budget":
            change["budget"] = await budget_needs(session, row["id"])
        changes.append(change)
    if changes:
        await live.announce(session, runs=(), steps=(), submissions=changes)
    return changes


async def reflect_org(session: AsyncSession, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """After steps of the org were resumed: its waiting submissions whose steps can move run again."""
    waiting = (await session.execute(WAITING_IN_ORGS, {"orgs": [org_id]})).scalars()
    return await reflect(session, waiting)


async def settle(
    session: AsyncSession, org_ids: Iterable[uuid.UUID], submission_ids: Iterable[uuid.UUID] = ()
) -> list[dict[str, Any]]:
    """After steps of budgeted submissions changed: resume the orgs' parked steps whose next call fits
    again (settled reservations may have made room), then reflect in their status whether the named
    submissions, and those of the orgs already waiting, still wait."""
    orgs = sorted(set(org_ids))
    requeued = 0
    for org_id in orgs:
        requeued += rowcount(
            await session.execute(states.REQUEUE_PARKED, {"org_id": org_id, "submission_id": None})
        )
    if requeued:
        await repo.notify_ready(session)
    waiting = (await session.execute(WAITING_IN_ORGS, {"orgs": orgs})).scalars()
    return await reflect(session, [*submission_ids, *waiting])
