"""One page of a query and its total: the paging every list endpoint shares."""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dex.kit.envelopes import PageRequest

T = TypeVar("T")


class Page(NamedTuple, Generic[T]):
    items: list[T]
    total: int


async def paginate(
    session: AsyncSession, statement: Select[Any], page: PageRequest, *order_by: Any
) -> Page[Any]:
    """One page of a single-entity ``statement`` plus the total count of the filtered set."""
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = await session.scalars(statement.order_by(*order_by).limit(page.limit).offset(page.offset))
    return Page(list(items), total or 0)
