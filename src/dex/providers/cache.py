"""The enrichment cache: an identical (provider, action, request) answered within its TTL is served from
the database at zero cost. Entries are per org and written outside the caller's transaction — once a
provider was paid, its answer is kept even if the step that asked for it later rolls back.

Every provider call looks the cache up and every answer is stored, so both are group-committed, with the
journal's rows and notes, in one statement per batch (``dex.providers.groupcommit``)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import DBAPIError

from dex.db.engine import Database, connection_lost
from dex.providers.groupcommit import Answer, CachedAnswer, ProviderGroupCommit, StoreRow

log = logging.getLogger(__name__)


class EnrichmentCache:
    def __init__(self, database: Database, statements: ProviderGroupCommit | None = None) -> None:
        """``statements``: shared with the process's journal, so lookups, entries, journal rows and answer
        notes commit together."""
        self.database = database
        self._statements = statements or ProviderGroupCommit(database)

    async def get(self, org_id: uuid.UUID, provider: str, action: str, key: str) -> dict[str, Any] | None:
        """The cached answer, or None — also when the database cannot be reached: the request then goes to
        the provider, whose journal write fails the same way and stops it before anything is spent."""
        try:
            found = await self._statements.look_up(
                {"org_id": org_id, "provider": provider, "action": action, "request_hash": key}
            )
        except (DBAPIError, OSError) as exc:
            if not connection_lost(exc):
                raise
            log.warning("enrichment cache lookup failed: %s", exc)
            return None
        return found.entry() if isinstance(found, CachedAnswer) else None

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
        entry holds (``dex.providers.groupcommit.StoreRow``)."""
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
        return self._written(self._statements.store(row))

    @staticmethod
    async def _written(stored: asyncio.Future[Answer]) -> None:
        try:
            await stored
        except (DBAPIError, OSError) as exc:
            if not connection_lost(exc):
                raise
            # The answer is recorded with its attempt all the same.
            log.warning("enrichment cache write failed: %s", exc)
