"""The JSON that set-based writes pass to PostgreSQL (``dex.db.queries.dumps``): what the fast encoder
takes, and what it refuses and the standard library then repairs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from dex.db.queries import dumps


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
