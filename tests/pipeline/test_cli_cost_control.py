"""``dex submit`` and ``dex status`` with a budget: the estimate, the confirmation before exceeding the
budget, idempotency keys, and the honest waiting_for_budget status line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from dex.blueprints import service as blueprints
from dex.blueprints.schemas import BlueprintCreate
from dex.config import Settings
from dex.db.engine import Database
from dex.local import LOCAL_COMPANY, LOCAL_ORG_SLUG
from dex.tenancy.auth import API_KEY_SUPER_ADMIN, tenant_scope
from dex.tenancy.service import ensure_org_and_company
from tests.conftest import SandboxHandle
from tests.pipeline.test_cli import dex_env


async def dex(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``dex`` with no terminal on stdin, as in a script or CI."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "dex.cli", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def submissions(database: Database) -> list[str]:
    async with database.transaction() as session:
        rows = await session.execute(text("SELECT status FROM submissions ORDER BY created_at"))
        return list(rows.scalars())


async def test_submit_estimates_confirms_and_waits_for_budget(
    tmp_path: Path, database: Database, database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    async with database.transaction() as session:
        org, _ = await ensure_org_and_company(
            session,
            API_KEY_SUPER_ADMIN,
            org_name="Local",
            org_slug=LOCAL_ORG_SLUG,
            company_name=LOCAL_COMPANY,
        )
        await blueprints.create(
            session,
            tenant_scope(API_KEY_SUPER_ADMIN, org_id=org.id),
            BlueprintCreate(
                name="technologies",
                steps=[{"position": 1, "operation_id": "company.enrich.technographics"}],
            ),
        )
        # One LeadMagic call per company, 1 credit each: 5 companies against 2 credits.
        await session.execute(text("UPDATE orgs SET budget_credits = 2 WHERE id = :id"), {"id": org.id})
    companies = tmp_path / "companies.csv"
    companies.write_text("domain\n" + "".join(f"cli-budget-{i}.io\n" for i in range(5)))
    env = dex_env(settings, database_url, sandbox.url)

    estimated = await dex("submit", str(companies), "-b", "technologies", "--estimate", env=env)
    assert estimated.returncode == 0, estimated.stderr
    assert "estimate for 5 entities (0 cached): 5 credits expected, 5 at most; 2 credits left" in (
        estimated.stdout
    )
    assert "leadmagic" in estimated.stdout
    assert await submissions(database) == []  # an estimate submits nothing

    refused = await dex("submit", str(companies), "-b", "technologies", env=env)
    assert refused.returncode == 1
    assert "expected to cost 5 credits" in refused.stderr and "pass --yes" in refused.stderr
    assert await submissions(database) == []

    args = ("submit", str(companies), "-b", "technologies", "--yes", "--idempotency-key", "nightly-1")
    submitted = await dex(*args, env=env)
    assert submitted.returncode == 0, submitted.stderr
    lines = submitted.stdout.strip().splitlines()
    assert ": waiting_for_budget — 2 completed" in lines[-2]
    assert lines[-1] == (
        "waiting for budget: org spent 2 of 2 credits; the next call needs 1 credits "
        "(raise it: POST /api/v1/budgets/set)"
    )
    submission_id = lines[-2].split()[1].rstrip(":")

    shown = await dex("status", submission_id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "waiting for budget: org spent 2 of 2 credits" in shown.stdout

    # The same key with the same file answers with this submission (tests/pipeline/test_idempotency.py);
    # with another file it is refused.
    other = tmp_path / "other.csv"
    other.write_text("domain\ncli-other.io\n")
    conflict = await dex(
        "submit", str(other), "-b", "technologies", "--yes", "--idempotency-key", "nightly-1", env=env
    )
    assert conflict.returncode == 1
    assert "'nightly-1' was already used with a different request body" in conflict.stderr
    assert await submissions(database) == ["waiting_for_budget"]
