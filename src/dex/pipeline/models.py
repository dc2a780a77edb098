"""Submissions, pipeline runs and step results, shaped for a durable executor:
a step is claimable when it is ``queued`` with ``available_at`` set; a claim is a lease that expires."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from dex.db.base import INLINE_DOCUMENTS, Base, check_in, created_at, updated_at, uuid_pk
from dex.vocabulary import ENTITY_TYPES, RUN_STATUSES, STEP_STATUSES, SUBMISSION_STATUSES


def _tenant_fks(*pairs: tuple[str, str]) -> tuple[ForeignKeyConstraint, ...]:
    """Composite (id, org_id) foreign keys: a child row can only point at parents of its own org."""
    return tuple(
        ForeignKeyConstraint([column, "org_id"], [f"{table}.id", f"{table}.org_id"], ondelete=ondelete)
        for column, spec in pairs
        for table, ondelete in [spec.split(":")]
    )


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        *_tenant_fks(("company_id", "companies:RESTRICT"), ("blueprint_id", "blueprints:RESTRICT")),
        UniqueConstraint("id", "org_id"),
        CheckConstraint(check_in("status", SUBMISSION_STATUSES), name="status"),
        Index("ix_submissions_org_id_created_at", "org_id", text("created_at DESC")),
        Index("ix_submissions_org_id_company_id", "org_id", "company_id"),
        Index("ix_submissions_blueprint_id", "blueprint_id"),
        Index(
            "uq_submissions_org_id_idempotency_key",
            "org_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index(
            "ix_submissions_waiting_for_budget",
            "org_id",
            postgresql_where=text("status = 'waiting_for_budget'"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    blueprint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    blueprint_version_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("blueprint_versions.id", ondelete="RESTRICT")
    )
    submitted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    source: Mapped[str | None] = mapped_column(Text)
    # The submitted entities, kept as received (megabytes for a 100k-entity batch) and never read back
    # by dex: not loaded with the row, and reading it raises.
    input_payload: Mapped[Any] = mapped_column(JSONB, nullable=False, deferred=True, deferred_raiseload=True)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="received")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, nullable=False, server_default="{}")
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the canonical body the key was first used with: a reuse with another body is a conflict.
    idempotency_body_hash: Mapped[str | None] = mapped_column(Text)
    # Run counters kept in the same transaction as every run transition, so the submission's status
    # is derived without scanning its runs (100k-run batches).
    runs_total: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    runs_running: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    runs_succeeded: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    runs_failed: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    runs_canceled: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # Root runs, one per submitted entity, all created at submit: batch status pages through them.
    root_runs: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # The most credits this submission may spend (null: only the org's budget applies).
    budget_credits: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    # What CSV ingestion accepted, collapsed and rejected (row numbers and reasons); null for JSON batches.
    # Up to 10,000 rows: loaded only when asked for (``service.load_submission``).
    ingest_report: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB, deferred=True, deferred_raiseload=True
    )
    # Set by a cancel: queued work is skipped at once, running steps finish and their runs stop there.
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class PipelineRun(Base):
    __tablename__ = "pipeline_runs"
    __table_args__ = (
        *_tenant_fks(
            ("company_id", "companies:RESTRICT"),
            ("blueprint_id", "blueprints:RESTRICT"),
            ("submission_id", "submissions:CASCADE"),
        ),
        UniqueConstraint("id", "org_id"),
        CheckConstraint(check_in("status", RUN_STATUSES), name="status"),
        CheckConstraint(check_in("entity_type", ENTITY_TYPES), name="entity_type"),
        CheckConstraint("attempt > 0", name="attempt_positive"),
        CheckConstraint("blueprint_version > 0", name="blueprint_version_positive"),
        Index("ix_pipeline_runs_org_id_created_at", "org_id", text("created_at DESC")),
        Index("ix_pipeline_runs_submission_id_created_at", "submission_id", "created_at", "id"),
        # Batch status pages through a submission's root runs in this order.
        Index(
            "ix_pipeline_runs_submission_id_roots",
            "submission_id",
            "created_at",
            "entity_index",
            "id",
            postgresql_where=text("parent_pipeline_run_id IS NULL"),
        ),
        Index("ix_pipeline_runs_parent_pipeline_run_id", "parent_pipeline_run_id"),
        Index("ix_pipeline_runs_blueprint_id", "blueprint_id"),
        # An entity's timeline reads the upserts of the runs that merged into it.
        Index("ix_pipeline_runs_entity", "org_id", "entity_type", "entity_id"),
        # Fan-out children are unique per submission by the identity of the entity they carry.
        Index(
            "uq_pipeline_runs_submission_id_dedup_key",
            "submission_id",
            "dedup_key",
            unique=True,
            postgresql_where=text("dedup_key IS NOT NULL"),
        ),
        # Room on each page for a run's two moves to stay heap-only updates (migration 0011), and for a
        # completion's merge to stay in the row (0021).
        {"postgresql_with": {"fillfactor": 70, "toast_tuple_target": 4080}},
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    submission_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    blueprint_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    blueprint_version_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("blueprint_versions.id", ondelete="RESTRICT"), nullable=False
    )
    blueprint_version: Mapped[int] = mapped_column(Integer, nullable=False)
    parent_pipeline_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    trigger_run_id: Mapped[str | None] = mapped_column(Text)
    entity_index: Mapped[int | None] = mapped_column(Integer)
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_input: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    start_from_position: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    dedup_key: Mapped[str | None] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="queued")
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Set when a retry of its submission took the finished run out of the submission's run counters.
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The entity the run's input identifies — once it succeeded, the one it merged into — and what the merge
    # did (``record_version``, ``created``, ``fields_updated``, ``last_operation_id``), written by its
    # completion: the run's ``entity_upsert`` timeline event is read from them
    # (``dex.entities.timeline.UPSERT_EVENTS_SQL``). Set at insert, the entity is rarely changed by the
    # completion, which then stays a heap-only update.
    entity_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    upsert: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A fan-out child's discovery: the operation that found it and the provider that answered, written with
    # the run; its ``fan_out_discovery`` timeline event is read from the run
    # (``dex.entities.timeline.DISCOVERY_EVENTS_SQL``).
    discovery: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class StepResult(Base):
    __tablename__ = "step_results"
    __table_args__ = (
        *_tenant_fks(
            ("company_id", "companies:RESTRICT"),
            ("pipeline_run_id", "pipeline_runs:CASCADE"),
            ("submission_id", "submissions:CASCADE"),
        ),
        UniqueConstraint("pipeline_run_id", "step_position"),
        CheckConstraint(check_in("status", STEP_STATUSES), name="status"),
        CheckConstraint("step_position > 0", name="step_position_positive"),
        CheckConstraint("attempt >= 0", name="attempt_nonnegative"),
        CheckConstraint("duration_ms IS NULL OR duration_ms >= 0", name="duration_nonnegative"),
        Index("ix_step_results_submission_id", "submission_id"),
        # The executor's claim queue: only ready steps are in it.
        Index(
            "ix_step_results_ready",
            "org_id",
            "available_at",
            postgresql_where=text("status IN ('queued', 'retrying') AND available_at IS NOT NULL"),
        ),
        # Steps parked by a budget, found again when the budget is raised (empty unless budgets bite).
        Index(
            "ix_step_results_budget_exhausted",
            "org_id",
            "submission_id",
            postgresql_where=text("status = 'budget_exhausted'"),
        ),
        # Lease recovery: running steps ordered by lease expiry.
        Index(
            "ix_step_results_running_lease",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
        ),
        INLINE_DOCUMENTS,
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    pipeline_run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    submission_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    step_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("steps.id", ondelete="RESTRICT")
    )
    blueprint_step_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("blueprint_steps.id", ondelete="SET NULL")
    )
    step_position: Mapped[int] = mapped_column(Integer, nullable=False)
    operation_id: Mapped[str | None] = mapped_column(Text)
    task_run_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="queued")
    # How many times the step was claimed to run (0 until first started); a re-claim after a transient
    # failure or an expired lease increments it, and a completion must present the attempt it claimed.
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    available_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(Text)
    input_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    output_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    # The step's ``step_execution`` timeline event is read from its row once it finished
    # (``dex.entities.timeline.STEP_EVENTS_SQL``) instead of being written: set by dex for the steps whose row
    # says all the event does (no condition on the step, the context stored as its changes).
    event_from_row: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class StepOutbox(Base):
    """Steps waiting to run, for the scale-out publisher (``dex.scaleout``). A row exists exactly while its
    step is queued or retrying: the ``step_outbox_*`` triggers write it in the transaction that makes the
    step ready and delete it in the one that claims or skips it — on connections with ``dex.step_outbox``
    on, so the embedded executor pays nothing. ``published_at`` is set once the step is sent to the broker;
    a row published long ago whose step is still waiting was lost on the way and is sent again."""

    __tablename__ = "step_outbox"
    __table_args__ = (
        # The publisher's queue: unpublished rows, taken org by org.
        Index(
            "ix_step_outbox_unpublished",
            "org_id",
            "available_at",
            postgresql_where=text("published_at IS NULL"),
        ),
        # In flight in the broker: counted to bound the broker's backlog, swept when too old.
        Index("ix_step_outbox_published", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )

    step_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("step_results.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExecutorHeartbeat(Base):
    """One row per executor process (an embedded executor or a scale-out worker), renewed every second or
    so while it lives. Once ``expires_at`` has passed while another process kept beating, the process is
    taken for gone wherever it ran: the steps it leased go back to the queue then, not when their (long)
    leases would have run out (``dex.pipeline.heartbeats``)."""

    __tablename__ = "executor_heartbeats"

    worker: Mapped[str] = mapped_column(Text, primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Since when this process has beaten without a gap (its row never expired in between).
    beating_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
