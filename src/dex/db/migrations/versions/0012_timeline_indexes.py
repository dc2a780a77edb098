"""drop the timeline's index by submission

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

``ix_entity_timeline_org_id_submission_id_created_at`` is dropped: the timeline is read entity by entity
(its own index), a submission filter only narrows one entity's events, and nothing deletes submissions
(whose foreign key would look their events up). Every step writes about three timeline events, each into
every index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_entity_timeline_org_id_submission_id_created_at", table_name="entity_timeline")


def downgrade() -> None:
    op.create_index(
        "ix_entity_timeline_org_id_submission_id_created_at",
        "entity_timeline",
        ["org_id", "submission_id", sa.text("created_at DESC")],
        unique=False,
    )
