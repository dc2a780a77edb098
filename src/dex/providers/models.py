"""The tables the provider layer owns: the write-ahead journal of provider requests and the enrichment
cache."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, Numeric, SmallInteger, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from dex.db.base import WHOLE_DOCUMENTS, Base, created_at

# The journal's partitions: rows go to the hour they were written in, modulo ``JOURNAL_SLOTS``.
JOURNAL_SLOTS = 3
JOURNAL_SLOT_SECONDS = 3600
# The hour now is in (the database's clock, the same for every process).
JOURNAL_HOUR = f"CAST(floor(extract(epoch FROM now()) / {JOURNAL_SLOT_SECONDS}) AS bigint)"
# The partition a row written now goes to.
JOURNAL_SLOT_OF_NOW = f"({JOURNAL_HOUR} % {JOURNAL_SLOTS})"
# The partition written two hours ago: the next one to come round again, emptied before it does.
OLD_JOURNAL_SLOT = f"(({JOURNAL_HOUR} + 1) % {JOURNAL_SLOTS})"


def journal_partition(slot: int) -> str:
    return f"provider_call_journal_{slot}"


class JournaledCall(Base):
    """The write-ahead journal of provider requests: a row is committed before its request is sent, and the
    transaction that records the attempt that made it records it under the row's ``run_id``. A row that
    outlives its process (SIGKILL, a lost step) is settled into the history by recovery, so no paid call
    goes unrecorded. Rows stay until their partition (``slot``: the hour they were written in, modulo
    ``JOURNAL_SLOTS``) is two hours old and emptied at once (migration 0019)."""

    __tablename__ = "provider_call_journal"
    __table_args__ = (
        Index("ix_provider_call_journal_run_id", "run_id"),
        Index("ix_provider_call_journal_owner", "owner"),
        Index(
            "ix_provider_call_journal_released", "org_id", "request_hash", postgresql_where=text("released")
        ),
        Index("ix_provider_call_journal_released_step", "step_result_id", postgresql_where=text("released")),
        {"postgresql_partition_by": "LIST (slot)"},
    )

    call_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    slot: Mapped[int] = mapped_column(
        SmallInteger,
        primary_key=True,
        server_default=text(JOURNAL_SLOT_OF_NOW),
    )
    # The operation run the request's attempt will be recorded under.
    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    role: Mapped[str] = mapped_column(Text, nullable=False)
    auth_method: Mapped[str] = mapped_column(Text, nullable=False)
    operation_id: Mapped[str] = mapped_column(Text, nullable=False)
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    pipeline_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    step_result_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    submission_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    # The process that sent it: host:pid:nonce.
    owner: Mapped[str] = mapped_column(Text, nullable=False)
    # What the request costs if the provider bills it; the answer, once one arrived.
    price_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False)
    sandbox: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # Noted when the answer arrives — unless a cache entry written with the note holds the answer and
    # names this row (``EnrichmentCacheEntry.answers_of``), which says as much.
    answered: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    http_status: Mapped[int | None] = mapped_column(Integer)
    cost_credits: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    # A paid request's identity (its provider, action, method, path and inputs hashed) and its answer
    # (``{"body": ...}``), kept before the answer is used so that no crash makes dex pay for it again.
    request_hash: Mapped[str | None] = mapped_column(Text)
    response: Mapped[Any | None] = mapped_column(JSONB)
    # The process that sent it is gone and the answer awaits the next identical request of the org, which
    # takes the row over instead of being sent (``dex.providers.journal``).
    released: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    # What the request reserved against its org's and submission's budgets; released when the row goes.
    reserved_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False, server_default="0")
    created_at: Mapped[datetime] = created_at()


class SettledCallOwner(Base):
    """A dead process whose journal rows recovery has settled: its recorded rows, which stay until their
    partitions are emptied, are not looked at again."""

    __tablename__ = "provider_call_settled_owners"

    owner: Mapped[str] = mapped_column(Text, primary_key=True)
    settled_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )


class EnrichmentCacheEntry(Base):
    """A provider answer, kept per org so an identical request within its TTL is not paid twice."""

    __tablename__ = "enrichment_cache"
    __table_args__ = (Index("ix_enrichment_cache_expires_at", "expires_at"), WHOLE_DOCUMENTS)

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(Text, primary_key=True)
    action: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSONB)
    cost_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False, server_default="0")
    sandbox: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The journal rows whose answers the entry holds: their requests were answered, and their own rows
    # carry no note of it (``dex.providers.groupcommit``).
    answers_of: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    created_at: Mapped[datetime] = created_at()
