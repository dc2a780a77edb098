"""The step and run rows ``Progress`` inserts: their column lists derive from the row types, so a misspelt
key is a mypy error; here, every column a row leaves out must be one the database can fill by itself."""

from __future__ import annotations

import pytest
from sqlalchemy import Table

from dex.pipeline.models import PipelineRun, StepResult
from dex.pipeline.repository import RUN_COLUMNS, STEP_COLUMNS


@pytest.mark.parametrize(
    ("table", "written"), [(StepResult.__table__, STEP_COLUMNS), (PipelineRun.__table__, RUN_COLUMNS)]
)
def test_every_column_a_new_row_leaves_out_is_nullable_or_has_a_default(
    table: Table, written: tuple[str, ...]
) -> None:
    columns = {column.name: column for column in table.c}
    assert set(written) <= set(columns)
    unfilled = [
        name
        for name, column in columns.items()
        if name not in written and not column.nullable and column.server_default is None
    ]
    assert unfilled == []
