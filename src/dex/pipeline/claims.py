"""Claiming ready steps: a lease for a worker, fairly across orgs, and the claimed steps' runs marked
running in the same transaction."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dex.pipeline import repository as repo
from dex.pipeline.progress import PlanCache, Progress
from dex.pipeline.runner import ClaimedStep


async def claim(
    session: AsyncSession,
    plans: PlanCache,
    *,
    worker: str,
    lease_seconds: float,
    capacity: int,
    org_allowance: Callable[[uuid.UUID], int] | None = None,
) -> list[ClaimedStep]:
    """Claim up to ``capacity`` ready steps, shared fairly across the orgs that have ready work (each org
    gets an equal quota, capped by ``org_allowance``), and mark their runs running."""
    orgs = await repo.orgs_with_ready_steps(session)
    random.shuffle(orgs)
    claimed_rows: list[Any] = []
    remaining = capacity
    while orgs and remaining > 0:
        quota = max(1, -(-remaining // len(orgs)))
        still_ready = []
        for org_id in orgs:
            limit = min(quota, remaining, org_allowance(org_id) if org_allowance else capacity)
            if limit <= 0:
                continue
            rows = await repo.claim_steps(
                session, org_id=org_id, limit=limit, worker=worker, lease_seconds=lease_seconds
            )
            claimed_rows += rows
            remaining -= len(rows)
            if len(rows) == limit:
                still_ready.append(org_id)
        if len(still_ready) == len(orgs) or not still_ready:
            break
        orgs = still_ready
    return await _start_claimed(session, plans, claimed_rows)


async def claim_ids(
    session: AsyncSession,
    plans: PlanCache,
    *,
    worker: str,
    lease_seconds: float,
    step_ids: Sequence[uuid.UUID],
) -> list[ClaimedStep]:
    """Claim the named steps that are still ready (the steps of scale-out workers' messages), with
    the same lease, attempt and run transitions as :func:`claim`."""
    rows = await repo.claim_step_ids(session, step_ids=step_ids, worker=worker, lease_seconds=lease_seconds)
    return await _start_claimed(session, plans, rows)


async def _start_claimed(
    session: AsyncSession, plans: PlanCache, claimed_rows: list[Any]
) -> list[ClaimedStep]:
    """Mark the runs of freshly claimed step rows running and describe each step for the runner."""
    if not claimed_rows:
        return []
    runs = await repo.run_info(session, {row["pipeline_run_id"] for row in claimed_rows})
    progress = Progress(session, plans)
    for run_id in runs:
        progress.move(run_id, "running")
    await progress.flush()
    return [
        ClaimedStep(
            step_id=row["id"],
            run_id=row["pipeline_run_id"],
            org_id=row["org_id"],
            company_id=row["company_id"],
            submission_id=row["submission_id"],
            blueprint_id=runs[row["pipeline_run_id"]]["blueprint_id"],
            version_id=runs[row["pipeline_run_id"]]["blueprint_version_id"],
            version=runs[row["pipeline_run_id"]]["blueprint_version"],
            position=row["step_position"],
            attempt=row["attempt"],
            context=row["input_payload"] or {},
            run_entity_type=runs[row["pipeline_run_id"]]["entity_type"],
            depth=runs[row["pipeline_run_id"]]["depth"],
            budgeted=runs[row["pipeline_run_id"]]["budgeted"],
        )
        for row in claimed_rows
    ]
