"""A batch survives its executor being SIGKILLed mid-flight, again and again.

The batch runs in a ``dex serve`` subprocess against the test database and the test's sandbox; the test
kills it at random moments, restarts it, and finally checks: every run terminal, every step recorded as
done exactly once, and entity tables identical to an uninterrupted run of the same input."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time

from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from tests.conftest import PipelineHarness, SandboxHandle, create_tenant
from tests.pipeline.test_batch_e2e import DEMO_STEPS

COMPANIES = [{"domain": f"crash-{i:03d}.io"} for i in range(24)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_dex(settings: Settings, database_url: str, sandbox_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": settings.jwt_secret or "",
        "SUPER_ADMIN_JWT_SECRET": settings.super_admin_jwt_secret or "",
        "DEX_PROVIDER_MODE": "sandbox",
        "DEX_SANDBOX_URL": sandbox_url,
        # A killed dex's steps come back through its dead process (heartbeats), not its lease: a short
        # lease would expire under a loaded machine's stalls and run live steps twice.
        "DEX_EXECUTOR_LEASE_SECONDS": "600",
        "DEX_EXECUTOR_CONCURRENCY": "40",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "dex.cli", "serve", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def submission_status(database: Database, submission_id: str) -> str:
    async with database.transaction() as session:
        return (
            await session.execute(
                text("SELECT status FROM submissions WHERE id = :id"), {"id": submission_id}
            )
        ).scalar_one()


async def outcome_rows(database: Database, org_id: object) -> tuple[list, list]:
    async with database.transaction() as session:
        companies = (
            await session.execute(
                text(
                    "SELECT canonical_domain, canonical_name, industry, employee_count FROM company_entities "
                    "WHERE org_id = :org ORDER BY 1"
                ),
                {"org": org_id},
            )
        ).all()
        people = (
            await session.execute(
                text(
                    "SELECT linkedin_url, work_email, full_name, email_status FROM person_entities "
                    "WHERE org_id = :org ORDER BY 1"
                ),
                {"org": org_id},
            )
        ).all()
    return companies, people


async def test_sigkill_mid_batch_loses_nothing(
    pipeline: PipelineHarness,
    database: Database,
    database_url: str,
    sandbox: SandboxHandle,
    settings: Settings,
) -> None:
    sandbox.configure(latency_ms=20, latency_jitter_ms=10)
    rng = random.Random(7)
    # The reference run, uninterrupted, in this process.
    blueprint = await pipeline.blueprint("people", DEMO_STEPS)
    reference = await pipeline.submit(blueprint, COMPANIES)
    await pipeline.run_until_idle(timeout=120)
    assert await submission_status(database, reference) == "completed"
    await pipeline.executor.stop()

    # The same batch for another org, run by a subprocess that keeps getting killed.
    crash_tenant = await create_tenant(database, "crash")
    crashing = PipelineHarness(pipeline.client, pipeline.executor, crash_tenant)
    crash_blueprint = await crashing.blueprint("people", DEMO_STEPS)
    submission = await crashing.submit(crash_blueprint, COMPANIES)
    kills = 0
    for _ in range(3):
        process = start_dex(settings, database_url, sandbox.url)
        await asyncio.sleep(rng.uniform(1.5, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        if await submission_status(database, submission) in ("completed", "failed"):
            break
    process = start_dex(settings, database_url, sandbox.url)
    try:
        deadline = time.monotonic() + 120
        while await submission_status(database, submission) not in ("completed", "failed", "canceled"):
            assert time.monotonic() < deadline, "the batch did not finish after the restarts"
            await asyncio.sleep(0.25)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert kills >= 1
    assert await submission_status(database, submission) == "completed"

    async with database.transaction() as session:
        unfinished = (
            await session.execute(
                text(
                    "SELECT count(*) FROM pipeline_runs WHERE submission_id = :id "
                    "AND status NOT IN ('succeeded', 'failed', 'canceled')"
                ),
                {"id": submission},
            )
        ).scalar_one()
        pending_steps = (
            await session.execute(
                text(
                    "SELECT count(*) FROM step_results WHERE submission_id = :id "
                    "AND status IN ('queued', 'running', 'retrying')"
                ),
                {"id": submission},
            )
        ).scalar_one()
        recorded_twice = (
            await session.execute(
                text(
                    "SELECT count(*) FROM (SELECT step_result_id FROM operation_runs "
                    "WHERE submission_id = :id AND status <> 'failed' "
                    "GROUP BY step_result_id HAVING count(*) > 1) twice"
                ),
                {"id": submission},
            )
        ).scalar_one()
    assert (unfinished, pending_steps, recorded_twice) == (0, 0, 0)
    assert await outcome_rows(database, crash_tenant.org_id) == await outcome_rows(
        database, pipeline.tenant.org_id
    )
