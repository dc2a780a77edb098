"""Page numbers of console lists: ``?page=N`` in the URL, a fixed page size, and the links between pages."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request

from dex.kit.envelopes import PageRequest

PAGE_SIZE = 50
# Past this, a page number is refused instead of asking PostgreSQL for an absurd offset.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Pager:
    page: int
    size: int
    total: int
    base_query: dict[str, str]
    path: str
    param: str = "page"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_item(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_item(self) -> int:
        return min(self.total, self.offset + self.size)

    def url(self, page: int) -> str:
        return f"{self.path}?{urlencode({**self.base_query, self.param: str(page)})}"

    @property
    def previous_url(self) -> str | None:
        return self.url(self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.page + 1) if self.page < self.pages else None

    def request(self) -> PageRequest:
        return PageRequest(limit=self.size, offset=self.offset)

    def with_total(self, total: int) -> Pager:
        return Pager(self.page, self.size, total, self.base_query, self.path, self.param)


def pager(request: Request, *, size: int = PAGE_SIZE, path: str | None = None, param: str = "page") -> Pager:
    """The page the URL asks for in ``param`` (a missing or unreadable number is page 1); the total
    comes later. Other query parameters are kept in the links, so two lists of one page page apart."""
    raw = request.query_params.get(param, "1")
    page = int(raw) if raw.isdigit() else 1
    query = {k: v for k, v in request.query_params.items() if k != param and v}
    return Pager(max(1, min(page, MAX_PAGE)), size, 0, query, path or request.url.path, param)
