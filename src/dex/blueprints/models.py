"""Blueprints (org-scoped pipelines), their steps and immutable versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from dex.db.base import Base, created_at, updated_at, uuid_pk


class Blueprint(Base):
    __tablename__ = "blueprints"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        UniqueConstraint("id", "org_id"),
        CheckConstraint("version > 0", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    # The latest version number; every change of steps or settings writes a new blueprint_versions row.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    # The entity type its runs start with (company when unset, as in the seed system).
    entity_type: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class BlueprintStep(Base):
    __tablename__ = "blueprint_steps"
    __table_args__ = (
        UniqueConstraint("blueprint_id", "position"),
        CheckConstraint("position > 0", name="position_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    blueprint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("blueprints.id", ondelete="CASCADE"), nullable=False, index=True
    )
    step_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("steps.id", ondelete="RESTRICT")
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    is_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    operation_id: Mapped[str | None] = mapped_column(Text, index=True)
    step_config: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    fan_out: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class BlueprintVersion(Base):
    """An immutable snapshot of a blueprint as it was at one version. Runs point here instead of
    each carrying its own copy, so a 100k-entity batch stores the blueprint once."""

    __tablename__ = "blueprint_versions"
    __table_args__ = (
        UniqueConstraint("blueprint_id", "version"),
        UniqueConstraint("id", "org_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    blueprint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("blueprints.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = created_at()
