"""Query helpers shared by every domain's repository."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table, TextClause, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dex import fastjson
from dex.errors import Conflict


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE, DELETE or INSERT touched. Such a statement always yields a CursorResult,
    which SQLAlchemy's ``execute`` signature types as the general Result."""
    return cast(CursorResult[Any], result).rowcount


def violated_constraint(exc: IntegrityError) -> str | None:
    # SQLAlchemy wraps asyncpg's exception, which names the constraint.
    cause = getattr(exc.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None) or getattr(exc.orig, "constraint_name", None)


def conflict_for(exc: IntegrityError, messages: dict[str, str]) -> Conflict | None:
    """The 409 a known unique violation stands for, or None for any other integrity error."""
    message = messages.get(violated_constraint(exc) or "")
    return Conflict(message) if message else None


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# A lone UTF-16 surrogate (valid in a Python str, not in Unicode) escaped by json.dumps; jsonb refuses it.
_LONE_SURROGATE = re.compile(
    r"\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}"
)


def dumps(value: Any) -> str:
    """JSON for a ``CAST(:rows AS jsonb)`` parameter: how set-based writes pass many rows at once. A lone
    surrogate becomes U+FFFD, so one stray code unit never fails a whole write batch."""
    try:
        return fastjson.dumps_strict(value, default=_json_default)
    except fastjson.Refused:
        # Only the standard encoder takes a lone surrogate (escaped), and only its output needs the repair.
        text = json.dumps(value, default=_json_default, separators=(",", ":"))
        return _LONE_SURROGATE.sub(r"\\ufffd", text) if "\\ud" in text else text


def recordset(table: Table, columns: Sequence[str], *extra: str, param: str = "rows") -> str:
    """``jsonb_to_recordset(:rows)`` typed like ``columns`` of ``table`` (plus ``extra`` "name type"
    fields): the FROM item of a set-based write whose rows are one ``dumps`` parameter (``param``). A key
    a row lacks reads as NULL."""
    fields = [f"{column} {table.c[column].type.compile(dialect=postgresql.dialect())}" for column in columns]
    return f"jsonb_to_recordset(CAST(:{param} AS jsonb)) AS v({', '.join([*fields, *extra])})"


def insert_recordset(
    table: Table,
    columns: Sequence[str],
    *,
    values: Mapping[str, str] | None = None,
    read: Sequence[str] = (),
    joins: str = "",
) -> str:
    """``INSERT INTO table (columns) SELECT columns FROM`` :func:`recordset`: a whole batch of rows in one
    statement, whatever the mix of nulls (an ORM bulk insert splits on them). ``values``: SQL for some
    columns instead of the row's value (``v.<column>``), over the row's ``read`` fields ("name type", not
    inserted) and what ``joins`` adds to the FROM clause."""
    selected = ", ".join((values or {}).get(column, f"v.{column}") for column in columns)
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {selected} FROM {recordset(table, columns, *read)} {joins}"
    ).rstrip()


def storable(value: Any) -> Any:
    """``value`` without NUL characters, which PostgreSQL text and jsonb refuse: provider payloads and
    client input are cleaned where they enter, so one stray byte never fails a whole write batch."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


# Rows are written as JSON documents of at most this many rows each, so no document (nor its Python string)
# grows with the batch.
ROWS_PER_STATEMENT = 5000
_ROWS_PARAMETER = re.compile(r"(?<![:\w]):rows(?!\w)")


class Writes:
    """Set-based writes of one transaction, each a statement over one ``:rows`` document, sent together
    as the data-modifying ``WITH`` queries of one statement: one round trip instead of one each. The
    writes must not depend on each other's rows except through foreign keys, which PostgreSQL checks at
    the end of the statement (a timeline event may name a step inserted beside it)."""

    def __init__(self) -> None:
        self._parts: list[tuple[str, Sequence[Any]]] = []

    def add(self, statement: TextClause, rows: Sequence[Any]) -> None:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            self._parts.append((statement.text, rows[start : start + ROWS_PER_STATEMENT]))

    async def execute(self, session: AsyncSession) -> None:
        group: list[tuple[str, Sequence[Any]]] = []
        for part in self._parts:
            if group and sum(len(rows) for _, rows in group) + len(part[1]) > ROWS_PER_STATEMENT:
                await self._execute(session, group)
                group = []
            group.append(part)
        if group:
            await self._execute(session, group)
        self._parts = []

    @staticmethod
    async def _execute(session: AsyncSession, group: list[tuple[str, Sequence[Any]]]) -> None:
        if len(group) == 1:
            ((statement, rows),) = group
            await session.execute(text(statement), {"rows": dumps(rows)})
            return
        writes = ", ".join(
            f"write_{index} AS ({_ROWS_PARAMETER.sub(f':rows_{index}', statement)})"
            for index, (statement, _) in enumerate(group)
        )
        await session.execute(
            text(f"WITH {writes} SELECT 1"),
            {f"rows_{index}": dumps(rows) for index, (_, rows) in enumerate(group)},
        )
