"""Engine, sessions and the database URL dex uses (embedded server or DATABASE_URL)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg
from sqlalchemy import Executable, Row, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dex import fastjson
from dex.config import Settings
from dex.db.embedded import ensure_embedded_database
from dex.errors import DatabaseUnavailable

CONNECT_TIMEOUT_SECONDS = 5

T = TypeVar("T")


def normalize_database_url(url: str) -> str:
    """Accept the usual spellings of a Postgres URL (``postgres://``, ``postgresql://``) for asyncpg."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("postgresql+asyncpg://"):
        return url
    raise DatabaseUnavailable("DATABASE_URL must be a PostgreSQL URL (postgresql://user:pass@host/db)")


def resolve_database_url(settings: Settings) -> str:
    """The asyncpg URL to use: ``DATABASE_URL`` if set, else the embedded server (started on demand)."""
    if settings.database_url:
        return normalize_database_url(settings.database_url)
    return run_blocking(lambda: ensure_embedded_database(settings.dex_home / "pg"))


def run_blocking(fn: Callable[[], T]) -> T:
    """Run ``fn`` (which may itself call ``asyncio.run``) on a fresh thread, safe inside or outside a loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def describe_url(url: str) -> str:
    """host:port/database for messages — never the password."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    host = parts.hostname or "local socket"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


def libpq_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def check_database(url: str) -> str:
    """Connect once with a short timeout and return the server version; a clear error if unreachable."""
    try:
        conn = await asyncpg.connect(libpq_url(url), timeout=CONNECT_TIMEOUT_SECONDS)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc) or type(exc).__name__
        raise DatabaseUnavailable(f"cannot connect to the database at {describe_url(url)}: {reason}") from exc
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


# Statements that find rows by key have one good plan whatever their parameters: the planner is told so,
# instead of planning every execution again (it kept choosing custom plans for the recordings' statements,
# whose parameters are whole documents: PostgreSQL's CPU per step fell 9 % in B without them).
_BY_KEY = "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan"


def _look_up_by_key(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.run_async(lambda connection: connection.execute(_BY_KEY))


_JSON_CODECS: dict[str, Any] = {"json_serializer": fastjson.dumps, "json_deserializer": fastjson.loads}


def _engine_by_key(url: str, **options: Any) -> AsyncEngine:
    """A small pool of connections whose statements find rows by key (:data:`_BY_KEY`)."""
    engine = create_async_engine(
        url,
        pool_size=4,
        max_overflow=4,
        pool_pre_ping=False,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        **_JSON_CODECS,
        **options,
    )
    # A SET after connecting rather than a startup parameter, which PgBouncer refuses.
    event.listen(engine.sync_engine, "connect", _look_up_by_key)
    return engine


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            # Overflow connections are closed when returned, and every new PostgreSQL connection is a forked
            # backend: under executor load a large overflow churns connections (measured: one new connection
            # per five steps). A small overflow makes bursts wait for a pooled connection instead.
            max_overflow=max(2, pool_size // 5),
            # No pre-ping: it costs a round trip per checkout on the executor's hot path; a dropped
            # connection surfaces as an error that the request (503) or the writer (retry) handles.
            pool_pre_ping=False,
            connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
            **_JSON_CODECS,
        )
        # The group commits of provider requests (:meth:`execute_alone`) have connections of their own,
        # which never scan a table whole: their statements find rows by key. The planner thought otherwise
        # for the journal — a queue, nearly empty by its statistics and its pages full of dead rows until
        # vacuumed — and for the cache while it was young, whose sequential-scan plan stayed cached as it
        # grew: measured on a 1,000-company batch, 750-1,300 buffers per lookup or note batch instead of
        # about 90, and PostgreSQL's auto_explain logged 176 scans of the journal in one run.
        self.alone_engine = _engine_by_key(url, isolation_level="AUTOCOMMIT")
        # The executor's recordings and claims, likewise: every statement of theirs finds rows by key, but
        # their plans are cached per connection, and those made while a batch's tables were young (a fresh
        # database, not yet analyzed) kept hashing whole tables of runs, entities and journal rows for every
        # recording as the tables grew.
        self.keyed_engine = _engine_by_key(url)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._keyed_sessionmaker = async_sessionmaker(self.keyed_engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any exception."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def keyed_transaction(self) -> AsyncIterator[AsyncSession]:
        """:meth:`transaction` on a connection that never scans a table whole (the executor's)."""
        async with self._keyed_sessionmaker() as session, session.begin():
            yield session

    async def execute_alone(
        self, statement: Executable, params: Mapping[str, Any]
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        """One statement that is a transaction by itself (a single statement is atomic), run without the
        BEGIN and COMMIT round trips around it: the group commits of provider requests run one per batch
        of requests, so those two round trips would be most of their cost."""
        async with self.alone_engine.connect() as conn:
            result = await conn.execute(statement, params)
            return result.all() if result.returns_rows else []

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.alone_engine.dispose()
        await self.keyed_engine.dispose()


# Connection exceptions, and the server shutting down or starting up (a restart, a terminated backend).
CONNECTION_SQLSTATE_PREFIXES = ("08", "57P")


def error_causes(exc: BaseException) -> list[BaseException]:
    """A SQLAlchemy error, the driver's error it wraps, and what that one was raised from."""
    orig = getattr(exc, "orig", None)
    return [e for e in (exc, orig, getattr(orig, "__cause__", None)) if e is not None]


def connection_lost(exc: BaseException) -> bool:
    """The database went away (restart, dropped connection) rather than refusing the statement."""
    if getattr(exc, "connection_invalidated", False):
        return True
    return any(
        isinstance(cause, (OSError, asyncpg.InterfaceError))
        or str(getattr(cause, "sqlstate", "") or "").startswith(CONNECTION_SQLSTATE_PREFIXES)
        for cause in error_causes(exc)
    )
