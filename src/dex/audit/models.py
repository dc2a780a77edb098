"""The audit trail: one row per security-relevant action (logins, credentials, users, orgs and companies,
budgets, webhooks, blueprints). Rows are only ever inserted: no API route updates or deletes them. They
carry no foreign keys on purpose — an audit record outlives the org, user or endpoint it names."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from dex.db.base import Base, check_in, created_at, uuid_pk

ACTOR_TYPES = ("user", "api_token", "internal", "super_admin", "anonymous")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(check_in("actor_type", ACTOR_TYPES), name="actor_type"),
        Index("ix_audit_events_org_id_occurred_at", "org_id", "occurred_at"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    occurred_at: Mapped[datetime] = created_at()
    # The org the action concerns; null for actions outside any org (a super-admin's login).
    org_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_type: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The super-admin's email, or the email a login was attempted with.
    actor_email: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    target_type: Mapped[str | None] = mapped_column(Text)
    target_id: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
