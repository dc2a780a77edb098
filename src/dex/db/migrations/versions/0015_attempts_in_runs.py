"""provider attempts are stored with their operation run

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

An operation run and its provider attempts are written together, once, and read together: each attempt
was a row of its own (with a primary key, three indexes and two foreign keys to check), 2.2 rows of the 21
written per pipeline step. The attempts become a JSON list on their run (``operation_runs.attempts``);
the view ``operation_attempts`` lists them one per row, with the columns the table had, for the readers
that sum or filter them in SQL (the cost ledger, estimates, budgets).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An attempt as its run stores it, in order, and the view's column types.
ATTEMPT_FIELDS = (
    "id uuid, sequence int, provider text, action text, status text, skip_reason text, http_status int, "
    "provider_status text, duration_ms int, raw_response jsonb, http_attempts int, cached boolean, "
    "sandbox boolean, cost_credits numeric(14,4), saved_credits numeric(14,4), call_ids uuid[], "
    "call_costs numeric(14,4)[]"
)
ATTEMPT_COLUMNS = [field.split()[0] for field in ATTEMPT_FIELDS.split(", ")]
VIEW = f"""
    CREATE VIEW operation_attempts AS
    SELECT {", ".join(f"a.{name}" for name in ATTEMPT_COLUMNS[:1])}, r.run_id, r.org_id,
           {", ".join(f"a.{name}" for name in ATTEMPT_COLUMNS[1:])}, r.created_at
    FROM operation_runs r CROSS JOIN LATERAL jsonb_to_recordset(r.attempts) AS a({ATTEMPT_FIELDS})
"""


def upgrade() -> None:
    op.add_column(
        "operation_runs",
        sa.Column("attempts", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
    )
    op.execute(
        f"""
        UPDATE operation_runs r SET attempts = a.attempts
        FROM (SELECT run_id, jsonb_agg(jsonb_build_object({", ".join(f"'{c}', {c}" for c in ATTEMPT_COLUMNS)})
                                       ORDER BY sequence) AS attempts
              FROM operation_attempts GROUP BY run_id) a
        WHERE a.run_id = r.run_id
        """
    )
    op.drop_table("operation_attempts")
    op.execute(VIEW)
    # A run now carries its providers' answers: documents of up to 4 KB stay in the row (see 0013).
    op.execute("ALTER TABLE operation_runs SET (toast_tuple_target = 4080)")


def downgrade() -> None:
    op.execute("ALTER TABLE operation_runs RESET (toast_tuple_target)")
    op.execute("ALTER VIEW operation_attempts RENAME TO operation_attempts_stored")
    op.create_table(
        "operation_attempts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("skip_reason", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("provider_status", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("raw_response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("http_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cached", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sandbox", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("cost_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.Column("saved_credits", sa.Numeric(precision=14, scale=4), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "call_ids", postgresql.ARRAY(postgresql.UUID(as_uuid=True)), server_default="{}", nullable=False
        ),
        sa.Column("call_costs", postgresql.ARRAY(sa.Numeric(14, 4)), server_default="{}", nullable=False),
        sa.CheckConstraint(
            "status IN ('found', 'not_found', 'failed', 'verified', 'skipped')",
            name=op.f("ck_operation_attempts_status"),
        ),
        sa.CheckConstraint(
            "duration_ms IS NULL OR duration_ms >= 0", name=op.f("ck_operation_attempts_duration_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_operation_attempts_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["operation_runs.run_id"],
            name=op.f("fk_operation_attempts_run_id_operation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_attempts")),
    )
    op.create_index(
        "ix_operation_attempts_org_id_created_at",
        "operation_attempts",
        ["org_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "ix_operation_attempts_provider_created_at",
        "operation_attempts",
        ["provider", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index("ix_operation_attempts_run_id", "operation_attempts", ["run_id"], unique=False)
    op.execute("ALTER TABLE operation_attempts SET (toast_tuple_target = 4080)")
    columns = ", ".join(["id", "run_id", "org_id", *ATTEMPT_COLUMNS[1:], "created_at"])
    op.execute(f"INSERT INTO operation_attempts ({columns}) SELECT {columns} FROM operation_attempts_stored")
    op.execute("DROP VIEW operation_attempts_stored")
    op.drop_column("operation_runs", "attempts")
