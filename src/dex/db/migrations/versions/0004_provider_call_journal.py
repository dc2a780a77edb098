"""write-ahead journal of provider requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

``provider_call_journal`` holds a row per provider request from just before it is sent until the attempt
that made it is recorded; ``operation_attempts.call_ids``/``call_costs`` tie each attempt to its requests
and what each cost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "operation_attempts",
        sa.Column(
            "call_ids",
            postgresql.ARRAY(postgresql.UUID(as_uuid=True)),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column(
        "operation_attempts",
        sa.Column("call_costs", postgresql.ARRAY(sa.Numeric(14, 4)), server_default="{}", nullable=False),
    )
    op.create_table(
        "provider_call_journal",
        sa.Column("call_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("run_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("org_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("company_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("auth_method", sa.Text(), nullable=False),
        sa.Column("operation_id", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("pipeline_run_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("step_result_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("submission_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("price_credits", sa.Numeric(14, 4), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("answered", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("cost_credits", sa.Numeric(14, 4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_provider_call_journal_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_provider_call_journal")),
    )
    op.create_index("ix_provider_call_journal_owner", "provider_call_journal", ["owner"])
    op.create_index("ix_provider_call_journal_run_id", "provider_call_journal", ["run_id"])
    op.create_index("ix_provider_call_journal_step_result_id", "provider_call_journal", ["step_result_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_call_journal_step_result_id", table_name="provider_call_journal")
    op.drop_index("ix_provider_call_journal_run_id", table_name="provider_call_journal")
    op.drop_index("ix_provider_call_journal_owner", table_name="provider_call_journal")
    op.drop_table("provider_call_journal")
    op.drop_column("operation_attempts", "call_costs")
    op.drop_column("operation_attempts", "call_ids")
