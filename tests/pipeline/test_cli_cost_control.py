"""``dex submit`` and ``dex status`` with a budget: the estimate, the confirmation before exceeding the
budget, idempotency keys, and the honest waiting_for_budget status line."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from tests.conftest import SandboxHandle
from tests.dex_command import dex_env, run_dex
from tests.pipeline.test_cli import create_local_blueprint


async def submissions(database: Database) -> list[str]:
    async with database.transaction() as session:
        rows = await session.execute(text("SELECT status FROM submissions ORDER BY created_at"))
        return list(rows.scalars())


async def test_submit_estimates_confirms_and_waits_for_budget(
    tmp_path: Path, database: Database, database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    async with database.transaction() as session:
        org = await create_local_blueprint(session, "technologies", "company.enrich.technographics")
        # One LeadMagic call per company, 1 credit each: 5 companies against 2 credits.
        await session.execute(text("UPDATE orgs SET budget_credits = 2 WHERE id = :id"), {"id": org.id})
    companies = tmp_path / "companies.csv"
    companies.write_text("domain\n" + "".join(f"cli-budget-{i}.io\n" for i in range(5)))
    env = dex_env(settings, database_url, sandbox.url)

    estimated = await run_dex("submit", str(companies), "-b", "technologies", "--estimate", env=env)
    assert estimated.returncode == 0, estimated.stderr
    assert "estimate for 5 entities (0 cached): 5 credits expected, 5 at most; 2 credits left" in (
        estimated.stdout
    )
    assert "leadmagic" in estimated.stdout
    assert await submissions(database) == []  # an estimate submits nothing

    refused = await run_dex("submit", str(companies), "-b", "technologies", env=env)
    assert refused.returncode == 1
    assert "expected to cost 5 credits" in refused.stderr and "pass --yes" in refused.stderr
    assert await submissions(database) == []

    args = ("submit", str(companies), "-b", "technologies", "--yes", "--idempotency-key", "nightly-1")
    submitted = await run_dex(*args, env=env)
    assert submitted.returncode == 0, submitted.stderr
    lines = submitted.stdout.strip().splitlines()
    assert ": waiting_for_budget — 2 completed" in lines[-2]
    assert lines[-1] == (
        "waiting for budget: org spent 2 of 2 credits; the next call needs 1 credits "
        "(raise it: POST /api/v1/budgets/set)"
    )
    submission_id = lines[-2].split()[1].rstrip(":")

    shown = await run_dex("status", submission_id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "waiting for budget: org spent 2 of 2 credits" in shown.stdout

    # The same key with the same file answers with this submission (tests/pipeline/test_idempotency.py);
    # with another file it is refused.
    other = tmp_path / "other.csv"
    other.write_text("domain\ncli-other.io\n")
    conflict = await run_dex(
        "submit", str(other), "-b", "technologies", "--yes", "--idempotency-key", "nightly-1", env=env
    )
    assert conflict.returncode == 1
    assert "'nightly-1' was already used with a different request body" in conflict.stderr
    assert await submissions(database) == ["waiting_for_budget"]
