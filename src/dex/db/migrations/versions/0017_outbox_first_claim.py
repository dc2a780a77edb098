"""a scale-out worker has the first claim, for a moment, on the steps its recordings make ready

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05

A worker's recording runs the steps it makes ready in the slots of the steps it recorded; a fan-out makes
more ready than that, and those went through the outbox and the broker back to a worker — three outbox
row writes, a publication and a message each, a fifth of a one-worker batch's time. A connection may now
set ``dex.step_outbox_grace`` (seconds): the outbox rows of the waiting steps it *inserts* become due that
much later, and the worker claims those steps itself as its slots free up. Whatever it has not claimed
by then is published as before (a worker that died meanwhile delays its steps by the grace, no more).
Steps moved back to waiting (retries, recovery) are due when they are due.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "('queued', 'retrying')"


def sync_outbox(due: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION dex_sync_step_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IN {WAITING} AND NEW.available_at IS NOT NULL THEN
            INSERT INTO step_outbox (step_id, org_id, available_at)
            VALUES (NEW.id, NEW.org_id, {due})
            ON CONFLICT (step_id) DO UPDATE SET available_at = EXCLUDED.available_at, published_at = NULL;
        ELSE
            DELETE FROM step_outbox WHERE step_id = NEW.id;
        END IF;
        RETURN NULL;
    END $$
    """


GRACE = "COALESCE(NULLIF(current_setting('dex.step_outbox_grace', true), ''), '0')"


def upgrade() -> None:
    op.execute(
        sync_outbox(
            f"NEW.available_at + CASE WHEN TG_OP = 'INSERT' "
            f"THEN make_interval(secs => CAST({GRACE} AS float8)) ELSE interval '0' END"
        )
    )


def downgrade() -> None:
    op.execute(sync_outbox("NEW.available_at"))
