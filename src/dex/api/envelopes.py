"""The reference's response envelopes: ``{"data": …}`` on success, ``{"error": "…"}`` otherwise."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T


class ErrorEnvelope(BaseModel):
    error: str


class Page(BaseModel, Generic[T]):
    """A page of a list endpoint: items plus the total count of the filtered set."""

    items: list[T]
    total: int
    limit: int
    offset: int


def envelope(payload: Any) -> dict[str, Any]:
    return {"data": payload}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope} for status in (400, 401, 403, 404, 409, 422)
}
