"""An answer's journal note and its cache entry are written by one statement of one group commit, and
the answer once: in the entry, which stands for the note."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from dex.db.engine import Database
from dex.providers.answers import AnswerWrites
from dex.providers.cache import EnrichmentCache
from dex.providers.journal import CallJournal
from tests.conftest import Tenant
from tests.providers.test_journal import origin_for


@pytest.mark.parametrize("holds_the_answer", [True, False])
async def test_a_note_and_the_cache_entry_that_follows_it_commit_in_one_statement(
    tenant: Tenant, database: Database, holds_the_answer: bool
) -> None:
    answers = AnswerWrites(database)
    journal, cache = CallJournal(database, answers), EnrichmentCache(database, answers)
    call_id = uuid.uuid4()
    await journal.before_send(
        origin_for(tenant), call_id, "millionverifier", "verify", price=Decimal("1"), sandbox=True
    )
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    listen = database.alone_engine.sync_engine
    event.listen(listen, "before_cursor_execute", seen)
    try:
        # As an adapter does: the note when the answer arrives, the entry once it is mapped.
        note = journal.note_answer(call_id, 200, Decimal("1"), {"result": "ok"})
        stored = cache.put(
            tenant.org_id,
            "millionverifier",
            "verify",
            "key-1",
            {"status": "verified", "http_status": 200},
            cost=Decimal("1"),
            sandbox=True,
            ttl=timedelta(days=1),
            answers_of=[call_id] if holds_the_answer else [uuid.uuid4()],
        )
        assert note is not None
        await asyncio.gather(CallJournal.kept([note]), stored)
    finally:
        event.remove(listen, "before_cursor_execute", seen)
    assert len(statements) == 1 and "provider_call_journal" in statements[0]
    assert "enrichment_cache" in statements[0]
    noted = f"SELECT answered, response IS NOT NULL FROM provider_call_journal WHERE call_id = '{call_id}'"
    named = f"SELECT count(*) FROM enrichment_cache WHERE '{call_id}' = ANY(answers_of)"
    async with database.engine.connect() as conn:
        answered, kept = (await conn.execute(text(noted))).one()
        held = (await conn.execute(text(named))).scalar_one()
    # The entry holds the answer, and says the request was answered: the row is not written again. A step
    # run again after a crash finds the entry before asking again.
    assert (answered, kept, held) == ((False, False, 1) if holds_the_answer else (True, True, 0))
    assert await cache.get(tenant.org_id, "millionverifier", "verify", "key-1") is not None


async def test_identical_entries_answered_together_keep_the_last(tenant: Tenant, database: Database) -> None:
    cache = EnrichmentCache(database)
    puts = [
        cache.put(
            tenant.org_id,
            "prospeo",
            "search",
            "same",
            {"status": "found", "http_status": 200, "n": n},
            cost=Decimal("1"),
            sandbox=True,
            ttl=timedelta(days=1),
        )
        for n in range(3)
    ]
    await asyncio.gather(*puts)
    found = await cache.get(tenant.org_id, "prospeo", "search", "same")
    assert found is not None and found["n"] == 2


async def test_the_group_commits_find_rows_by_key(database: Database) -> None:
    """The journal (a queue, small by its statistics, its pages full of dead rows) and a young cache made
    the planner scan them whole: the group commits' connections never do."""
    rows = await database.execute_alone(text("SHOW enable_seqscan"), {})
    assert rows[0][0] == "off"
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SHOW enable_seqscan"))).scalar() == "on"
