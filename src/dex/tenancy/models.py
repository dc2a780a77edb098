"""Tenancy tables: orgs → companies → users, API tokens, super-admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

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

from dex.db.base import Base, check_in, created_at, updated_at, uuid_pk

Role = Literal["org_admin", "company_admin", "member"]
ROLES: tuple[Role, ...] = get_args(Role)
LOGIN_SUBJECTS = ("account", "address")


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    slug: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    # The most credits the org may spend on providers (null: unlimited); see dex.usage.budgets.
    budget_credits: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class Company(Base):
    """A tenant's client company (org → company → user); not an enriched company entity."""

    __tablename__ = "companies"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        # Target of the composite foreign keys that keep every child row inside its org.
        UniqueConstraint("id", "org_id"),
        Index(
            "uq_companies_org_id_external_ref",
            "org_id",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        Index("ix_companies_org_id_domain", "org_id", "domain"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    external_ref: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        ForeignKeyConstraint(
            ["company_id", "org_id"], ["companies.id", "companies.org_id"], ondelete="RESTRICT"
        ),
        CheckConstraint(check_in("role", ROLES), name="role"),
        # Emails are stored lowercased; uniqueness is global as in the seed system.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        Index("ix_users_org_id_company_id", "org_id", "company_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    email: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    full_name: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    password_hash: Mapped[str | None] = mapped_column(Text)
    # Bumped on deactivation or password change: JWTs carrying an older value are rejected at once.
    token_generation: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["company_id", "org_id"], ["companies.id", "companies.org_id"], ondelete="RESTRICT"
        ),
        CheckConstraint(check_in("role", ROLES), name="role"),
        Index("ix_api_tokens_org_id", "org_id"),
        Index("ix_api_tokens_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    org_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
    )
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    token_hash: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SuperAdmin(Base):
    __tablename__ = "super_admins"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    token_generation: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


StepType = Literal["clean", "enrich", "analyze", "extract", "transform"]
STEP_TYPES: tuple[StepType, ...] = get_args(StepType)


class LegacyStep(Base):
    """The global registry of generic HTTP steps. Kept for API compatibility only;
    dex's runner executes operations, never these."""

    __tablename__ = "steps"
    __table_args__ = (CheckConstraint(check_in("step_type", STEP_TYPES), name="step_type"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    # Not unique: the seed system's default "execute-step" made a second registration fail.
    task_id: Mapped[str] = mapped_column(Text, nullable=False, server_default="execute-step")
    name: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    step_type: Mapped[str] = mapped_column(Text, nullable=False)
    default_config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    input_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    output_schema: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    url: Mapped[str] = mapped_column(
        Text, nullable=False, server_default="https://example.invalid/step-endpoint"
    )
    method: Mapped[str] = mapped_column(Text, nullable=False, server_default="POST")
    auth_type: Mapped[str | None] = mapped_column(Text)
    auth_config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    payload_template: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    response_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    timeout_ms: Mapped[int | None] = mapped_column(Integer, server_default="30000")
    retry_config: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default='{"max_attempts": 3, "backoff_factor": 2}'
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class LoginFailure(Base):
    """Recent failed logins of one account or one client address (``subject``: ``account`` or
    ``address``; ``key``: the login kind and the email as typed, lowercased, or the address). Kept in
    PostgreSQL so every API process and worker sees the same counts. A row exists whether or not the
    account does, so the answers never tell them apart."""

    __tablename__ = "login_failures"
    __table_args__ = (
        CheckConstraint(check_in("subject", LOGIN_SUBJECTS), name="subject"),
        # Finds the counts that have run out, which every failed login prunes a few of.
        Index("ix_login_failures_last_failed_at", "last_failed_at"),
    )

    subject: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(nullable=False)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
