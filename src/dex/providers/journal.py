"""The write-ahead journal of provider requests.

A provider bills the moment it answers, but dex records the attempt only when the step's outcome is
written — later, in the executor's batch transaction. A process killed in between would lose the spend.
So every request is journaled first: its row is *committed before the request is sent* (and the request
carries the row's id as ``X-Request-Id``), the answer's status and cost are noted on the row when it
arrives, and the transaction that records the attempt records it in the operation run named by the row's
``run_id``, which is what marks the row recorded: the row itself is not written again. Whatever rows
outlive their process unrecorded are settled into the history by recovery
(``dex.operations.repository.settle_orphaned_calls``), which claims each such execution by inserting its
interrupted run under the execution's id, then takes its rows out — so a late recording of it (the process
was only silent) records nothing; requests it made after the claim are a later claim's. Rows stay until the
hour's partition they were written in is two hours old and emptied at once
(``dex.operations.repository.empty_old_journal_slot``).

A paid answer is also kept on its row, with a hash of the request, and the adapter's attempt is handed
to its step only once that note is committed (the adapter maps the answer meanwhile, and its cache entry
usually joins the note's statement and stands for it: ``dex.providers.groupcommit``): a SIGKILL can then
lose only answers that had not reached dex. Recovery *releases* the answered rows of a dead process
(instead of settling them) when they belong to a pipeline step, and the step's re-run — its next identical
request — takes the row over instead of being sent (:class:`ReusedAnswer`): it records the request, once,
at what it cost. Rows nobody takes over wait through the step's retries, parking and the journal's hours,
and are settled when the step is done for good or canceled.

Writes are group-committed with the cache's lookups and entries (``dex.providers.groupcommit``): 200
concurrent calls cost a handful of round trips, not 200. When the journal cannot be written the request is
not sent: a call dex could not account for is never made.

A call of a budgeted org or submission is journaled on its own instead, in one transaction with the
reservation of its price on the org's and the submission's spend counters: the reservation is a
conditional ``UPDATE`` (spent + reserved + price within the budget), so it holds across processes. A call
whose price does not fit is not journaled and not sent (:class:`BudgetRefused`). The reservation is given
back when the row leaves the journal — such a row is deleted by the transaction that records the call's
real cost (which the spend trigger adds in the same transaction), or by recovery — so a budget is never
overshot by more than the gap between a reserved price and what the call really cost, which is never
negative.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dex.db.engine import Database, connection_lost
from dex.db.queries import dumps, insert_recordset
from dex.providers.groupcommit import (
    ASKED_CTE,
    ROW_COLUMNS,
    TAKE_OVER_CTE,
    TAKEN_ROWS,
    Answer,
    CachedAnswer,
    JournalRow,
    KeyFields,
    OriginFields,
    ProviderGroupCommit,
    TakenRow,
    taken_row,
)
from dex.providers.models import JournaledCall

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReusedAnswer:
    """The kept answer of an identical request whose process died before recording it: the journal row
    (``call_id``) now belongs to the request that took it over, and is recorded with its attempt."""

    call_id: uuid.UUID
    http_status: int | None
    body: Any
    cost: Decimal
    # A garbled answer stays garbled when taken over (a failure worth retrying, never an empty answer).
    error: str | None

    @classmethod
    def of(cls, taken: TakenRow) -> ReusedAnswer:
        kept = taken.response
        return cls(taken.call_id, taken.http_status, kept["body"], taken.cost_credits, kept.get("error"))


_journal = JournaledCall.__table__
TAKE_OVER = text(f"WITH {ASKED_CTE}, {TAKE_OVER_CTE} {TAKEN_ROWS}")
INSERT_RESERVED_CALL = text(insert_recordset(_journal, [*ROW_COLUMNS, "reserved_credits"]))


def process_owner() -> str:
    """host:pid:nonce — recovery settles the rows of an owner whose process is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JournalUnavailable(Exception):
    """The request's journal row could not be committed, so the request was not sent."""


class BudgetRefused(Exception):
    """The request's price does not fit its org's or submission's budget, so it was not sent."""

    def __init__(self, price: Decimal) -> None:
        super().__init__(f"a call of {price:f} credits does not fit the budget")
        self.price = price


# Counter rows exist before a conditional UPDATE can reserve on them.
ENSURE_SPEND_ROWS = text(
    """
    WITH org AS (INSERT INTO org_spend (org_id) VALUES (:org_id) ON CONFLICT DO NOTHING)
    INSERT INTO submission_spend (submission_id)
    SELECT CAST(:submission_id AS uuid) WHERE CAST(:submission_id AS uuid) IS NOT NULL
    ON CONFLICT DO NOTHING
    """
)
# Reserves ``price`` on the org (always) and on the submission (when there is one), each only if it fits
# the budget there. Row locks make concurrent reservations of any process queue on the counter rows.
RESERVE = text(
    """
    WITH org AS (
        UPDATE org_spend counter SET reserved_credits = counter.reserved_credits + :price
        FROM orgs o
        WHERE counter.org_id = :org_id AND o.id = counter.org_id
          AND (o.budget_credits IS NULL
               OR counter.spent_credits + counter.reserved_credits + :price <= o.budget_credits)
        RETURNING counter.org_id
    ), submission AS (
        UPDATE submission_spend counter SET reserved_credits = counter.reserved_credits + :price
        FROM submissions s
        WHERE counter.submission_id = CAST(:submission_id AS uuid) AND s.id = counter.submission_id
          AND EXISTS (SELECT 1 FROM org)
          AND (s.budget_credits IS NULL
               OR counter.spent_credits + counter.reserved_credits + :price <= s.budget_credits)
        RETURNING counter.submission_id
    )
    SELECT (SELECT count(*) FROM org) AS org, (SELECT count(*) FROM submission) AS submission
    """
)


class _Refused(Exception):
    """Rolls the reservation transaction back."""


@dataclass(frozen=True)
class Requester:
    """Who provider requests are made for: the fields their operation run is recorded with."""

    role: str
    auth_method: str
    company_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    pipeline_run_id: uuid.UUID | None = None
    step_result_id: uuid.UUID | None = None
    submission_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CallOrigin:
    """The operation run a request belongs to."""

    org_id: uuid.UUID
    run_id: uuid.UUID
    operation_id: str
    entity_type: str
    requester: Requester

    def row(self) -> OriginFields:
        requester = self.requester
        return {
            "org_id": self.org_id,
            "run_id": self.run_id,
            "operation_id": self.operation_id,
            "entity_type": self.entity_type,
            "role": requester.role,
            "auth_method": requester.auth_method,
            "company_id": requester.company_id,
            "user_id": requester.user_id,
            "pipeline_run_id": requester.pipeline_run_id,
            "step_result_id": requester.step_result_id,
            "submission_id": requester.submission_id,
        }


class CallJournal:
    """One per process; ``owner`` identifies the process on every row it writes."""

    def __init__(
        self, database: Database, statements: ProviderGroupCommit | None = None, owner: str | None = None
    ) -> None:
        """``statements``: shared with the process's cache, so its lookups and entries and the journal's
        rows and notes commit together."""
        self.database = database
        self.owner = owner or process_owner()
        self._statements = statements or ProviderGroupCommit(database)

    async def before_send(
        self,
        origin: CallOrigin,
        call_id: uuid.UUID,
        provider: str,
        action: str,
        *,
        price: Decimal,
        sandbox: bool,
        request_hash: str | None = None,
        reserve: bool = False,
        unless_cached: KeyFields | None = None,
    ) -> CachedAnswer | ReusedAnswer | None:
        """Returns once the request's row is committed; raises :class:`JournalUnavailable` if it cannot be.
        With ``request_hash`` (a paid request) it may instead return the kept answer of an identical
        request that a dead process made: the request must then not be sent. With ``reserve`` (the org or
        submission has a budget) a priced request first reserves its price, and raises
        :class:`BudgetRefused` when it does not fit. With ``unless_cached`` (the cache key of the adapter
        call the request is the first of) it returns the cache's answer to the call instead, if there is
        one, and journals nothing: the call is answered without being sent."""
        row: JournalRow = {
            **origin.row(),
            "call_id": call_id,
            "provider": provider,
            "action": action,
            "owner": self.owner,
            "price_credits": price,
            "sandbox": sandbox,
            "request_hash": request_hash,
        }
        try:
            if reserve and price > 0:
                if unless_cached is not None:
                    found = await self._statements.look_up(unless_cached)
                    if isinstance(found, CachedAnswer):
                        return found
                return await self._reserve_and_insert(row, price)
            answer = await self._statements.journal(row, unless_cached)
        except (DBAPIError, OSError) as exc:
            if not connection_lost(exc):
                raise
            raise JournalUnavailable(str(exc)) from exc
        if isinstance(answer, TakenRow):
            return ReusedAnswer.of(answer)
        return answer

    async def answered(
        self, call_id: uuid.UUID, http_status: int | None, cost: Decimal, body: Any, error: str | None = None
    ) -> None:
        """:meth:`note_answer`, waiting until the answer is kept."""
        note = self.note_answer(call_id, http_status, cost, body, error)
        await self.kept([note] if note is not None else [])

    def note_answer(
        self, call_id: uuid.UUID, http_status: int | None, cost: Decimal, body: Any, error: str | None = None
    ) -> asyncio.Future[Answer] | None:
        """Notes the answer on the row, at once. A paid answer is kept with it: the returned note is done
        once that is committed, and the caller must wait for it (:meth:`kept`) before its step uses the
        answer, so a crash can lose only answers that had not reached dex. The adapter maps the answer
        meanwhile, and its cache entry joins the note (``dex.providers.groupcommit``). A free answer is noted
        without waiting."""
        if cost <= 0:
            self._statements.post_note(
                {"call_id": call_id, "http_status": http_status, "cost_credits": cost, "response": None}
            )
            return None
        return self._statements.note(
            {
                "call_id": call_id,
                "http_status": http_status,
                "cost_credits": cost,
                "response": {"body": body, "error": error},
            }
        )

    @staticmethod
    async def kept(notes: list[asyncio.Future[Answer]]) -> None:
        """Waits until the noted answers are committed. If a note cannot be written the answer is used all
        the same — it is paid for — and recovery prices the request as if it had been billed."""
        for note in notes:
            try:
                await note
            except (DBAPIError, OSError) as exc:
                if not connection_lost(exc):
                    raise
                log.warning("a provider's answer could not be kept: %s", exc)

    async def _reserve_and_insert(self, row: JournalRow, price: Decimal) -> ReusedAnswer | None:
        submission_id = row["submission_id"]
        params = {"org_id": row["org_id"], "submission_id": submission_id, "price": price}
        try:
            async with self.database.engine.begin() as conn:
                if row["request_hash"] is not None:
                    taken = (await conn.execute(TAKE_OVER, {"rows": dumps([row])})).first()
                    if taken is not None:  # already paid for: nothing to reserve
                        return ReusedAnswer.of(taken_row(taken))
                await conn.execute(ENSURE_SPEND_ROWS, params)
                reserved = (await conn.execute(RESERVE, params)).one()
                if not reserved.org or (submission_id is not None and not reserved.submission):
                    raise _Refused
                await conn.execute(
                    INSERT_RESERVED_CALL, {"rows": dumps([{**row, "reserved_credits": price}])}
                )
        except _Refused:
            raise BudgetRefused(price) from None
        return None
