"""operator experience: budgets, spend counters, webhooks, CSV ingest reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Budgets on orgs and submissions with spend counters kept by a trigger on operation_runs (so a budget check
is a primary-key lookup), the ``budget_exhausted`` step status, webhook endpoints with their delivery
outbox and attempt log, the CSV ingest report of a submission, and an index for per-submission ledgers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEP_STATUSES_BEFORE = "('queued', 'running', 'succeeded', 'failed', 'skipped', 'retrying')"
STEP_STATUSES_AFTER = (
    "('queued', 'running', 'succeeded', 'failed', 'skipped', 'retrying', 'budget_exhausted')"
)

# Statement-level, so a writer's batch of operation runs updates each counter once, in key order (two
# writers never lock the same counters in opposite orders).
COUNT_SPEND = """
CREATE FUNCTION dex_count_spend() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO org_spend AS counter (org_id, spent_credits)
    SELECT org_id, sum(cost_credits) FROM new_runs
    GROUP BY org_id HAVING sum(cost_credits) > 0 ORDER BY org_id
    ON CONFLICT (org_id) DO UPDATE SET spent_credits = counter.spent_credits + EXCLUDED.spent_credits;
    INSERT INTO submission_spend AS counter (submission_id, spent_credits)
    SELECT submission_id, sum(cost_credits) FROM new_runs WHERE submission_id IS NOT NULL
    GROUP BY submission_id HAVING sum(cost_credits) > 0 ORDER BY submission_id
    ON CONFLICT (submission_id) DO UPDATE SET spent_credits = counter.spent_credits + EXCLUDED.spent_credits;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column("orgs", sa.Column("budget_credits", sa.Numeric(precision=14, scale=4), nullable=True))
    op.add_column(
        "submissions", sa.Column("budget_credits", sa.Numeric(precision=14, scale=4), nullable=True)
    )
    op.add_column(
        "submissions",
        sa.Column("ingest_report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.drop_constraint(op.f("ck_step_results_status"), "step_results", type_="check")
    op.create_check_constraint(
        op.f("ck_step_results_status"), "step_results", f"status IN {STEP_STATUSES_AFTER}"
    )
    op.create_index(
        "ix_step_results_budget_exhausted",
        "step_results",
        ["org_id", "submission_id"],
        unique=False,
        postgresql_where=sa.text("status = 'budget_exhausted'"),
    )
    op.create_index("ix_operation_runs_submission_id", "operation_runs", ["submission_id"], unique=False)

    op.create_table(
        "org_spend",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("spent_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_org_spend_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_spend")),
    )
    op.create_table(
        "submission_spend",
        sa.Column("submission_id", sa.UUID(), nullable=False),
        sa.Column("spent_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_spend_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_submission_spend")),
    )
    # What was spent before the counters existed.
    op.execute(
        "INSERT INTO org_spend (org_id, spent_credits) SELECT org_id, sum(cost_credits) "
        "FROM operation_runs GROUP BY org_id HAVING sum(cost_credits) > 0"
    )
    op.execute(
        "INSERT INTO submission_spend (submission_id, spent_credits) SELECT submission_id, sum(cost_credits) "
        "FROM operation_runs WHERE submission_id IS NOT NULL GROUP BY submission_id "
        "HAVING sum(cost_credits) > 0"
    )
    op.execute(COUNT_SPEND)
    op.execute(
        "CREATE TRIGGER operation_runs_count_spend AFTER INSERT ON operation_runs "
        "REFERENCING NEW TABLE AS new_runs FOR EACH STATEMENT EXECUTE FUNCTION dex_count_spend()"
    )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_webhook_endpoints_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_webhook_endpoints_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        sa.UniqueConstraint("id", "org_id", name=op.f("uq_webhook_endpoints_id_org_id")),
    )
    op.create_index("ix_webhook_endpoints_org_id", "webhook_endpoints", ["org_id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("endpoint_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "event_type IN ('submission.completed', 'run.completed', 'run.failed')",
            name=op.f("ck_webhook_deliveries_event_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_webhook_deliveries_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_deliveries_attempts_nonnegative")),
        sa.ForeignKeyConstraint(
            ["endpoint_id", "org_id"],
            ["webhook_endpoints.id", "webhook_endpoints.org_id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_org_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_webhook_deliveries_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_webhook_deliveries_endpoint_id", "webhook_deliveries", ["endpoint_id"], unique=False)
    op.create_index(
        "ix_webhook_deliveries_org_id_created_at",
        "webhook_deliveries",
        ["org_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "webhook_delivery_attempts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_delivery_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_webhook_delivery_attempts_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery_attempts")),
    )
    op.create_index(
        "ix_webhook_delivery_attempts_delivery_id_created_at",
        "webhook_delivery_attempts",
        ["delivery_id", "created_at"],
        unique=False,
    )
    for table in ("webhook_endpoints", "webhook_deliveries"):
        op.execute(
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION dex_set_updated_at()"
        )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_delivery_attempts_delivery_id_created_at", table_name="webhook_delivery_attempts"
    )
    op.drop_table("webhook_delivery_attempts")
    op.drop_index("ix_webhook_deliveries_org_id_created_at", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_endpoint_id", table_name="webhook_deliveries")
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_endpoints_org_id", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.execute("DROP TRIGGER operation_runs_count_spend ON operation_runs")
    op.execute("DROP FUNCTION dex_count_spend()")
    op.drop_table("submission_spend")
    op.drop_table("org_spend")
    op.drop_index("ix_operation_runs_submission_id", table_name="operation_runs")
    op.drop_index(
        "ix_step_results_budget_exhausted",
        table_name="step_results",
        postgresql_where=sa.text("status = 'budget_exhausted'"),
    )
    # Parked steps go back to the queue: the older schema has no budgets to wait for.
    op.execute(
        "UPDATE step_results SET status = 'queued', available_at = now() WHERE status = 'budget_exhausted'"
    )
    op.drop_constraint(op.f("ck_step_results_status"), "step_results", type_="check")
    op.create_check_constraint(
        op.f("ck_step_results_status"), "step_results", f"status IN {STEP_STATUSES_BEFORE}"
    )
    op.drop_column("submissions", "ingest_report")
    op.drop_column("submissions", "budget_credits")
    op.drop_column("orgs", "budget_credits")
