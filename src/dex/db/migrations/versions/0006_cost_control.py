"""cost control: budget reservations, the waiting_for_budget submission status, idempotency body hashes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

A provider call of a budgeted org or submission reserves its price on ``org_spend`` and
``submission_spend`` (``reserved_credits``) in the transaction that journals it, and the journal row keeps
what it reserved. When the row leaves the journal — in the transaction that records the call's real cost,
or when recovery settles it — the ``dex_release_reservations`` trigger gives the reservation back, so
``spent + reserved`` never exceeds the budget. ``submissions.idempotency_body_hash`` is the SHA-256 of the
canonical body a key was first used with, so a reuse with another body is told apart. Webhooks gain the
``submission.waiting_for_budget`` event.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS_BEFORE = "('submission.completed', 'run.completed', 'run.failed')"
EVENTS_AFTER = "('submission.completed', 'submission.waiting_for_budget', 'run.completed', 'run.failed')"
STATUSES_BEFORE = "('received', 'validated', 'queued', 'running', 'completed', 'failed', 'canceled')"
STATUSES_AFTER = (
    "('received', 'validated', 'queued', 'running', 'waiting_for_budget', 'completed', 'failed', 'canceled')"
)

RELEASE_RESERVATIONS = """
CREATE FUNCTION dex_release_reservations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_spend counter SET reserved_credits = counter.reserved_credits - gone.reserved
    FROM (
        SELECT org_id, sum(reserved_credits) AS reserved FROM gone_calls
        WHERE reserved_credits > 0 GROUP BY org_id ORDER BY org_id
    ) gone
    WHERE counter.org_id = gone.org_id;
    UPDATE submission_spend counter SET reserved_credits = counter.reserved_credits - gone.reserved
    FROM (
        SELECT submission_id, sum(reserved_credits) AS reserved FROM gone_calls
        WHERE reserved_credits > 0 AND submission_id IS NOT NULL GROUP BY submission_id ORDER BY submission_id
    ) gone
    WHERE counter.submission_id = gone.submission_id;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    for table in ("org_spend", "submission_spend", "provider_call_journal"):
        op.add_column(
            table,
            sa.Column(
                "reserved_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False
            ),
        )
    op.execute(RELEASE_RESERVATIONS)
    op.execute(
        "CREATE TRIGGER dex_release_reservations AFTER DELETE ON provider_call_journal "
        "REFERENCING OLD TABLE AS gone_calls FOR EACH STATEMENT EXECUTE FUNCTION dex_release_reservations()"
    )
    op.drop_constraint(op.f("ck_submissions_status"), "submissions", type_="check")
    op.create_check_constraint(op.f("ck_submissions_status"), "submissions", f"status IN {STATUSES_AFTER}")
    op.add_column("submissions", sa.Column("idempotency_body_hash", sa.Text(), nullable=True))
    op.create_index(
        "ix_submissions_waiting_for_budget",
        "submissions",
        ["org_id"],
        postgresql_where=sa.text("status = 'waiting_for_budget'"),
    )
    op.drop_constraint(op.f("ck_webhook_deliveries_event_type"), "webhook_deliveries", type_="check")
    op.create_check_constraint(
        op.f("ck_webhook_deliveries_event_type"), "webhook_deliveries", f"event_type IN {EVENTS_AFTER}"
    )


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE event_type = 'submission.waiting_for_budget'")
    op.drop_constraint(op.f("ck_webhook_deliveries_event_type"), "webhook_deliveries", type_="check")
    op.create_check_constraint(
        op.f("ck_webhook_deliveries_event_type"), "webhook_deliveries", f"event_type IN {EVENTS_BEFORE}"
    )
    op.drop_index("ix_submissions_waiting_for_budget", table_name="submissions")
    op.drop_column("submissions", "idempotency_body_hash")
    op.execute("UPDATE submissions SET status = 'running' WHERE status = 'waiting_for_budget'")
    op.drop_constraint(op.f("ck_submissions_status"), "submissions", type_="check")
    op.create_check_constraint(op.f("ck_submissions_status"), "submissions", f"status IN {STATUSES_BEFORE}")
    op.execute("DROP TRIGGER dex_release_reservations ON provider_call_journal")
    op.execute("DROP FUNCTION dex_release_reservations()")
    for table in ("org_spend", "submission_spend", "provider_call_journal"):
        op.drop_column(table, "reserved_credits")
