"""a paid answer the cache entry holds is not noted on its journal row as well

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

An adapter's answer and its cache entry are written by one statement (``dex.providers.groupcommit``). The
journal row's note — answered, status, cost — was a second row written for every provider request (2.2 of
the 19 rows per pipeline step) although the entry written beside it says the same. The entry now names
the journal rows whose answers it holds (``answers_of``) and their notes are left out; recovery reads a
row without a note as answered when an entry names it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enrichment_cache", sa.Column("answers_of", postgresql.ARRAY(sa.UUID()), nullable=True))


def downgrade() -> None:
    # Journal rows whose answers only an entry held get their notes back, as the journal had them.
    op.execute(
        """
        UPDATE provider_call_journal j SET answered = true, http_status = c.http_status,
            cost_credits = j.price_credits
        FROM enrichment_cache c
        WHERE NOT j.answered AND c.org_id = j.org_id AND j.call_id = ANY(c.answers_of)
        """
    )
    op.drop_column("enrichment_cache", "answers_of")
