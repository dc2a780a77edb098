"""CourtListener emulation (REST v4): ``GET /search/?type=r`` (RECAP dockets by case name),
``GET /dockets/`` (filtered by court and filing dates, paged through absolute ``next`` URLs) and
``GET /dockets/{id}/``; the key as ``Authorization: Token <key>``; an unknown docket answers 404."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import courts
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import known

PROVIDER = "courtlistener"
PAGE_SIZE = 20
MAX_SCAN_DAYS = 366
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])
CASE_NAME_QUERY = re.compile(r'caseName:"([^"]+)"')


def _authorized(request: Request) -> bool:
    return request.headers.get("Authorization", "") == f"Token {sandbox_credential(PROVIDER)}"


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _in_range(docket: courts.Docket, after: date | None, before: date | None) -> bool:
    return (after is None or docket.date_filed >= after) and (before is None or docket.date_filed <= before)


@router.get("/search/")
async def search(request: Request) -> Response:
    def answer() -> Response | dict[str, Any]:
        query = request.query_params
        if query.get("type") != "r":
            return JSONResponse({"detail": "Only RECAP (type=r) searches are emulated."}, 400)
        match = CASE_NAME_QUERY.search(query.get("q", ""))
        name = match.group(1) if match else query.get("q", "").strip()
        if not name:
            return JSONResponse({"detail": "A query (q) is required."}, 400)
        if not known(request, PROVIDER, f"search:{name.lower()}"):
            return {"count": 0, "next": None, "previous": None, "results": []}
        wanted_courts = set(query.get("court", "").split())
        after, before = _day(query.get("filed_after")), _day(query.get("filed_before"))
        hits = [
            d
            for d in courts.lawsuits(name)
            if (not wanted_courts or d.court_id in wanted_courts) and _in_range(d, after, before)
        ]
        results = [d.search_record(round(12.5 - index * 1.5, 2)) for index, d in enumerate(hits)]
        return {"count": len(results), "next": None, "previous": None, "results": results}

    return await sandbox_state(request).handle(
        request, PROVIDER, "search_filings", authorized=_authorized(request), answer=answer
    )


@router.get("/dockets/")
async def dockets(request: Request) -> Response:
    def answer() -> Response | dict[str, Any]:
        query = request.query_params
        after, before = _day(query.get("date_filed__gte")), _day(query.get("date_filed__lte"))
        if after is None:
            return JSONResponse({"detail": "date_filed__gte is required for a docket scan."}, 400)
        before = min(before or courts.DATA_AS_OF, after + timedelta(days=MAX_SCAN_DAYS - 1))
        # Every petition the sandbox knows is a bankruptcy docket, so the jurisdiction filter narrows nothing.
        wanted_courts = set(query.getlist("court"))
        found = [
            d
            for offset in range((before - after).days + 1)
            for d in courts.petitions(after + timedelta(days=offset))
            if not wanted_courts or d.court_id in wanted_courts
        ]
        if not known(request, PROVIDER, f"dockets:{after}:{before}:{sorted(wanted_courts)}"):
            found = []
        page = int(query["page"]) if query.get("page", "").isdigit() else 1
        chunk = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        more = page * PAGE_SIZE < len(found)
        return {
            "count": len(found),
            "next": str(request.url.include_query_params(page=page + 1)) if more else None,
            "previous": None,
            "results": [d.api_record() for d in chunk],
        }

    return await sandbox_state(request).handle(
        request, PROVIDER, "bankruptcy_dockets", authorized=_authorized(request), answer=answer
    )


@router.get("/dockets/{docket_id}/")
async def docket(request: Request, docket_id: str) -> Response:
    def answer() -> Response | dict[str, Any]:
        if not docket_id.isdigit() or not (
            courts.listed(int(docket_id)) or known(request, PROVIDER, f"docket:{docket_id}")
        ):
            return JSONResponse({"detail": "No Docket matches the given query."}, 404)
        found = courts.docket(int(docket_id))
        return {**found.api_record(), "parties": [{"name": party} for party in found.parties]}

    return await sandbox_state(request).handle(
        request, PROVIDER, "docket_detail", authorized=_authorized(request), answer=answer
    )
