"""Spend counters behind budgets. Both are kept by the ``dex_count_spend`` trigger on ``operation_runs``
(migration 0002), so every recorded provider cost — pipeline steps and direct executes alike — counts,
in the transaction that records it, and checking a budget is a primary-key lookup instead of a SUM over
an ever-growing ledger. ``reserved_credits`` holds the prices of calls in flight, taken when each is
journaled and given back (trigger ``dex_release_reservations``, migration 0006) when its real cost is
recorded."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from dex.db.base import Base


class OrgSpend(Base):
    __tablename__ = "org_spend"

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    spent_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False, server_default="0")
    # Prices of calls sent but not yet settled (dex.providers.journal); spent + reserved stays within budget.
    reserved_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False, server_default="0")


class SubmissionSpend(Base):
    __tablename__ = "submission_spend"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    spent_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False, server_default="0")
    # Prices of calls sent but not yet settled (dex.providers.journal); spent + reserved stays within budget.
    reserved_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False, server_default="0")
