"""Declarative base and the column helpers every domain's models share."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import DateTime, MetaData, Table, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The range of PostgreSQL's `integer` columns. API inputs stored in one declare it, so an out-of-range value
# is refused as invalid (422) instead of failing in the database.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1

# Tables whose rows carry documents of a few kilobytes (contexts, provider answers, entity fields) keep them
# in the row, compressed, up to 4 KB: past PostgreSQL's default of 2 KB each such document went to the
# table's TOAST table, one more row and index entry written for every chunk (migration 0013).
INLINE_DOCUMENTS = {"postgresql_with": {"toast_tuple_target": 4080}}
# Tables whose rows are written once keep documents of up to a whole page (8 KB) in the row: a search's
# answer is 4 KB compressed, and no update rewrites such a row (migration 0020).
WHOLE_DOCUMENTS = {"postgresql_with": {"toast_tuple_target": 8160}}

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every dex model maps one plain Table (none maps a join or a subquery), so code may read a model's
        # table name and columns; SQLAlchemy types the attribute as the wider FromClause.
        __table__: ClassVar[Table]


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def updated_at() -> Mapped[datetime]:
    # Kept current by the `dex_set_updated_at` trigger the initial migration installs on every such table.
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def check_in(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK constraint limiting ``column`` to a vocabulary (text columns, not PG enums,
    so a later migration can widen a vocabulary without an enum dance)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"
