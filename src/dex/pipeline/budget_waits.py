"""Submissions waiting for budget: their status, and what they need to go on.

A submission whose every unfinished step is parked for budget is ``waiting_for_budget`` — not
``running``, which would say work is moving. The transactions that park or resume steps of budgeted
submissions (recording outcomes, raising a budget) call :func:`settle` after their step changes: it
resumes the parked steps that fit again, then moves each submission between ``running`` and
``waiting_for_budget`` through the state machine and announces the change (webhooks, live progress).

Each submission row is locked before its steps are looked at, and the look is a fresh statement, so of
two transactions changing one submission's steps at once the second to lock sees the first's steps.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dex.pipeline import live, states
from dex.usage.budgets import budget_needs, requeue_parked
from dex.webhooks import outbox as webhook_outbox

LOCK_SUBMISSIONS = text("SELECT id FROM submissions WHERE id = ANY(:ids) ORDER BY id FOR UPDATE")

REFLECT_WAITS = text(
    """
    UPDATE submissions s SET status = v.target
    FROM (
        SELECT w.id,
               CASE WHEN EXISTS (SELECT 1 FROM step_results st
                                 WHERE st.status = 'budget_exhausted' AND st.org_id = w.org_id
                                   AND st.submission_id = w.id)
                     AND NOT EXISTS (SELECT 1 FROM step_results st
                                     WHERE st.submission_id = w.id
                                       AND st.status IN ('queued', 'running', 'retrying'))
                    THEN 'waiting_for_budget' ELSE 'running' END AS target
        -- Only the wait is decided here; every other status follows the runs (repository.bump_counters).
        FROM submissions w WHERE w.id = ANY(:ids) AND w.status IN ('running', 'waiting_for_budget')
    ) v
    WHERE s.id = v.id AND s.status <> v.target
      AND ((v.target = 'waiting_for_budget' AND s.status = ANY(:to_waiting))
           OR (v.target = 'running' AND s.status = ANY(:to_running)))
    RETURNING s.id, s.status, s.org_id, s.company_id, s.blueprint_id, s.runs_total, s.runs_running,
              s.runs_succeeded, s.runs_failed, s.runs_canceled
    """
)


async def reflect(session: AsyncSession, submission_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Move the named submissions between running and waiting_for_budget as their steps say; returns the
    changes, each with what a waiting submission needs."""
    ids = sorted(set(submission_ids))
    if not ids:
        return []
    await session.execute(LOCK_SUBMISSIONS, {"ids": ids})
    rows = await session.execute(
        REFLECT_WAITS,
        {
            "ids": ids,
            "to_waiting": list(states.sources("submission", "waiting_for_budget")),
            "to_running": list(states.sources("submission", "running")),
        },
    )
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
        await webhook_outbox.enqueue(session, runs=(), submissions=changes)
        await live.publish(session, runs=(), steps=(), submissions=changes)
    return changes


WAITING_IN_ORGS = text(
    "SELECT id FROM submissions WHERE org_id = ANY(:orgs) AND status = 'waiting_for_budget'"
)


async def settle(
    session: AsyncSession, org_ids: Iterable[uuid.UUID], submission_ids: Iterable[uuid.UUID] = ()
) -> list[dict[str, Any]]:
    """After budgets or the steps of budgeted submissions changed: resume the orgs' parked steps whose
    next call fits again, then reflect in their status whether the named submissions, and those of the
    orgs already waiting, still wait."""
    orgs = sorted(set(org_ids))
    for org_id in orgs:
        await requeue_parked(session, org_id)
    waiting = (await session.execute(WAITING_IN_ORGS, {"orgs": orgs})).scalars()
    return await reflect(session, [*submission_ids, *waiting])
