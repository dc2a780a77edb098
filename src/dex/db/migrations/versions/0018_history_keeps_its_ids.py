"""the history tables keep the ids they record without a foreign key check on every row

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Every row PostgreSQL inserts is checked against each foreign key it carries: a lookup of the parent and a
lock on it, which concurrent writers turn into shared multixacts on the same org, company and submission
rows. A pipeline step wrote 36 such checks (pg_stat_statements); these were a tenth of PostgreSQL's CPU
per step, and they guarded nothing dex does:

- ``step_results.org_id`` and ``pipeline_runs.org_id`` → orgs: each row's org is already pinned, and its
  deletion cascaded, by its composite (id, org_id) key to its run (a step) or its submission (a run).
- the soft references of history — a timeline event's company, run, submission and step; an operation
  run's company, run, step and submission; an entity's company and last run; a fan-out child's parent
  run — were ``SET NULL`` (``RESTRICT`` for an operation run's company) on the deletion of rows that only an
  org's deletion removes, and that takes the history along (their org keys still cascade). History keeps
  the ids it recorded. (Resuming a run deletes the skipped placeholders after its failed step: their
  timeline events keep naming them, as they name the steps they were written for.)

The keys that keep a row inside its org — the composite ones — and the references to rows dex does delete
(a blueprint's replaced steps, users) stay.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referenced table, ON DELETE)
DROPPED = (
    ("step_results", "org_id", "orgs", "CASCADE"),
    ("pipeline_runs", "org_id", "orgs", "CASCADE"),
    ("pipeline_runs", "parent_pipeline_run_id", "pipeline_runs", "SET NULL"),
    ("entity_timeline", "company_id", "companies", "SET NULL"),
    ("entity_timeline", "pipeline_run_id", "pipeline_runs", "SET NULL"),
    ("entity_timeline", "submission_id", "submissions", "SET NULL"),
    ("entity_timeline", "step_result_id", "step_results", "SET NULL"),
    ("operation_runs", "company_id", "companies", "RESTRICT"),
    ("operation_runs", "pipeline_run_id", "pipeline_runs", "SET NULL"),
    ("operation_runs", "step_result_id", "step_results", "SET NULL"),
    ("operation_runs", "submission_id", "submissions", "SET NULL"),
    ("company_entities", "company_id", "companies", "SET NULL"),
    ("company_entities", "last_run_id", "pipeline_runs", "SET NULL"),
    ("person_entities", "company_id", "companies", "SET NULL"),
    ("person_entities", "last_run_id", "pipeline_runs", "SET NULL"),
)


def _name(table: str, column: str, referenced: str) -> str:
    return f"fk_{table}_{column}_{referenced}"


def upgrade() -> None:
    for table, column, referenced, _ in DROPPED:
        op.drop_constraint(_name(table, column, referenced), table, type_="foreignkey")


def downgrade() -> None:
    for table, column, referenced, ondelete in DROPPED:
        if ondelete == "SET NULL":  # ids left naming deleted rows are cleared, as the key would have done
            op.execute(
                f"UPDATE {table} t SET {column} = NULL WHERE t.{column} IS NOT NULL "
                f"AND NOT EXISTS (SELECT FROM {referenced} r WHERE r.id = t.{column})"
            )
        op.create_foreign_key(
            _name(table, column, referenced), table, referenced, [column], ["id"], ondelete=ondelete
        )
