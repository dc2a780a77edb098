"""the journal keeps recorded requests until their hour's partition is emptied at once

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

Every provider request wrote its journal row twice: inserted before it was sent and deleted by the
transaction that recorded it — a quarter of the rows a pipeline step wrote. The deletion was what told
recovery which rows were still unrecorded. Now a recorded row stays where it is, and an operation run
with the row's ``run_id`` says it was recorded (recovery claims an unrecorded execution by inserting its
interrupted run under that id, so a late recording and recovery cannot both record it). The journal is
partitioned by the hour it was written in, modulo three (``slot``): the partition written two hours ago
holds only rows older than an hour, the age past which no step is still running, so it is settled and
emptied with one ``TRUNCATE`` (``dex.operations.repository.empty_old_journal_slot``) before its hour
comes round again.

``provider_call_settled_owners`` lists the dead processes whose rows recovery has settled, so their
recorded rows are not looked at again until their partitions are emptied.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 3
SLOT_OF_NOW = f"CAST(floor(extract(epoch FROM now()) / 3600) AS bigint) % {SLOTS}"
TRIGGER = (
    "CREATE TRIGGER dex_release_reservations AFTER DELETE ON provider_call_journal "
    "REFERENCING OLD TABLE AS gone_calls FOR EACH STATEMENT EXECUTE FUNCTION dex_release_reservations()"
)
FOREIGN_KEY = (
    "ALTER TABLE provider_call_journal ADD CONSTRAINT fk_provider_call_journal_org_id_orgs "
    "FOREIGN KEY (org_id) REFERENCES orgs (id) ON DELETE CASCADE"
)
KEPT_INDEXES = (
    "CREATE INDEX ix_provider_call_journal_owner ON provider_call_journal (owner)",
    "CREATE INDEX ix_provider_call_journal_run_id ON provider_call_journal (run_id)",
    "CREATE INDEX ix_provider_call_journal_released ON provider_call_journal (org_id, request_hash) "
    "WHERE released",
)
OLD_INDEXES = ("owner", "run_id", "step_result_id", "released")
COLUMNS = (
    "call_id, run_id, org_id, company_id, user_id, role, auth_method, operation_id, entity_type, "
    "pipeline_run_id, step_result_id, submission_id, provider, action, owner, price_credits, sandbox, "
    "answered, http_status, cost_credits, created_at, reserved_credits, request_hash, response, released"
)


def _set_old_table_aside() -> None:
    op.execute("ALTER TABLE provider_call_journal RENAME TO provider_call_journal_old")
    op.execute("DROP TRIGGER dex_release_reservations ON provider_call_journal_old")
    op.execute(
        "ALTER TABLE provider_call_journal_old RENAME CONSTRAINT pk_provider_call_journal "
        "TO pk_provider_call_journal_old"
    )
    op.execute("ALTER TABLE provider_call_journal_old DROP CONSTRAINT fk_provider_call_journal_org_id_orgs")
    for column in OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS ix_provider_call_journal_{column}")


def upgrade() -> None:
    _set_old_table_aside()
    op.execute(
        f"""
        CREATE TABLE provider_call_journal (
            LIKE provider_call_journal_old INCLUDING DEFAULTS,
            slot smallint NOT NULL DEFAULT ({SLOT_OF_NOW}),
            CONSTRAINT pk_provider_call_journal PRIMARY KEY (call_id, slot)
        ) PARTITION BY LIST (slot)
        """
    )
    for slot in range(SLOTS):
        op.execute(
            f"CREATE TABLE provider_call_journal_{slot} PARTITION OF provider_call_journal "
            f"FOR VALUES IN ({slot})"
        )
    for index in KEPT_INDEXES:
        op.execute(index)
    # The released rows of a finished step's earlier executions are settled with it.
    op.execute(
        "CREATE INDEX ix_provider_call_journal_released_step ON provider_call_journal (step_result_id) "
        "WHERE released"
    )
    op.execute(FOREIGN_KEY)
    op.execute(TRIGGER)
    op.execute("INSERT INTO provider_call_journal SELECT * FROM provider_call_journal_old")
    op.execute("DROP TABLE provider_call_journal_old")
    op.execute(
        """
        CREATE TABLE provider_call_settled_owners (
            owner text NOT NULL,
            settled_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_provider_call_settled_owners PRIMARY KEY (owner)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE provider_call_settled_owners")
    op.execute("ALTER TABLE provider_call_journal RENAME TO provider_call_journal_ring")
    op.execute("DROP TRIGGER dex_release_reservations ON provider_call_journal_ring")
    op.execute("ALTER TABLE provider_call_journal_ring DROP CONSTRAINT fk_provider_call_journal_org_id_orgs")
    op.execute("ALTER TABLE provider_call_journal_ring DROP CONSTRAINT pk_provider_call_journal")
    for column in (*OLD_INDEXES, "released_step"):
        op.execute(f"DROP INDEX IF EXISTS ix_provider_call_journal_{column}")
    op.execute(
        """
        CREATE TABLE provider_call_journal (
            LIKE provider_call_journal_ring INCLUDING DEFAULTS,
            CONSTRAINT pk_provider_call_journal PRIMARY KEY (call_id)
        ) WITH (fillfactor = 50)
        """
    )
    op.execute("ALTER TABLE provider_call_journal DROP COLUMN slot")
    # Only the rows no operation run records were in the journal before.
    op.execute(
        f"INSERT INTO provider_call_journal ({COLUMNS}) SELECT {COLUMNS} FROM provider_call_journal_ring j "
        "WHERE j.released OR NOT EXISTS (SELECT FROM operation_runs r WHERE r.run_id = j.run_id)"
    )
    op.execute("DROP TABLE provider_call_journal_ring")
    for index in KEPT_INDEXES:
        op.execute(index)
    op.execute(
        "CREATE INDEX ix_provider_call_journal_step_result_id ON provider_call_journal (step_result_id)"
    )
    op.execute(FOREIGN_KEY)
    op.execute(TRIGGER)
