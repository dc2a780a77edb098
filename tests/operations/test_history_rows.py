"""The operation-history rows name every column their set-based insert writes: the column lists derive from
the row types, so a key the type lacks is a mypy error and a column the type lacks is caught here."""

from __future__ import annotations

from sqlalchemy import Table

from dex.operations.models import OperationAttempt, OperationRun
from dex.operations.repository import ATTEMPT_COLUMNS, RUN_COLUMNS


def _columns(table: Table) -> set[str]:
    return {column.name for column in table.c}


def test_an_operation_run_row_carries_every_column_but_the_creation_time() -> None:
    assert set(RUN_COLUMNS) == _columns(OperationRun.__table__) - {"created_at"}


def test_an_attempt_row_carries_every_column_but_the_id_and_the_creation_time() -> None:
    assert set(ATTEMPT_COLUMNS) == _columns(OperationAttempt.__table__) - {"id", "created_at"}
