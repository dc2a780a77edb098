"""cheaper writes of runs, steps and journal rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

A run is updated twice after its insert (queued → running → finished) and a journal row once (its answer),
soon after, while its page is still the one it was inserted into. With full pages every such update
wrote a new entry in each of the table's indexes (seven for ``pipeline_runs``); with room left on the page
it stays there (a heap-only update) and no index is touched. Applies to pages written from now on.

``ix_step_results_org_id_created_at`` is dropped: no query reads steps by org and creation time, and a step
row is written three times (inserted, claimed, finished), each time into every index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTORS = {"pipeline_runs": 70, "provider_call_journal": 50}


def upgrade() -> None:
    for table, fillfactor in FILLFACTORS.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")
    op.drop_index("ix_step_results_org_id_created_at", table_name="step_results")


def downgrade() -> None:
    op.create_index(
        "ix_step_results_org_id_created_at",
        "step_results",
        ["org_id", sa.text("created_at DESC")],
        unique=False,
    )
    for table in FILLFACTORS:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
