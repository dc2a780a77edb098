"""Where provider answers are written: the journal's answer notes (a paid answer kept on its request's
row, ``dex.providers.journal``) and the enrichment cache's entries (``dex.providers.cache``).

An adapter's answer is noted when it arrives and its cache entry follows as soon as the adapter has mapped
it, usually before the previous batch has committed: both then go in one statement of one group commit
(``dex.db.batching``), and the step waits for a single commit — one statement per batch instead of two.
An entry names the journal rows whose answers it holds (``answers_of``), and their notes are left out:
the answer is written once, in the entry, and the journal rows are not written again."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any, TypedDict, cast

from sqlalchemy import text

from dex.db.batching import Batcher
from dex.db.engine import Database
from dex.db.queries import dumps, recordset
from dex.providers.models import EnrichmentCacheEntry, JournaledCall


class AnswerNote(TypedDict):
    call_id: uuid.UUID
    http_status: int | None
    cost_credits: Decimal
    response: dict[str, Any] | None


class KeyFields(TypedDict):
    """What identifies a cache entry."""

    org_id: uuid.UUID
    provider: str
    action: str
    request_hash: str


class StoredFields(TypedDict):
    status: str
    http_status: int | None
    response: dict[str, Any]
    cost_credits: Decimal
    sandbox: bool


class StoreRow(KeyFields, StoredFields):
    ttl_seconds: float
    # The journal rows of the requests whose answer the entry holds. Their notes, written in the same
    # statement, are left out: a step that runs again after a crash finds the entry first, and recovery
    # reads a row the entry names as answered.
    answers_of: list[uuid.UUID]


_journal = JournaledCall.__table__
_cache = EnrichmentCacheEntry.__table__
KEY = list(KeyFields.__annotations__)
_STORED = [*StoredFields.__annotations__, "answers_of"]
_NOTE = (
    "UPDATE provider_call_journal j SET answered = true, http_status = v.http_status, "
    "cost_credits = v.cost_credits, response = v.response "
    f"FROM {recordset(_journal, tuple(AnswerNote.__annotations__), param='notes')} "
    "WHERE j.call_id = v.call_id"
)
_STORE = (
    f"INSERT INTO enrichment_cache ({', '.join([*KEY, *_STORED])}, expires_at) "
    f"SELECT {', '.join([*KEY, *_STORED])}, now() + make_interval(secs => ttl_seconds) "
    f"FROM {recordset(_cache, [*KEY, *_STORED], 'ttl_seconds float8', param='entries')} "
    f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in [*_STORED, "expires_at"])
)
# Either list may be empty: an empty recordset writes nothing, so every batch is this one statement.
NOTE_AND_STORE = text(f"WITH noted AS ({_NOTE}) {_STORE}")


class AnswerWrites:
    """One per process, shared by its journal and its cache."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._writes: Batcher[AnswerNote | StoreRow, None] = Batcher(self._write, "provider-answers")

    def note(self, note: AnswerNote) -> asyncio.Future[None]:
        return self._writes.start(note)

    def post_note(self, note: AnswerNote) -> None:
        """A note nobody waits for (a free answer, which is not kept)."""
        self._writes.post(note)

    def store(self, entry: StoreRow) -> asyncio.Future[None]:
        return self._writes.start(entry)

    async def _write(self, items: list[AnswerNote | StoreRow]) -> list[None]:
        # One upsert cannot touch a row twice: of identical requests answered together, the last one wins,
        # and only its answers are held by the entry — the others' notes are written.
        latest: dict[tuple[Any, ...], StoreRow] = {}
        for item in items:
            if "call_id" not in item:
                latest[item["org_id"], item["provider"], item["action"], item["request_hash"]] = item
        held = {call_id for entry in latest.values() for call_id in entry["answers_of"]}
        notes = [
            note
            for note in (cast(AnswerNote, item) for item in items if "call_id" in item)
            if note["call_id"] not in held
        ]
        await self.database.execute_alone(
            NOTE_AND_STORE, {"notes": dumps(notes), "entries": dumps(list(latest.values()))}
        )
        return [None] * len(items)
