"""The process's connections: the group commits' and the executor's find rows by key, whatever the plans
cached while the tables were young say; everyone else's plan freely."""

from __future__ import annotations

from sqlalchemy import text

from dex.db.engine import Database

SHOW = text("SHOW enable_seqscan")


async def test_the_group_commits_and_the_executor_never_scan_a_table_whole(database: Database) -> None:
    rows = await database.execute_alone(SHOW, {})
    assert rows[0][0] == "off"
    async with database.keyed_transaction() as session:
        assert (await session.execute(SHOW)).scalar() == "off"
    async with database.transaction() as session:
        assert (await session.execute(SHOW)).scalar() == "on"
