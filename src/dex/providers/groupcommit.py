"""The provider layer's group commit: every statement a provider request makes goes in one.

A request looks its adapter call up in the enrichment cache (``dex.providers.cache``), is journaled before
it is sent (``dex.providers.journal``), and its answer is noted when it arrives and stored in the cache
once the adapter has mapped it. Hundreds of requests run at once, each waiting for one of these writes at
a time, so the items submitted while the previous batch was in flight — lookups, journal rows, answer
notes and cache entries alike — go to PostgreSQL as **one statement of one batch** (``dex.db.batching``):
one round trip and one commit, where a batcher per kind made three.

An entry names the journal rows whose answers it holds (``answers_of``), and their notes are left out: the
answer is written once, in the entry, and the journal rows are not written again.

An adapter call's first request asks both at once (:meth:`ProviderGroupCommit.journal` with
``unless_cached``): its row is journaled only if the cache holds no answer to the call — one wait where a
lookup and then a journal row made two.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypedDict

from sqlalchemy import text

from dex.db.batching import Batcher
from dex.db.engine import Database
from dex.db.queries import dumps, recordset
from dex.providers.models import JOURNAL_SLOT_OF_NOW, EnrichmentCacheEntry, JournaledCall


class OriginFields(TypedDict):
    """The columns a journal row takes from its operation run (``CallOrigin.row``)."""

    org_id: uuid.UUID
    run_id: uuid.UUID
    operation_id: str
    entity_type: str
    role: str
    auth_method: str
    company_id: uuid.UUID | None
    user_id: uuid.UUID | None
    pipeline_run_id: uuid.UUID | None
    step_result_id: uuid.UUID | None
    submission_id: uuid.UUID | None


class JournalRow(OriginFields):
    """A journal row as written when the request is sent; ``answered``, ``http_status``,
    ``cost_credits`` and ``response`` follow its answer (:class:`AnswerNote`). ``request_hash`` is set for
    paid requests only: free ones (the polls of a search) are simply sent again."""

    call_id: uuid.UUID
    provider: str
    action: str
    owner: str
    price_credits: Decimal
    sandbox: bool
    request_hash: str | None


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


class LookupRow(KeyFields):
    position: int


class AskedRow(JournalRow):
    looked_up: int | None


@dataclass(frozen=True)
class TakenRow:
    """The released row of an identical request a dead process made, taken over by a journaled request
    instead of it being sent (``dex.providers.journal.ReusedAnswer``)."""

    call_id: uuid.UUID
    http_status: int | None
    response: Any
    cost_credits: Decimal


@dataclass(frozen=True)
class CachedAnswer:
    response: dict[str, Any]
    cost_credits: Decimal

    def entry(self) -> dict[str, Any]:
        """The cached entry as the adapter decorator reads it."""
        return {**self.response, "cost_credits": self.cost_credits}


Item = (
    tuple[Literal["look_up"], KeyFields]
    | tuple[Literal["journal"], tuple[KeyFields | None, JournalRow]]
    | tuple[Literal["note"], AnswerNote]
    | tuple[Literal["store"], StoreRow]
)
Answer = CachedAnswer | TakenRow | None

_journal = JournaledCall.__table__
_cache = EnrichmentCacheEntry.__table__
_KEY = list(KeyFields.__annotations__)
ROW_COLUMNS = tuple(JournalRow.__annotations__)
_STORED = [*StoredFields.__annotations__, "answers_of"]
# What a taken-over row gets from the request that takes it: who it belongs to now.
_TAKEN_OVER = (*OriginFields.__annotations__, "owner")

ASKED_CTE = f"asked AS MATERIALIZED (SELECT * FROM {recordset(_journal, ROW_COLUMNS)})"
# A row taken over moves to the partition of the hour it is taken in: the run taking it is as young as
# that, and the partition it was written in may be emptied before the run is recorded.
TAKE_OVER_CTE = (
    f"taken AS (UPDATE provider_call_journal j SET released = false, slot = {JOURNAL_SLOT_OF_NOW}, "
    + ", ".join(f"{name} = v.{name}" for name in _TAKEN_OVER)
    + " FROM asked v WHERE j.released AND v.request_hash IS NOT NULL AND j.org_id = v.org_id "
    "AND j.request_hash = v.request_hash AND j.provider = v.provider AND j.action = v.action "
    # The step's own answers only: two steps asking one question (namesakes at one company) would take
    # each other's, and the first recorded would settle the other's as interrupted — paid twice.
    "AND j.step_result_id = v.step_result_id "
    "RETURNING v.call_id AS asked, j.call_id, j.http_status, j.response, j.cost_credits)"
)
TAKEN_ROWS = "SELECT asked, call_id, http_status, response, cost_credits, NULL::int AS position FROM taken"
# Every request either takes over the released row of an identical request (and is not sent) or is
# journaled.
_INSERT = (
    f"inserted AS (INSERT INTO provider_call_journal ({', '.join(ROW_COLUMNS)}) "
    f"SELECT {', '.join(ROW_COLUMNS)} FROM asked WHERE call_id NOT IN (SELECT asked FROM taken))"
)
_NOTE = (
    "noted AS (UPDATE provider_call_journal j SET answered = true, http_status = v.http_status, "
    "cost_credits = v.cost_credits, response = v.response "
    f"FROM {recordset(_journal, tuple(AnswerNote.__annotations__), param='notes')} "
    "WHERE j.call_id = v.call_id)"
)
_STORE = (
    f"stored AS (INSERT INTO enrichment_cache ({', '.join([*_KEY, *_STORED])}, expires_at) "
    f"SELECT {', '.join([*_KEY, *_STORED])}, now() + make_interval(secs => ttl_seconds) "
    f"FROM {recordset(_cache, [*_KEY, *_STORED], 'ttl_seconds float8', param='entries')} "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in [*_STORED, "expires_at"])
    + ")"
)
# One primary-key probe per key, whatever the statistics say: as a join, the plan cached while the cache
# was young (a few entries, or none) hashed the whole cache for every lookup of a batch as it grew — 4 ms
# per lookup at 10,000 entries. ``LIMIT 1`` keeps the subquery from being folded into such a join.
_FOUND = (
    "found AS MATERIALIZED (SELECT v.position, c.response, c.cost_credits "
    f"FROM {recordset(_cache, _KEY, 'position int', param='lookups')} "
    "CROSS JOIN LATERAL (SELECT e.response, e.cost_credits FROM enrichment_cache e "
    "WHERE e.org_id = v.org_id AND e.provider = v.provider AND e.action = v.action "
    "AND e.request_hash = v.request_hash AND e.expires_at > now() LIMIT 1) c)"
)
# A row asked with its call's lookup (``looked_up``: the lookup's position) is not journaled when the
# lookup finds the answer: the request is not sent.
_ASKED_UNLESS_FOUND = (
    f"asked AS MATERIALIZED (SELECT * FROM {recordset(_journal, ROW_COLUMNS, 'looked_up int')} "
    "WHERE v.looked_up IS NULL OR v.looked_up NOT IN (SELECT position FROM found))"
)
_FOUND_ROWS = "SELECT NULL::uuid, NULL::uuid, NULL::int, response, cost_credits, position FROM found"
# Any list may be empty: an empty recordset reads and writes nothing, so every batch is this statement.
# One snapshot: a lookup does not see an entry stored by the same statement, as it would not have seen
# one stored by a statement running beside it.
STATEMENT = text(
    f"WITH {_FOUND}, {_ASKED_UNLESS_FOUND}, {TAKE_OVER_CTE}, {_INSERT}, {_NOTE}, {_STORE} "
    f"{TAKEN_ROWS} UNION ALL {_FOUND_ROWS}"
)


def taken_row(row: Any) -> TakenRow:
    return TakenRow(row.call_id, row.http_status, row.response, row.cost_credits)


class ProviderGroupCommit:
    """One per process, shared by its journal and its cache."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._batches: Batcher[Item, Answer] = Batcher(self._execute, "provider-requests")

    def look_up(self, key: KeyFields) -> asyncio.Future[Answer]:
        return self._batches.start(("look_up", key))

    def journal(self, row: JournalRow, unless_cached: KeyFields | None = None) -> asyncio.Future[Answer]:
        """The taken-over answer of a dead process's identical request, if any, else None once ``row`` is
        journaled; with ``unless_cached``, the cache's answer to that key instead, if it has one (and
        ``row`` is not journaled)."""
        return self._batches.start(("journal", (unless_cached, row)))

    def note(self, note: AnswerNote) -> asyncio.Future[Answer]:
        return self._batches.start(("note", note))

    def post_note(self, note: AnswerNote) -> None:
        """A note nobody waits for (a free answer, which is not kept)."""
        self._batches.post(("note", note))

    def store(self, entry: StoreRow) -> asyncio.Future[Answer]:
        return self._batches.start(("store", entry))

    async def _execute(self, items: list[Item]) -> list[Answer]:
        lookups: list[LookupRow] = []
        journaled: list[AskedRow] = []
        journal_positions: dict[uuid.UUID, int] = {}
        notes: list[AnswerNote] = []
        # One upsert cannot touch a row twice: of identical requests answered together, the last one wins,
        # and only its answers are held by the entry — the others' notes are written.
        latest: dict[tuple[Any, ...], StoreRow] = {}
        for position, item in enumerate(items):
            match item:
                case ("look_up", key):
                    lookups.append({**key, "position": position})
                case ("journal", (key, row)):
                    if key is not None:
                        lookups.append({**key, "position": position})
                    journaled.append({**row, "looked_up": None if key is None else position})
                    journal_positions[row["call_id"]] = position
                case ("note", note):
                    notes.append(note)
                case ("store", entry):
                    latest[entry["org_id"], entry["provider"], entry["action"], entry["request_hash"]] = entry
        held = {call_id for entry in latest.values() for call_id in entry["answers_of"]}
        rows = await self.database.execute_alone(
            STATEMENT,
            {
                "rows": dumps(journaled),
                "notes": dumps([note for note in notes if note["call_id"] not in held]),
                "entries": dumps(list(latest.values())),
                "lookups": dumps(lookups),
            },
        )
        # Each item's answer: a lookup's entry (a row asked with it was then not journaled), a journal row's
        # taken-over answer (one each, should two kept answers match), None for the rest.
        answers: list[Answer] = [None] * len(items)
        for found in rows:
            position = found.position if found.position is not None else journal_positions[found.asked]
            if answers[position] is None:
                answers[position] = (
                    CachedAnswer(found.response, found.cost_credits)
                    if found.position is not None
                    else taken_row(found)
                )
        return answers
