"""The enrichment cache: an identical (provider, action, request) answered within its TTL is served from
the database at zero cost. Entries are per org and written outside the caller's transaction — once a
provider was paid, its answer is kept even if the step that asked for it later rolls back.

Every provider call looks the cache up and every answer is stored, so both are group-committed
(``dex.db.batching``): the lookups of all concurrent calls are one query, their stores one upsert."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dex.db.batching import Batcher
from dex.db.engine import Database, connection_lost
from dex.db.queries import dumps, recordset
from dex.providers.models import EnrichmentCacheEntry

log = logging.getLogger(__name__)

CacheKey = tuple[uuid.UUID, str, str, str]  # org, provider, action, request hash


# The rows of the set-based lookup and store; the statements' column lists derive from them.
class KeyFields(TypedDict):
    org_id: uuid.UUID
    provider: str
    action: str
    request_hash: str


class LookupRow(KeyFields):
    position: int


class StoredFields(TypedDict):
    status: str
    http_status: int | None
    response: dict[str, Any]
    cost_credits: Decimal
    sandbox: bool


class StoreRow(KeyFields, StoredFields):
    ttl_seconds: float


_cache = EnrichmentCacheEntry.__table__
_KEY = list(KeyFields.__annotations__)
_STORED = list(StoredFields.__annotations__)
LOOKUP = text(
    f"SELECT v.position, c.response, c.cost_credits FROM {recordset(_cache, _KEY, 'position int')} "
    "JOIN enrichment_cache c USING (org_id, provider, action, request_hash) WHERE c.expires_at > now()"
)
STORE = text(
    f"INSERT INTO enrichment_cache ({', '.join([*_KEY, *_STORED])}, expires_at) "
    f"SELECT {', '.join([*_KEY, *_STORED])}, now() + make_interval(secs => ttl_seconds) "
    f"FROM {recordset(_cache, [*_KEY, *_STORED], 'ttl_seconds float8')} "
    f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in [*_STORED, "expires_at"])
)


class EnrichmentCache:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._lookups = Batcher(self._look_up, "cache-lookups")
        self._stores = Batcher(self._store, "cache-stores")

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

    async def put(
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
    ) -> None:
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
        }
        try:
            await self._stores.submit(row)
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

    async def _store(self, rows: list[StoreRow]) -> list[None]:
        # One upsert cannot touch a row twice: of identical requests answered together, the last one wins.
        latest = {(row["org_id"], row["provider"], row["action"], row["request_hash"]): row for row in rows}
        await self.database.execute_alone(STORE, {"rows": dumps(list(latest.values()))})
        return [None] * len(rows)
