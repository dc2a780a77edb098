"""The operation-history rows name every column their set-based insert writes: the column lists derive from
the row types, so a key the type lacks is a mypy error and a column the type lacks is caught here."""

from __future__ import annotations

from sqlalchemy import Table, text

from dex.db.engine import Database
from dex.operations.models import OperationRun
from dex.operations.repository import RUN_COLUMNS, OperationAttemptRow


def _columns(table: Table) -> set[str]:
    return {column.name for column in table.c}


def test_an_operation_run_row_carries_every_column_but_the_creation_time() -> None:
    assert set(RUN_COLUMNS) == _columns(OperationRun.__table__) - {"created_at"}


async def test_the_attempts_view_reads_every_field_an_attempt_is_stored_with(database: Database) -> None:
    async with database.transaction() as session:
        viewed = await session.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'operation_attempts'")
        )
        columns = set(viewed.scalars())
    assert columns == set(OperationAttemptRow.__annotations__) | {"run_id", "org_id", "created_at"}
