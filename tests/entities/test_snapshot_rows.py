"""The snapshot rows an entity batch writes: the insert's column list derives from the row type (a
misspelt key is a mypy error); every column a row leaves out is one the database fills by itself."""

from __future__ import annotations

from dex.entities.models import EntitySnapshot
from dex.entities.repository import SNAPSHOT_COLUMNS


def test_every_snapshot_column_a_row_leaves_out_is_nullable_or_has_a_default() -> None:
    columns = {column.name: column for column in EntitySnapshot.__table__.c}
    assert set(SNAPSHOT_COLUMNS) <= set(columns)
    left_out = {name for name in columns if name not in SNAPSHOT_COLUMNS}
    assert left_out == {"id", "captured_at"}
    assert all(columns[name].server_default is not None for name in left_out)
