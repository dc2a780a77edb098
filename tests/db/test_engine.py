"""The process's connections: the group commits' and the executor's find rows by key, with one generic
plan per statement, whatever the tables' statistics say; everyone else's plan freely."""

from __future__ import annotations

from sqlalchemy import text

from dex.db.engine import Database

SHOW = text("SELECT current_setting('enable_seqscan') || ' ' || current_setting('plan_cache_mode')")


async def test_the_group_commits_and_the_executor_never_scan_a_table_whole(database: Database) -> None:
    by_key = "off force_generic_plan"
    rows = await database.execute_alone(SHOW, {})
    assert rows[0][0] == by_key
    async with database.keyed_transaction() as session:
        assert (await session.execute(SHOW)).scalar() == by_key
    async with database.transaction() as session:
        assert (await session.execute(SHOW)).scalar() == "on auto"
