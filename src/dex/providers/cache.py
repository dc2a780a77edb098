"""The enrichment cache: an identical (provider, action, request) answered within its TTL is served from
the database at zero cost. Entries are per org and written outside the caller's transaction — once a
provider was paid, its answer is kept even if the step that asked for it later rolls back.

Every provider call looks the cache up and every answer is stored, so both are group-committed
(``dex.db.batching``): the lookups of all concurrent calls are one query, their stores one upsert, which
the journal's notes of the same answers join (``dex.providers.answers``)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dex.db.batching import Batcher
from dex.db.engine import Database, connection_lost
from dex.db.queries import dumps, recordset
from dex.providers.answers import KEY, AnswerWrites, KeyFields, StoreRow
from dex.providers.models import EnrichmentCacheEntry

log = logging.getLogger(__name__)

CacheKey = tuple[uuid.UUID, str, str, str]  # org, provider, action, request hash


class LookupRow(KeyFields):
    position: int


# One primary-key probe per key, whatever the statistics say: as a join, the plan cached while the cache
# was young (a few entries, or none) hashed the whole cache for every lookup of a batch as it grew — 4 ms
# per lookup at 10,000 entries. ``LIMIT 1`` keeps the subquery from being folded into such a join.
LOOKUP = text(
    f"SELECT v.position, c.response, c.cost_credits "
    f"FROM {recordset(EnrichmentCacheEntry.__table__, KEY, 'position int')} "
    "CROSS JOIN LATERAL (SELECT e.response, e.cost_credits FROM enrichment_cache e "
    "WHERE e.org_id = v.org_id AND e.provider = v.provider AND e.action = v.action "
    "AND e.request_hash = v.request_hash AND e.expires_at > now() LIMIT 1) c"
)


class EnrichmentCache:
    def __init__(self, database: Database, answers: AnswerWrites | None = None) -> None:
        """``answers``: shared with the process's journal: cache entries and answer notes commit together."""
        self.database = database
        self._lookups = Batcher(self._look_up, "cache-lookups")
        self._answers = answers or AnswerWrites(database)

    async def get(self, org_id: uuid.UUID, provider: str, action: str, key: str) -> dict[str, Any] | None:
        """The cached answer, or None — also when the database cannot be reached: the request then goes to
        the provider, whose journal write fails the same way and stops it before anything is spent."""
        try:
            return await self._lookups.submit((org_id, provider, action, key))
        except (DBAPIError, OSError) as exc:
            if not connection_lost(exc):
                raise
            log.warning("enrichment cache lookup failed: %s", exc)
            return None

    def put(
        self,
        org_id: uuid.UUID,
        provider: str,
        action: str,
        key: str,
        entry: dict[str, Any],
        *,
        cost: Decimal,
        sandbox: bool,
        ttl: timedelta,
        answers_of: Sequence[uuid.UUID] = (),
    ) -> Awaitable[None]:
        """Queues the entry at once — it joins the answer notes queued in the same moment — and returns
        what waits until it is written. ``answers_of``: the journal ids of the requests whose answers the
        entry holds (``dex.providers.answers.StoreRow``)."""
        row: StoreRow = {
            "org_id": org_id,
            "provider": provider,
            "action": action,
            "request_hash": key,
            "status": entry["status"],
            "http_status": entry.get("http_status"),
            "response": entry,
            "cost_credits": cost,
            "sandbox": sandbox,
            "ttl_seconds": ttl.total_seconds(),
            "answers_of": list(answers_of),
        }
        return self._written(self._answers.store(row))

    @staticmethod
    async def _written(stored: asyncio.Future[None]) -> None:
        try:
            await stored
        except (DBAPIError, OSError) as exc:
            if not connection_lost(exc):
                raise
            # The answer is recorded with its attempt all the same.
            log.warning("enrichment cache write failed: %s", exc)

    async def _look_up(self, keys: list[CacheKey]) -> list[dict[str, Any] | None]:
        params: list[LookupRow] = [
            {"position": position, "org_id": org, "provider": provider, "action": action, "request_hash": key}
            for position, (org, provider, action, key) in enumerate(keys)
        ]
        rows = await self.database.execute_alone(LOOKUP, {"rows": dumps(params)})
        found: list[dict[str, Any] | None] = [None] * len(keys)
        for position, response, cost in rows:
            found[position] = {**response, "cost_credits": cost}
        return found
