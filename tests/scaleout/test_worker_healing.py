"""A worker killed while it holds steps: the other worker runs them soon after, long before their leases
(``LEASE_SECONDS``) would have run out."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import text

from dex.db.engine import Database
from tests.conftest import PipelineHarness, SandboxHandle
from tests.pipeline import test_batch_e2e as scenarios
from tests.scaleout.conftest import LEASE_SECONDS, WorkerProcess

pytestmark = pytest.mark.xdist_group("scaleout")

PEOPLE = 40
# Generous for a loaded machine, yet far below the lease: only the dead worker's heartbeat (or its pid,
# on this host) can bring its steps back this soon.
HEAL_BOUND_SECONDS = 120
assert HEAL_BOUND_SECONDS < LEASE_SECONDS


async def running_steps_of(database: Database, pid: int) -> list[uuid.UUID]:
    async with database.transaction() as session:
        rows = await session.execute(
            text("SELECT id FROM step_results WHERE status = 'running' AND claimed_by LIKE :worker"),
            {"worker": f"%:{pid}:%"},
        )
        return list(rows.scalars())


async def claimed_again_by(database: Database, step_ids: list[uuid.UUID], pid: int) -> bool:
    """Whether every step was claimed again (a new attempt) by the worker with ``pid``."""
    async with database.transaction() as session:
        rows = (
            await session.execute(
                text("SELECT attempt, claimed_by FROM step_results WHERE id = ANY(:ids)"), {"ids": step_ids}
            )
        ).all()
    return all(row.attempt >= 2 and f":{pid}:" in (row.claimed_by or "") for row in rows)


async def test_a_killed_workers_steps_are_claimed_by_the_other_worker(
    pipeline: PipelineHarness, workers: list[WorkerProcess], sandbox: SandboxHandle, database: Database
) -> None:
    # Slow answers, so the workers hold steps for a while.
    sandbox.configure(latency_ms=400, latency_jitter_ms=100)
    blueprint = await pipeline.blueprint("verify", [scenarios.VERIFY], entity_type="person")
    emails = [{"email": f"h{i}@heal.io"} for i in range(PEOPLE)]
    submission = await pipeline.submit(blueprint, emails, "person")
    victim, survivor = workers
    held: list[uuid.UUID] = []
    deadline = time.monotonic() + 60
    while not held:
        assert time.monotonic() < deadline, "the worker never held a step"
        held = await running_steps_of(database, victim.process.pid)
        await asyncio.sleep(0.02)
    victim.kill()
    killed_at = time.monotonic()

    while not await claimed_again_by(database, held, survivor.process.pid):
        assert time.monotonic() - killed_at < HEAL_BOUND_SECONDS, "the dead worker's steps did not come back"
        await asyncio.sleep(0.05)
    print(f"{len(held)} steps of the killed worker claimed again after {time.monotonic() - killed_at:.2f} s")

    await pipeline.run_until_idle(timeout=120)
    status = await pipeline.status(submission)
    assert status["submission"]["status"] == "completed"
    assert status["summary"]["completed"] == PEOPLE
