"""engine efficiency: the journal keeps answers, executors beat a heartbeat

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

``provider_call_journal`` keeps each paid answer (``response``) with the hash of the request it answers
(``request_hash``), written before the answer is used. When its process dies, recovery *releases* such a
row instead of settling it, and the next identical request of the org takes the row over instead of being
sent: an answer that reached dex is paid for once. ``ix_provider_call_journal_released`` holds only the
released rows. ``executor_heartbeats`` has a row per executor process (embedded executor or scale-out
worker), renewed every second or so; a process whose row expired while others kept beating is gone, and
its steps run elsewhere.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("provider_call_journal", sa.Column("request_hash", sa.Text(), nullable=True))
    op.add_column(
        "provider_call_journal", sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "provider_call_journal",
        sa.Column("released", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "ix_provider_call_journal_released",
        "provider_call_journal",
        ["org_id", "request_hash"],
        postgresql_where=sa.text("released"),
    )
    op.create_table(
        "executor_heartbeats",
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beating_since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_executor_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("executor_heartbeats")
    op.drop_index("ix_provider_call_journal_released", table_name="provider_call_journal")
    for column in ("released", "response", "request_hash"):
        op.drop_column("provider_call_journal", column)
