"""The JSON that set-based writes pass to PostgreSQL (``dex.db.queries.dumps``): what the fast encoder
takes, and what it refuses and the standard library then repairs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, text

from dex.db.engine import Database
from dex.db.queries import ROWS_PER_STATEMENT, Writes, dumps


def test_values_the_writes_carry() -> None:
    at = datetime(2026, 12, 2, 11, 0, 0, 123456, tzinfo=UTC)
    key = uuid.UUID("00000000-0000-0000-0000-00000000000a")
    encoded = json.loads(dumps({"id": key, "at": at, "cost": Decimal("1.5"), 7: "int key", "text": "é"}))
    assert encoded == {"id": str(key), "at": at.isoformat(), "cost": 1.5, "7": "int key", "text": "é"}


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    assert json.loads(dumps({"a": "x\ud800y", "b": "\U0001f600"})) == {"a": "x\ufffdy", "b": "\U0001f600"}
    assert json.loads(dumps({"big": 2**70})) == {"big": 2**70}  # past 64 bits: the standard encoder


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c, max_size=3)))
def test_anything_encodes_to_json_postgresql_accepts(value: object) -> None:
    decoded = json.loads(dumps({"v": value}))
    # jsonb holds UTF-8: a lone surrogate left anywhere would not encode.
    json.dumps(decoded, ensure_ascii=False).encode("utf-8")


async def test_writes_go_as_one_statement_and_may_refer_to_each_others_rows(database: Database) -> None:
    """A child row may name a parent inserted beside it (foreign keys are checked at the statement's end);
    past ``ROWS_PER_STATEMENT`` rows the writes are split, and every row still lands."""
    suffix = uuid.uuid4().hex[:8]
    parent, child = f"writes_parent_{suffix}", f"writes_child_{suffix}"
    rows = "jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id int)"
    insert_parents = text(f"INSERT INTO {parent} (id) SELECT id FROM {rows}")
    insert_children = text(f"INSERT INTO {child} (parent_id) SELECT id FROM {rows}")
    ids = [{"id": index} for index in range(ROWS_PER_STATEMENT + 3)]
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    async with database.transaction() as session:
        await session.execute(text(f"CREATE TEMPORARY TABLE {parent} (id int PRIMARY KEY)"))
        await session.execute(text(f"CREATE TEMPORARY TABLE {child} (parent_id int REFERENCES {parent})"))
        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            writes = Writes()
            writes.add(insert_parents, ids[:2])
            writes.add(insert_children, ids[:2])
            await writes.execute(session)
            assert len(sent) == 1 and sent[0].startswith("WITH write_0 AS (INSERT INTO writes_parent")
            writes.add(insert_parents, ids[2:])
            writes.add(insert_children, ids[2:])
            await writes.execute(session)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        # 5,001 parents, then as many children: in order, and no statement past the limit.
        assert [statement.startswith("WITH") for statement in sent[1:]] == [False] * 4
        counts = await session.execute(
            text(f"SELECT (SELECT count(*) FROM {parent}), (SELECT count(*) FROM {child})")
        )
        assert tuple(counts.one()) == (len(ids), len(ids))
