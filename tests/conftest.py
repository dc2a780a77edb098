"""Shared fixtures: one PostgreSQL server per test session (the embedded one, or DATABASE_URL's), one
database per xdist worker cloned from a migrated template, and every table emptied before each test."""

# ruff: noqa: E402 — the terminal size leaves the environment before dex is imported (below)
from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

# A terminal size in the environment (xdist's workers inherit COLUMNS=80) would fix the width of the
# consoles dex's commands create at import; the commands tests/dex_command.py runs each bring their own.
# Taken out before anything imports dex (hence the imports below it): conftests of the directories named on
# the command line (``pytest tests/scaleout``) are imported before any configure hook runs.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

from dex.api.app import create_app, runner_deps
from dex.config import Settings
from dex.db.engine import Database
from dex.pipeline.executor import Executor, ExecutorConfig
from dex.providers.catalog import PROVIDERS
from dex.providers.http import ProviderLimits
from dex.providers.runtime import ProviderRuntime
from dex.runtime import sandbox_endpoint
from dex.sandbox.app import create_sandbox_app
from dex.sandbox.state import ProviderBehaviour, SandboxConfig, SandboxState
from dex.server import serve_in_background
from dex.tables import Base
from dex.tenancy.tokens import hash_api_token
from dex.testing import create_test_database, drop_test_database, test_database_name

# Property tests try the same examples on every run, so a run's outcome never depends on chance and a
# failure reproduces as is; HYPOTHESIS_PROFILE=explore searches new examples (run it when changing a rule).
hypothesis.settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis.settings.register_profile("explore")
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_STATE_DIR = REPO_ROOT / ".dex" / "test"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Temporary directories of this checkout's runs only. pytest's default (``/tmp/pytest-of-USER``) is
    shared by every session on the machine, and each prunes the others' older directories — a test of
    another checkout running meanwhile could lose its files. xdist workers get theirs from the controller."""
    if config.option.basetemp is None:
        checkout = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
        config.option.basetemp = str(Path(tempfile.gettempdir()) / f"dex-tests-{checkout}")


# The files of tests that take tens of seconds each, which the xdist workers start with: the workers then
# finish together, instead of one idling while the other runs a long test it was handed last (the README
# test is collected among the last files).
LONG_TESTS = (
    "tests/chaos/test_chaos.py",
    "tests/test_readme.py",
    "tests/pipeline/test_crash_spend.py",
    "tests/chaos/test_api_fuzz.py",
    "tests/scaleout/",
    "tests/console/test_pages_browser.py",
    "tests/tenancy/test_isolation_matrix.py",
)


# After xdist's own hook, which marks each grouped test's id with its group.
@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_TESTS))
    # Set in xdist's workers only (a run without -n has no groups to keep).
    if getattr(config.option, "loadgroup", False):
        # A group spread over workers still passes, slowly (each worker boots the brokers and the fuzzing
        # world again): a pytest that xdist cannot mark (9.2 with xdist 3.8) is refused instead.
        for item in items:
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
                raise pytest.UsageError(
                    f"pytest-xdist did not group {item.nodeid}: its xdist_group is ignored"
                )


@pytest.fixture(scope="session", autouse=True)
def no_saved_login(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`dex` subprocesses never drive the server of the developer's own `dex login` or DEX_API_* variables:
    they inherit an empty configuration directory instead."""
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg_config"))
    for name in ("DEX_API_URL", "DEX_API_TOKEN"):
        os.environ.pop(name, None)


async def scalar(database: Database, sql: str, **params: object) -> Any:
    """One value a test reads from the database, in a transaction of its own."""
    async with database.transaction() as session:
        return (await session.execute(text(sql), params)).scalar_one()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = test_database_name(os.environ.get("PYTEST_XDIST_WORKER", "main"))
    yield create_test_database(TEST_STATE_DIR, name)
    drop_test_database(TEST_STATE_DIR, name)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        dex_home=tmp_path_factory.mktemp("dex_home"),
        database_url=database_url,
        jwt_secret="test-jwt-secret-0123456789abcdef0123",
        super_admin_jwt_secret="test-super-admin-secret-0123456789abcd",
        super_admin_api_key="test-super-admin-api-key",
        internal_api_key="test-internal-api-key",
    )


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=10)
    yield db
    await db.dispose()


# Only the tables a test wrote to are emptied: truncating all of them costs ~20 ms a test, finding the
# ones with a row well under one.
NON_EMPTY_TABLES = text(
    " UNION ALL ".join(
        f"(SELECT '{table.name}' FROM {table.name} LIMIT 1)" for table in Base.metadata.sorted_tables
    )
)


@pytest.fixture(autouse=True)
async def clean_database(request: pytest.FixtureRequest) -> None:
    """Every test starts from empty tables (cheaper than a database per test, and tests can commit)."""
    if "database" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("database")
    # A scale-out worker of the previous test may still be finishing a write: a deadlock is retried.
    for attempt in range(5):
        try:
            async with db.engine.begin() as conn:
                if written := (await conn.execute(NON_EMPTY_TABLES)).scalars().all():
                    await conn.execute(text(f"TRUNCATE {', '.join(written)} RESTART IDENTITY CASCADE"))
            return
        except DBAPIError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.5)


@pytest.fixture
async def client(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(sandbox_settings, database=database, providers=providers, run_executor=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        yield http


# --- providers and the sandbox -------------------------------------------------------------------------

# Short backoffs so fault tests stay fast; behaviour is the same as production's. The timeout is long: on
# a loaded machine an answered request must never turn into a timeout (the timeout tests use their own).
TEST_PROVIDER_LIMITS = ProviderLimits(
    timeout_seconds=10.0,
    max_retries=2,
    concurrency=32,
    backoff_base_seconds=0.01,
    backoff_cap_seconds=0.05,
    retry_after_cap_seconds=0.2,
)
SANDBOX_TEST_CONFIG = SandboxConfig(
    default=ProviderBehaviour(hit_rate=1.0, hang_seconds=1.5, retry_after_seconds=0.05)
)


@dataclass
class SandboxHandle:
    url: str
    state: SandboxState

    def configure(self, **behaviour: object) -> None:
        """Give every provider this behaviour (on top of the test defaults); clears ledger and faults."""
        base = SANDBOX_TEST_CONFIG.default.model_dump()
        self.state.configure(SandboxConfig(default=ProviderBehaviour(**{**base, **behaviour})))

    def set_hit_rates(self, **rates: float) -> None:
        """Give the named providers these hit rates (the others keep the test default of 1.0); clears the
        ledger and faults."""
        self.set_providers(**{name: {"hit_rate": rate} for name, rate in rates.items()})

    def set_providers(self, **behaviours: dict[str, Any]) -> None:
        """Give the named providers these behaviour fields on top of the test defaults; clears the ledger
        and faults."""
        default = SANDBOX_TEST_CONFIG.default
        providers = {name: default.model_copy(update=fields) for name, fields in behaviours.items()}
        self.state.configure(SandboxConfig(default=default, providers=providers))


@pytest.fixture(scope="session")
async def sandbox_server() -> AsyncIterator[SandboxHandle]:
    app = create_sandbox_app(SANDBOX_TEST_CONFIG)
    async with serve_in_background(app) as url:
        yield SandboxHandle(url, app.state.sandbox)


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    sandbox_server.state.configure(SANDBOX_TEST_CONFIG)
    return sandbox_server


@pytest.fixture
def sandbox_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"dex_provider_mode": "sandbox"})


@pytest.fixture
async def providers(
    sandbox_settings: Settings, database: Database, sandbox: SandboxHandle
) -> AsyncIterator[ProviderRuntime]:
    runtime = ProviderRuntime(
        sandbox_settings,
        database,
        sandbox=sandbox_endpoint(sandbox.url),
        limits=dict.fromkeys(PROVIDERS, TEST_PROVIDER_LIMITS),
    )
    yield runtime
    await runtime.close()


# --- tenants -------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    org_id: uuid.UUID
    company_id: uuid.UUID
    user_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def add_user_with_token(
    session: AsyncSession, org_id: uuid.UUID, company_id: uuid.UUID, role: str, email: str, token: str
) -> uuid.UUID:
    """A user of ``role`` in ``company_id`` whose API token is ``token``; returns the user id."""
    user_id = (
        await session.execute(
            text(
                "INSERT INTO users (org_id, company_id, email, role) "
                "VALUES (:org, :company, :email, :role) RETURNING id"
            ),
            {"org": org_id, "company": company_id, "email": email, "role": role},
        )
    ).scalar_one()
    await session.execute(
        text(
            "INSERT INTO api_tokens (org_id, company_id, user_id, name, token_hash, role) "
            "VALUES (:org, :company, :user, 'test', :hash, :role)"
        ),
        {"org": org_id, "company": company_id, "user": user_id, "hash": hash_api_token(token), "role": role},
    )
    return user_id


async def create_tenant(database: Database, slug: str, role: str = "org_admin") -> Tenant:
    """An org with one company, one user of ``role`` in it, and an API token for that user."""
    token = f"test-token-{slug}-{uuid.uuid4().hex}"
    async with database.transaction() as session:
        org_id = (
            await session.execute(
                text("INSERT INTO orgs (name, slug) VALUES (:slug, :slug) RETURNING id"), {"slug": slug}
            )
        ).scalar_one()
        company_id = (
            await session.execute(
                text("INSERT INTO companies (org_id, name) VALUES (:org, :name) RETURNING id"),
                {"org": org_id, "name": f"{slug} client"},
            )
        ).scalar_one()
        user_id = await add_user_with_token(session, org_id, company_id, role, f"{role}@{slug}.test", token)
    return Tenant(org_id, company_id, user_id, token)


@pytest.fixture
async def tenant(database: Database) -> Tenant:
    return await create_tenant(database, "acme")


# --- pipelines -----------------------------------------------------------------------------------------


@dataclass
class PipelineHarness:
    """The API with an embedded executor the test controls (start, wait until idle, stop)."""

    client: httpx.AsyncClient
    executor: Executor
    tenant: Tenant

    async def post(self, path: str, body: dict, **kwargs: object) -> httpx.Response:
        return await self.client.post(
            path, json=body, headers={**self.tenant.headers, **kwargs.pop("headers", {})}
        )

    async def blueprint(self, name: str, steps: list[dict], **extra: object) -> str:
        response = await self.post("/api/blueprints/create", {"name": name, "steps": steps, **extra})
        assert response.status_code == 200, response.text
        return response.json()["data"]["id"]

    async def submit(
        self, blueprint_id: str, inputs: list[dict], entity_type: str = "company", **extra: object
    ) -> str:
        body = {
            "blueprint_id": blueprint_id,
            "company_id": str(self.tenant.company_id),
            "entities": [{"entity_type": entity_type, "input": i} for i in inputs],
            **extra,
        }
        response = await self.post("/api/v1/batch/submit", body)
        assert response.status_code == 200, response.text
        return response.json()["data"]["submission_id"]

    async def status(self, submission_id: str) -> dict:
        response = await self.post("/api/v1/batch/status", {"submission_id": submission_id})
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def run_until_idle(self, timeout: float = 60.0) -> None:
        await self.executor.wait_idle(timeout)

    async def restart_executor(self) -> None:
        """A fresh executor takes over from the one the test stopped (to look at work nothing has run)."""
        stopped = self.executor
        self.executor = Executor(stopped.database, stopped.deps, stopped.config, plans=stopped.plans)
        await self.executor.start()


TEST_EXECUTOR_CONFIG = ExecutorConfig(
    concurrency=50, lease_seconds=5, poll_interval_seconds=0.05, retry_base_seconds=0.05
)


@asynccontextmanager
async def app_with_executor(
    settings: Settings, database: Database, providers: ProviderRuntime
) -> AsyncIterator[tuple[FastAPI, Executor]]:
    """The API (its own executor off) and a started test executor sharing its plans, stopped on exit."""
    app = create_app(settings, database=database, providers=providers, run_executor=False)
    deps = runner_deps(settings, providers, database)
    executor = Executor(database, replace(deps, max_attempts=2), TEST_EXECUTOR_CONFIG, plans=app.state.plans)
    await executor.start()
    try:
        yield app, executor
    finally:
        await executor.stop()


@pytest.fixture
async def pipeline(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime, tenant: Tenant
) -> AsyncIterator[PipelineHarness]:
    async with app_with_executor(sandbox_settings, database, providers) as (app, executor):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
            harness = PipelineHarness(http, executor, tenant)
            try:
                yield harness
            finally:
                if harness.executor is not executor:
                    await harness.executor.stop()
