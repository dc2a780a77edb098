"""Canonical entity state, snapshots and timeline, with unique natural keys per org."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
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
from dex.vocabulary import ENTITY_TYPES

TIMELINE_STATUSES = ("found", "not_found", "failed", "skipped")


class CompanyEntity(Base):
    __tablename__ = "company_entities"
    __table_args__ = (
        CheckConstraint("record_version > 0", name="record_version_positive"),
        Index(
            "uq_company_entities_org_id_canonical_domain",
            "org_id",
            "canonical_domain",
            unique=True,
            postgresql_where=text("canonical_domain IS NOT NULL"),
        ),
        Index("ix_company_entities_org_id_linkedin_url", "org_id", "linkedin_url"),
        Index("ix_company_entities_org_id_company_id", "org_id", "company_id"),
        Index("ix_company_entities_org_id_updated_at", "org_id", text("updated_at DESC"), "entity_id"),
        INLINE_DOCUMENTS,
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    canonical_domain: Mapped[str | None] = mapped_column(Text)
    canonical_name: Mapped[str | None] = mapped_column(Text)
    linkedin_url: Mapped[str | None] = mapped_column(Text)
    industry: Mapped[str | None] = mapped_column(Text)
    employee_count: Mapped[int | None] = mapped_column(Integer)
    employee_range: Mapped[str | None] = mapped_column(Text)
    revenue_band: Mapped[str | None] = mapped_column(Text)
    hq_country: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    enrichment_confidence: Mapped[Decimal | None] = mapped_column(Numeric)
    source_providers: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    last_enriched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_operation_id: Mapped[str | None] = mapped_column(Text)
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    record_version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
    canonical_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The last writer of each field, by source (dex.entities.provenance).
    field_provenance: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, server_default="[]")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class PersonEntity(Base):
    __tablename__ = "person_entities"
    __table_args__ = (
        CheckConstraint("record_version > 0", name="record_version_positive"),
        Index(
            "uq_person_entities_org_id_linkedin_url",
            "org_id",
            "linkedin_url",
            unique=True,
            postgresql_where=text("linkedin_url IS NOT NULL"),
        ),
        Index(
            "uq_person_entities_org_id_work_email",
            "org_id",
            "work_email",
            unique=True,
            postgresql_where=text("work_email IS NOT NULL"),
        ),
        Index("ix_person_entities_org_id_company_id", "org_id", "company_id"),
        Index("ix_person_entities_org_id_updated_at", "org_id", text("updated_at DESC"), "entity_id"),
        INLINE_DOCUMENTS,
    )

    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    full_name: Mapped[str | None] = mapped_column(Text)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    linkedin_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    seniority: Mapped[str | None] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    work_email: Mapped[str | None] = mapped_column(Text)
    email_status: Mapped[str | None] = mapped_column(Text)
    phone_e164: Mapped[str | None] = mapped_column(Text)
    contact_confidence: Mapped[Decimal | None] = mapped_column(Numeric)
    company_domain: Mapped[str | None] = mapped_column(Text)
    last_enriched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_operation_id: Mapped[str | None] = mapped_column(Text)
    last_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    record_version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="1")
    canonical_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    field_provenance: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, server_default="[]")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class EntitySnapshot(Base):
    __tablename__ = "entity_snapshots"
    __table_args__ = (
        UniqueConstraint("org_id", "entity_type", "entity_id", "record_version"),
        CheckConstraint(check_in("entity_type", ENTITY_TYPES), name="entity_type"),
        Index(
            "ix_entity_snapshots_entity_captured_at",
            "org_id",
            "entity_type",
            "entity_id",
            text("captured_at DESC"),
        ),
        Index("ix_entity_snapshots_source_run_id", "source_run_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    record_version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    canonical_payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    captured_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )
    source_run_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("pipeline_runs.id", ondelete="SET NULL")
    )


class EntityTimelineEvent(Base):
    __tablename__ = "entity_timeline"
    __table_args__ = (
        CheckConstraint(check_in("entity_type", ENTITY_TYPES), name="entity_type"),
        CheckConstraint(check_in("status", TIMELINE_STATUSES), name="status"),
        Index(
            "ix_entity_timeline_entity_created_at",
            "org_id",
            "entity_type",
            "entity_id",
            text("created_at DESC"),
        ),
        Index("ix_entity_timeline_org_id_pipeline_run_id", "org_id", "pipeline_run_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    operation_id: Mapped[str] = mapped_column(Text, nullable=False)
    pipeline_run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    submission_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    step_result_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    fields_updated: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    summary: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = created_at()
