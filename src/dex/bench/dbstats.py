"""What the database server says a workload cost: transactions and rows written (PostgreSQL's cumulative
statistics of the bench database), and per-statement figures from ``pg_stat_statements`` when the server
has it loaded (the embedded server does not; then the round-trip proxy gives statement totals).

Statistics are flushed by each backend at the end of a transaction at most once a second, and always when
the backend exits — so the final snapshot is read after dex has stopped and the bench has closed its
own connection. The bench's own transactions in the window (the first snapshot and the completion polls)
are counted and subtracted from ``xact_commit``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

DATABASE_COUNTERS = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted")
TABLE_COUNTERS = ("n_tup_ins", "n_tup_upd", "n_tup_hot_upd", "n_tup_del")
TOP_STATEMENTS = 15


class BenchConnection:
    """The bench's own connection to the bench database, opened on demand, counting its transactions."""

    def __init__(self, libpq_url: str) -> None:
        self.url = libpq_url
        self.transactions = 0
        self._connection: asyncpg.Connection | None = None

    async def _open(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            self._connection = await asyncpg.connect(self.url)
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        connection = await self._open()
        self.transactions += 1
        async with connection.transaction():
            yield connection

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.transaction() as connection:
            return await connection.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def execute(self, sql: str, *args: Any) -> None:
        async with self.transaction() as connection:
            await connection.execute(sql, *args)

    async def close(self) -> None:
        """Ends the backend, which flushes its statistics."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


async def enable_statement_statistics(db: BenchConnection) -> bool:
    """Whether ``pg_stat_statements`` can be read in the bench database (installing the extension there
    when the server preloads it); False on servers without it, such as the embedded one."""
    row = await db.fetchrow("SELECT current_setting('shared_preload_libraries') AS libraries")
    if row is None or "pg_stat_statements" not in row["libraries"]:
        return False
    try:
        await db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except asyncpg.PostgresError:
        return False
    return True


@dataclass
class StatsSnapshot:
    database: dict[str, int]
    tables: dict[str, dict[str, int]]
    statements: dict[int, dict[str, Any]] = field(default_factory=dict)


async def snapshot(db: BenchConnection, *, with_statements: bool) -> StatsSnapshot:
    """Every counter at once, from one transaction (so it costs the window exactly one transaction)."""
    async with db.transaction() as connection:
        database = await connection.fetchrow(
            f"SELECT {', '.join(DATABASE_COUNTERS)} FROM pg_stat_database WHERE datname = current_database()"
        )
        tables = await connection.fetch(
            f"SELECT relname, {', '.join(TABLE_COUNTERS)} FROM pg_stat_user_tables"
        )
        statements = (
            await connection.fetch(
                "SELECT queryid, query, calls, total_exec_time, rows FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND queryid IS NOT NULL"
            )
            if with_statements
            else []
        )
    return StatsSnapshot(
        dict(database) if database else {},
        {row["relname"]: {name: row[name] for name in TABLE_COUNTERS} for row in tables},
        {row["queryid"]: dict(row) for row in statements},
    )


def _per_step(value: float, steps: int) -> float:
    return round(value / steps, 3) if steps else 0.0


def usage(
    before: StatsSnapshot, after: StatsSnapshot, *, steps: int, bench_transactions: int
) -> dict[str, Any]:
    """The window's deltas, per step, with the tables written most and (if available) the costliest
    statements."""
    delta = {name: after.database.get(name, 0) - before.database.get(name, 0) for name in DATABASE_COUNTERS}
    delta["xact_commit"] -= bench_transactions
    rows_written = delta["tup_inserted"] + delta["tup_updated"] + delta["tup_deleted"]
    tables = {
        name: {
            counter: counters[counter] - before.tables.get(name, {}).get(counter, 0)
            for counter in TABLE_COUNTERS
        }
        for name, counters in after.tables.items()
    }
    written = sorted(
        ((name, c["n_tup_ins"] + c["n_tup_upd"] + c["n_tup_del"], c) for name, c in tables.items()),
        key=lambda item: -item[1],
    )
    result: dict[str, Any] = {
        "transactions": delta["xact_commit"] + delta["xact_rollback"],
        "transactions_per_step": _per_step(delta["xact_commit"] + delta["xact_rollback"], steps),
        "rows_written": rows_written,
        "rows_written_per_step": _per_step(rows_written, steps),
        "counters": delta,
        "rows_written_per_step_by_table": {
            name: {
                "inserted": _per_step(c["n_tup_ins"], steps),
                "updated": _per_step(c["n_tup_upd"], steps),
                "hot_updated": _per_step(c["n_tup_hot_upd"], steps),
                "deleted": _per_step(c["n_tup_del"], steps),
            }
            for name, total, c in written
            if total
        },
    }
    if after.statements:
        result["top_statements"] = top_statements(before, after, steps=steps)
    return result


def top_statements(before: StatsSnapshot, after: StatsSnapshot, *, steps: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for queryid, stats in after.statements.items():
        old = before.statements.get(queryid, {"calls": 0, "total_exec_time": 0.0, "rows": 0})
        calls = stats["calls"] - old["calls"]
        if calls:
            rows.append(
                {
                    "query": " ".join(stats["query"].split())[:300],
                    "calls_per_step": _per_step(calls, steps),
                    "exec_ms_per_step": _per_step(stats["total_exec_time"] - old["total_exec_time"], steps),
                    "rows_per_step": _per_step(stats["rows"] - old["rows"], steps),
                }
            )
    return sorted(rows, key=lambda row: -row["exec_ms_per_step"])[:TOP_STATEMENTS]
