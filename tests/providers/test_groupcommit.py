"""The provider layer's statements — cache lookups, journal rows, answer notes and cache entries — go in
one statement per group commit, and an answer is written once: in the entry, which stands for the note."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from dex.db.engine import Database
from dex.providers.cache import EnrichmentCache
from dex.providers.groupcommit import CachedAnswer, ProviderGroupCommit
from dex.providers.journal import CallJournal
from tests.conftest import Tenant, scalar
from tests.providers.test_journal import origin_for, store_entry


@pytest.mark.parametrize("holds_the_answer", [True, False])
async def test_lookups_journal_rows_notes_and_entries_of_one_moment_are_one_statement(
    tenant: Tenant, database: Database, holds_the_answer: bool
) -> None:
    statements = ProviderGroupCommit(database)
    journal, cache = CallJournal(database, statements), EnrichmentCache(database, statements)
    call_id, next_call = uuid.uuid4(), uuid.uuid4()
    await journal.before_send(
        origin_for(tenant), call_id, "millionverifier", "verify", price=Decimal("1"), sandbox=True
    )
    await store_entry(cache, tenant, "leadmagic", "find", "key-0", "2")
    executed: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        executed.append(statement)

    listen = database.alone_engine.sync_engine
    event.listen(listen, "before_cursor_execute", seen)
    try:
        # As concurrent adapters do: one answer is noted and its entry stored (once mapped) while other
        # calls look the cache up and journal their next request.
        note = journal.note_answer(call_id, 200, Decimal("1"), {"result": "ok"})
        stored = store_entry(
            cache,
            tenant,
            "millionverifier",
            "verify",
            "key-1",
            "1",
            entry={"status": "verified", "http_status": 200},
            answers_of=[call_id] if holds_the_answer else [uuid.uuid4()],
        )
        hit = statements.look_up(
            {"org_id": tenant.org_id, "provider": "leadmagic", "action": "find", "request_hash": "key-0"}
        )
        miss = statements.look_up(
            {"org_id": tenant.org_id, "provider": "leadmagic", "action": "find", "request_hash": "key-2"}
        )
        sent = statements.journal(
            {
                **origin_for(tenant).row(),
                "call_id": next_call,
                "provider": "leadmagic",
                "action": "find",
                "owner": journal.owner,
                "price_credits": Decimal("2"),
                "sandbox": True,
                "request_hash": "request-2",
            }
        )
        assert note is not None
        _, _, found, missed, reused = await asyncio.gather(CallJournal.kept([note]), stored, hit, miss, sent)
    finally:
        event.remove(listen, "before_cursor_execute", seen)
    assert len(executed) == 1
    assert isinstance(found, CachedAnswer)
    assert found.response["status"] == "found" and found.cost_credits == 2
    assert missed is None and reused is None
    assert await scalar(database, f"SELECT count(*) FROM provider_call_journal WHERE call_id = '{next_call}'")
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
        store_entry(
            cache,
            tenant,
            "prospeo",
            "search",
            "same",
            "1",
            entry={"status": "found", "http_status": 200, "n": n},
        )
        for n in range(3)
    ]
    await asyncio.gather(*puts)
    found = await cache.get(tenant.org_id, "prospeo", "search", "same")
    assert found is not None and found["n"] == 2


async def test_a_request_asked_with_its_lookup_is_journaled_only_when_the_cache_has_no_answer(
    tenant: Tenant, database: Database
) -> None:
    statements = ProviderGroupCommit(database)
    journal = CallJournal(database, statements)
    await store_entry(EnrichmentCache(database, statements), tenant, "leadmagic", "find", "known", "2")

    def asked(key: str) -> tuple[uuid.UUID, asyncio.Future[object]]:
        call_id = uuid.uuid4()
        row = {
            **origin_for(tenant).row(),
            "call_id": call_id,
            "provider": "leadmagic",
            "action": "find",
            "owner": journal.owner,
            "price_credits": Decimal("2"),
            "sandbox": True,
            "request_hash": f"request-{key}",
        }
        lookup = {"org_id": tenant.org_id, "provider": "leadmagic", "action": "find", "request_hash": key}
        return call_id, statements.journal(row, lookup)  # type: ignore[arg-type]

    (answered_id, answered), (sent_id, sent) = asked("known"), asked("unknown")
    found, journaled = await asyncio.gather(answered, sent)
    assert isinstance(found, CachedAnswer) and found.entry()["cost_credits"] == 2
    assert journaled is None
    in_journal = "SELECT count(*) FROM provider_call_journal WHERE call_id = '{}'"
    assert await scalar(database, in_journal.format(answered_id)) == 0  # never sent, nothing to settle
    assert await scalar(database, in_journal.format(sent_id)) == 1
