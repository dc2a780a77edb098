"""The seed system's response envelopes: ``{"data": …}`` on success, ``{"error": "…"}`` otherwise."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

# The largest integer every JSON client reads exactly (and the OpenAPI document, whose bounds FastAPI writes
# as floats, states exactly). It is the bound of unbounded counts such as offsets: without one, a value past
# PostgreSQL's bigint fails in the database instead of as an invalid request.
JSON_INTEGER_MAX = 2**53 - 1
# The most rows one page of a list holds.
LIST_CAP = 1000


class Envelope(BaseModel, Generic[T]):
    data: T


class ErrorEnvelope(BaseModel):
    error: str


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    returned: int
    # More rows past this page: a client that sent no paging fields knows its list was capped.
    has_more: bool


class ListEnvelope(BaseModel, Generic[T]):
    """A page of a list endpoint. ``data`` stays a bare array as in the seed system, so its clients keep
    working; ``pagination`` beside it carries the total of the filtered set."""

    data: list[T]
    pagination: Pagination


class PageRequest(BaseModel):
    """Paging fields every list endpoint accepts in its JSON body."""

    # Without paging fields a list returns every row, as the original system did, up to this cap
    # (then ``pagination.has_more`` says so).
    limit: int = Field(default=LIST_CAP, ge=1, le=LIST_CAP)
    offset: int = Field(default=0, ge=0, le=JSON_INTEGER_MAX)


def list_envelope(items: list[Any], *, total: int, page: PageRequest) -> dict[str, Any]:
    return {
        "data": items,
        "pagination": {
            "total": total,
            "limit": page.limit,
            "offset": page.offset,
            "returned": len(items),
            "has_more": page.offset + len(items) < total,
        },
    }


def envelope(payload: Any) -> dict[str, Any]:
    return {"data": payload}


# Every route may answer these (the app declares them once, for all routes): 503 is a database outage.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope} for status in (400, 401, 403, 404, 409, 422, 503)
}
