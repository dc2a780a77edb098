"""Shared fixtures: one PostgreSQL server per test session (the embedded one, or DATABASE_URL's), one
database per xdist worker cloned from a migrated template, and every table emptied before each test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.db.models import Base
from dex.testing import create_test_database, drop_test_database, test_database_name

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_STATE_DIR = REPO_ROOT / ".dex" / "test"


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


TRUNCATE_ALL = "TRUNCATE {} RESTART IDENTITY CASCADE".format(
    ", ".join(table.name for table in Base.metadata.sorted_tables)
)


@pytest.fixture(autouse=True)
async def clean_database(request: pytest.FixtureRequest) -> None:
    """Every test starts from empty tables (cheaper than a database per test, and tests can commit)."""
    if "database" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("database")
    async with db.engine.begin() as conn:
        await conn.execute(text(TRUNCATE_ALL))


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        yield http
