"""Test-support helpers shipped with dex (used by its own suite and by `dex bench`): a PostgreSQL server
for tests — the embedded one, or the server of DATABASE_URL — and fresh databases migrated to head."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from dex.db.embedded import embedded_server_uri, to_asyncpg_url
from dex.db.engine import libpq_url, normalize_database_url, run_blocking
from dex.db.migrate import MIGRATIONS_DIR, upgrade


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def admin_uri(state_dir: Path) -> str:
    """libpq URI of a maintenance database on the test server."""
    if os.environ.get("DATABASE_URL"):
        return libpq_url(normalize_database_url(os.environ["DATABASE_URL"]))
    with file_lock(state_dir / "pg.lock"):
        return run_blocking(lambda: embedded_server_uri(state_dir / "pg"))


def _with_database(uri: str, database: str) -> str:
    base, _, query = uri.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + database
    return f"{base}?{query}" if query else base


def schema_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS_DIR.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


TEST_DATABASE_PREFIX = "dex_test_"


def test_database_name(worker: str) -> str:
    """Unique per process, so concurrent test sessions on one server never share a database."""
    return f"{TEST_DATABASE_PREFIX}{worker}_{os.getpid()}"


async def _drop_abandoned_test_databases(conn: asyncpg.Connection) -> None:
    """Drop databases of test processes that are gone (killed sessions never ran their teardown)."""
    names = await conn.fetch(
        "SELECT datname FROM pg_database WHERE datname LIKE $1", TEST_DATABASE_PREFIX + "%"
    )
    for (name,) in names:
        pid = name.rsplit("_", 1)[-1]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):  # noqa: ASYNC240 - a stat, once per test run
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_test_database(state_dir: Path, name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(admin_uri(state_dir))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    run_blocking(lambda: asyncio.run(drop()))


def create_test_database(state_dir: Path, name: str) -> str:
    """A fresh database ``name`` at the migration head, cloned from a per-schema template. Returns its
    asyncpg URL. The template is built once per schema version and reused across test sessions."""
    admin = admin_uri(state_dir)
    template = f"dex_template_{schema_fingerprint()}"

    async def exists(conn: asyncpg.Connection, db: str) -> bool:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db))

    async def build() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await _drop_abandoned_test_databases(conn)
            if not await exists(conn, template):
                building = f"{template}_building"
                await conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
                await conn.execute(f'CREATE DATABASE "{building}"')
                await asyncio.to_thread(upgrade, to_asyncpg_url(_with_database(admin, building)))
                await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.close()

    with file_lock(state_dir / "template.lock"):
        run_blocking(lambda: asyncio.run(build()))
    return to_asyncpg_url(_with_database(admin, name))
