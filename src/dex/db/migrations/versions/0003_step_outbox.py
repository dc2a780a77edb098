"""step outbox for the scale-out executor

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

``step_outbox`` holds one row per waiting (queued or retrying) step for the publisher of ``dex serve
--executor dramatiq``. Triggers on ``step_results`` write the row in the transaction that makes a step
ready and delete it in the one that claims or skips it — only on connections that set ``dex.step_outbox``
to ``on`` (scale-out processes), so the embedded executor's statements pay one evaluated ``WHEN``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "('queued', 'retrying')"
OUTBOX_ON = "current_setting('dex.step_outbox', true) = 'on'"

SYNC_OUTBOX = f"""
CREATE FUNCTION dex_sync_step_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN {WAITING} AND NEW.available_at IS NOT NULL THEN
        INSERT INTO step_outbox (step_id, org_id, available_at)
        VALUES (NEW.id, NEW.org_id, NEW.available_at)
        ON CONFLICT (step_id) DO UPDATE SET available_at = EXCLUDED.available_at, published_at = NULL;
    ELSE
        DELETE FROM step_outbox WHERE step_id = NEW.id;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "step_outbox",
        sa.Column("step_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("org_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["step_results.id"],
            name=op.f("fk_step_outbox_step_id_step_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("step_id", name=op.f("pk_step_outbox")),
    )
    op.create_index(
        "ix_step_outbox_unpublished",
        "step_outbox",
        ["org_id", "available_at"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "ix_step_outbox_published",
        "step_outbox",
        ["published_at"],
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.execute(SYNC_OUTBOX)
    op.execute(
        "CREATE TRIGGER step_outbox_on_insert AFTER INSERT ON step_results FOR EACH ROW "
        f"WHEN (NEW.status IN {WAITING} AND NEW.available_at IS NOT NULL AND {OUTBOX_ON}) "
        "EXECUTE FUNCTION dex_sync_step_outbox()"
    )
    # Fires when a step starts or stops waiting, or its due time moves — not on the updates in between.
    op.execute(
        "CREATE TRIGGER step_outbox_on_update AFTER UPDATE ON step_results FOR EACH ROW "
        f"WHEN (((OLD.status IN {WAITING}) IS DISTINCT FROM (NEW.status IN {WAITING}) "
        f"OR (NEW.status IN {WAITING} AND OLD.available_at IS DISTINCT FROM NEW.available_at)) "
        f"AND {OUTBOX_ON}) "
        "EXECUTE FUNCTION dex_sync_step_outbox()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER step_outbox_on_update ON step_results")
    op.execute("DROP TRIGGER step_outbox_on_insert ON step_results")
    op.execute("DROP FUNCTION dex_sync_step_outbox()")
    op.drop_index(
        "ix_step_outbox_published",
        table_name="step_outbox",
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_step_outbox_unpublished",
        table_name="step_outbox",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("step_outbox")
