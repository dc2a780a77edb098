"""``dex submit``, ``dex status`` and ``dex demo`` as an operator runs them, in local mode on the test
database and the test sandbox."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints import service as blueprints
from dex.blueprints.schemas import BlueprintCreate
from dex.config import Settings
from dex.db.engine import Database
from dex.local import ensure_local_tenant
from dex.tenancy.auth import API_KEY_SUPER_ADMIN, tenant_scope
from dex.tenancy.models import Org
from tests.conftest import SandboxHandle
from tests.dex_command import dex_env, run_dex


async def create_local_blueprint(session: AsyncSession, name: str, operation_id: str) -> Org:
    """The org of local mode (created on first use) with a one-step blueprint ``name``."""
    org, _ = await ensure_local_tenant(session)
    await blueprints.create(
        session,
        tenant_scope(API_KEY_SUPER_ADMIN, org_id=org.id),
        BlueprintCreate(name=name, steps=[{"position": 1, "operation_id": operation_id}]),
    )
    return org


async def test_submit_follows_the_batch_and_status_shows_it(
    tmp_path: Path, database: Database, database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    async with database.transaction() as session:
        await create_local_blueprint(session, "profiles", "company.enrich.profile")
    csv_file = tmp_path / "companies.csv"
    csv_file.write_bytes(
        "\ufeffCompany Domain;Company\nacme.io;Acme\n;\nglobex.com;Globex\nacme.io;Acme\n".encode()
    )
    env = dex_env(settings, database_url, sandbox.url)

    submitted = await run_dex("submit", str(csv_file), "--blueprint", "profiles", env=env)
    assert submitted.returncode == 0, submitted.stderr
    assert "submitted 2 entities" in submitted.stdout
    summary = submitted.stdout.strip().splitlines()[-1]
    assert ": completed — 2 completed, 0 failed" in summary
    submission_id = summary.split()[1].rstrip(":")

    shown = await run_dex("status", submission_id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "acme.io" in shown.stdout and "globex.com" in shown.stdout

    unknown = await run_dex("submit", str(csv_file), "--blueprint", "nope", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "dex: no blueprint named 'nope'"


async def test_demo_enriches_the_example_companies(
    database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    result = await run_dex("demo", "--exit", env=dex_env(settings, database_url, sandbox.url))
    assert result.returncode == 0, result.stderr
    assert "Enriched people" in result.stdout
    assert ": completed —" in result.stdout
    assert "@stripe.com" in result.stdout
