"""Operation execution history: one row per operation run, its provider attempts with it.

The attempts are a JSON list on their run (each as ``dex.operations.repository.OperationAttemptRow``): they
are written and read with it. The view ``operation_attempts`` (migration 0015) lists them one per row for
the readers that sum or filter them in SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from dex.db.base import WHOLE_DOCUMENTS, Base, check_in, created_at
from dex.vocabulary import ENTITY_TYPES

OPERATION_STATUSES = ("found", "not_found", "failed", "verified", "skipped")


class OperationRun(Base):
    __tablename__ = "operation_runs"
    __table_args__ = (
        CheckConstraint(check_in("status", OPERATION_STATUSES), name="status"),
        CheckConstraint(check_in("entity_type", ENTITY_TYPES), name="entity_type"),
        Index("ix_operation_runs_org_id_created_at", "org_id", text("created_at DESC")),
        Index("ix_operation_runs_operation_id_created_at", "operation_id", text("created_at DESC")),
        Index("ix_operation_runs_step_result_id", "step_result_id"),
        Index("ix_operation_runs_pipeline_run_id", "pipeline_run_id"),
        # The cost ledger of one submission (batch status, usage filtered by submission).
        Index("ix_operation_runs_submission_id", "submission_id"),
        WHOLE_DOCUMENTS,
    )

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    role: Mapped[str] = mapped_column(Text, nullable=False)
    auth_method: Mapped[str] = mapped_column(Text, nullable=False)
    operation_id: Mapped[str] = mapped_column(Text, nullable=False)
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    missing_inputs: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default="[]")
    # NULL for a pipeline step's run: its input is the step's (``step_results.input_payload``).
    input_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    output_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    pipeline_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    step_result_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    submission_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    cost_credits: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False, server_default="0")
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    # The provider attempts, in the order they were made; each keeps the journal ids of the requests it
    # made (sent as ``X-Request-Id``) and what each cost, for reconciling with a provider's own records.
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, server_default="[]")
    created_at: Mapped[datetime] = created_at()
