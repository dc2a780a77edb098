"""entities store their field provenance by source

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

``field_provenance`` was an object of field → source; one pipeline run sets most fields with one source, so
the source was written once per field. It becomes a list of sources, each with the fields it set
(``dex.entities.provenance``); the API still shows it field by field.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("company_entities", "person_entities")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"""
            UPDATE {table} SET field_provenance = COALESCE((
                SELECT jsonb_agg(g.source || jsonb_build_object('fields', g.fields) ORDER BY g.first_field)
                FROM (SELECT e.value AS source, jsonb_agg(e.key ORDER BY e.key) AS fields,
                             min(e.key) AS first_field
                      FROM jsonb_each(field_provenance) e GROUP BY e.value) g
            ), '[]'::jsonb)
            WHERE jsonb_typeof(field_provenance) = 'object'
            """
        )
        op.execute(f"ALTER TABLE {table} ALTER COLUMN field_provenance SET DEFAULT '[]'")


def downgrade() -> None:
    for table in TABLES:
        op.execute(
            f"""
            UPDATE {table} SET field_provenance = COALESCE((
                SELECT jsonb_object_agg(f.field, s.source - 'fields')
                FROM jsonb_array_elements(field_provenance) s(source),
                     jsonb_array_elements_text(s.source -> 'fields') f(field)
            ), '{{}}'::jsonb)
            WHERE jsonb_typeof(field_provenance) = 'array'
            """
        )
        op.execute(f"ALTER TABLE {table} ALTER COLUMN field_provenance SET DEFAULT '{{}}'")
