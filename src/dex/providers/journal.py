"""The write-ahead journal of provider requests.

A provider bills the moment it answers, but dex records the attempt only when the step's outcome is
written — later, in the executor's batch transaction. A process killed in between would lose the spend.
So every request is journaled first: its row is *committed before the request is sent* (and the request
carries the row's id as ``X-Request-Id``), the answer's status and cost are noted on the row when it
arrives, and the transaction that records the attempt deletes the row. Whatever rows outlive their process
are settled into the history by recovery (``dex.operations.repository.settle_orphaned_calls``).

Writes are group-committed (``dex.db.batching``): 200 concurrent calls cost a handful of round trips,
not 200. When the journal cannot be written the request is not sent:
a call dex could not account for is never made.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dex.db.batching import Batcher
from dex.db.engine import Database, connection_lost
from dex.db.queries import dumps, insert_recordset, recordset
from dex.providers.models import JournaledCall


class OriginFields(TypedDict):
    """The columns a journal row takes from its operation run (:meth:`CallOrigin.row`)."""

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
    """A journal row as written when the request is sent; ``answered``, ``http_status`` and
    ``cost_credits`` follow its answer (:class:`AnswerNote`)."""

    call_id: uuid.UUID
    provider: str
    action: str
    owner: str
    price_credits: Decimal
    sandbox: bool


class AnswerNote(TypedDict):
    call_id: uuid.UUID
    http_status: int | None
    cost_credits: Decimal


_journal = JournaledCall.__table__
INSERT_CALLS = text(insert_recordset(_journal, tuple(JournalRow.__annotations__)))
NOTE_ANSWERS = text(
    "UPDATE provider_call_journal j SET answered = true, http_status = v.http_status, "
    "cost_credits = v.cost_credits "
    f"FROM {recordset(_journal, tuple(AnswerNote.__annotations__))} WHERE j.call_id = v.call_id"
)


def process_owner() -> str:
    """host:pid:nonce — recovery settles the rows of an owner whose process is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JournalUnavailable(Exception):
    """The request's journal row could not be committed, so the request was not sent."""


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

    def __init__(self, database: Database, owner: str | None = None) -> None:
        self.database = database
        self.owner = owner or process_owner()
        self._sent = Batcher(self._insert, "call-journal")
        self._answers = Batcher(self._note_answers, "call-journal-answers")

    async def before_send(
        self,
        origin: CallOrigin,
        call_id: uuid.UUID,
        provider: str,
        action: str,
        *,
        price: Decimal,
        sandbox: bool,
    ) -> None:
        """Returns once the request's row is committed; raises :class:`JournalUnavailable` if it cannot be."""
        row: JournalRow = {
            **origin.row(),
            "call_id": call_id,
            "provider": provider,
            "action": action,
            "owner": self.owner,
            "price_credits": price,
            "sandbox": sandbox,
        }
        try:
            await self._sent.submit(row)
        except (DBAPIError, OSError) as exc:
            if not connection_lost(exc):
                raise
            raise JournalUnavailable(str(exc)) from exc

    def answered(self, call_id: uuid.UUID, http_status: int | None, cost: Decimal) -> None:
        """Notes the answer on the row, without waiting (if the note is lost, recovery prices the request
        as if it had been billed)."""
        self._answers.post({"call_id": call_id, "http_status": http_status, "cost_credits": cost})

    async def _insert(self, rows: list[JournalRow]) -> list[None]:
        async with self.database.engine.begin() as conn:
            await conn.execute(INSERT_CALLS, {"rows": dumps(rows)})
        return [None] * len(rows)

    async def _note_answers(self, rows: list[AnswerNote]) -> list[None]:
        async with self.database.engine.begin() as conn:
            await conn.execute(NOTE_ANSWERS, {"rows": dumps(rows)})
        return [None] * len(rows)
