"""provider answers and operation runs stay in their rows up to a whole page

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

A people search's answer is 30 KB of JSON, 4 KB compressed: over the 4 KB ``toast_tuple_target`` of
migration 0013, so each cache entry holding one, and each operation run whose attempts carry it, was
written as its row and two or three TOAST chunks (half a row per step of workload A). Rows of these two
tables are written once (a cache entry again only when its answer is fetched anew), so the concern that
kept 0013 at 4 KB — rows rewritten by every update — does not apply: they now keep documents in place up
to 8 KB, the most a row can hold. Applies to rows written from now on.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("enrichment_cache", "operation_runs")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 4080)")
