"""Shovels emulation (API v2): permit, contractor, geography and address searches, contractors'
employees, addresses' residents, geography details and permit metrics — GET with ``X-API-Key``, lists
answered as ``items`` with a ``next_cursor``. A search missing a required parameter answers 422, an
unknown contractor or geography 404, as Shovels does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import construction
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import known

PROVIDER = "shovels"
MAX_SIZE = 100
router = APIRouter(prefix=f"/{PROVIDER}/v2", tags=[PROVIDER])
PLURALS = {"cities": "city", "counties": "county", "jurisdictions": "jurisdiction", "zipcodes": "zipcode"}


def _missing(request: Request, *names: str) -> Response | None:
    absent = [name for name in names if not request.query_params.get(name, "").strip()]
    if not absent:
        return None
    detail = [{"loc": ["query", name], "msg": "Field required", "type": "missing"} for name in absent]
    return JSONResponse({"detail": detail}, 422)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _page(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    query = request.query_params
    size = min(int(query["size"]) if query.get("size", "").isdigit() else 50, MAX_SIZE) or 50
    offset = int(query["cursor"]) if query.get("cursor", "").isdigit() else 0
    more = offset + size < len(items)
    return {
        "items": items[offset : offset + size],
        "size": size,
        "next_cursor": str(offset + size) if more else None,
    }


async def _answer(request: Request, action: str, answer: Callable[[], Response | dict[str, Any]]) -> Response:
    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        action,
        authorized=request.headers.get("X-API-Key", "") == sandbox_credential(PROVIDER),
        answer=answer,
    )


def _permits(request: Request) -> list[dict[str, Any]]:
    query = request.query_params
    start, end = _day(query.get("permit_from")), _day(query.get("permit_to"))
    geo_id = query.get("geo_id", "")
    if start is None or end is None or not known(request, PROVIDER, f"geo:{geo_id}"):
        return []
    tags = set(query.getlist("permit_tags"))
    min_value = int(query["permit_min_job_value"]) if query.get("permit_min_job_value", "").isdigit() else 0
    wanted = {name: query.get(name) for name in ("property_type", "permit_status") if query.get(name)}
    text = (query.get("permit_q") or "").lower()
    return [
        permit
        for permit in construction.permits(geo_id, start, end)
        if (not tags or tags & set(permit["tags"]))
        and permit["job_value"] >= min_value
        and all(permit[name.removeprefix("permit_")] == value for name, value in wanted.items())
        and text in permit["description"].lower()
    ]


@router.get("/permits/search")
async def permit_search(request: Request) -> Response:
    def answer() -> Response | dict[str, Any]:
        return _missing(request, "permit_from", "permit_to", "geo_id") or _page(request, _permits(request))

    return await _answer(request, "search_permits", answer)


@router.get("/contractors/search")
async def contractor_search(request: Request) -> Response:
    def answer() -> Response | dict[str, Any]:
        refused = _missing(request, "permit_from", "permit_to", "geo_id")
        if refused:
            return refused
        query = request.query_params
        builders = dict.fromkeys(permit["contractor_id"] for permit in _permits(request))
        records = [c.record() for cid in builders if (c := construction.contractor(cid))]
        name = (query.get("contractor_name") or "").lower()
        trade = (query.get("contractor_classification_derived") or "").lower()
        floor = (
            int(query["contractor_min_total_job_value"])
            if query.get("contractor_min_total_job_value", "").isdigit()
            else 0
        )
        records = [
            r
            for r in records
            if name in r["name"].lower()
            and trade in r["classification_derived"]
            and r["total_job_value"] >= floor
        ]
        return _page(request, records)

    return await _answer(request, "search_contractors", answer)


@router.get("/contractors/{contractor_id}/employees")
async def contractor_employees(request: Request, contractor_id: str) -> Response:
    def answer() -> Response | dict[str, Any]:
        found = construction.contractor(contractor_id)
        if found is None or not known(request, PROVIDER, f"contractor:{contractor_id}"):
            return JSONResponse({"detail": "Contractor not found"}, 404)
        return _page(request, found.employees())

    return await _answer(request, "contractor_employees", answer)


@router.get("/contractors")
async def contractors_by_id(request: Request) -> Response:
    def answer() -> Response | dict[str, Any]:
        ids = request.query_params.getlist("id")
        if not ids:
            return _missing(request, "id") or {}
        records = [
            c.record()
            for cid in ids
            if (c := construction.contractor(cid)) and known(request, PROVIDER, f"contractor:{cid}")
        ]
        return {"items": records, "size": len(records), "next_cursor": None}

    return await _answer(request, "get_contractor", answer)


@router.get("/addresses/search")
async def address_search(request: Request) -> Response:
    def answer() -> Response | dict[str, Any]:
        refused = _missing(request, "q")
        if refused:
            return refused
        query = request.query_params
        found = (
            construction.addresses(query["q"]) if known(request, PROVIDER, f"address:{query['q']}") else []
        )
        for name in ("city", "state", "zip_code", "property_type"):
            if query.get(name):
                found = [a for a in found if a[name].lower() == query[name].lower()]
        return _page(request, found)

    return await _answer(request, "search_addresses", answer)


@router.get("/addresses/{geo_id}/residents")
async def address_residents(request: Request, geo_id: str) -> Response:
    def answer() -> Response | dict[str, Any]:
        found = construction.residents(geo_id) if known(request, PROVIDER, f"residents:{geo_id}") else []
        return _page(request, found)

    return await _answer(request, "address_residents", answer)


@router.get("/{plural}/search")
async def geo_search(request: Request, plural: str) -> Response:
    def answer() -> Response | dict[str, Any]:
        kind = PLURALS.get(plural)
        if kind is None:
            return JSONResponse({"detail": "Not Found"}, 404)
        refused = _missing(request, "q")
        if refused:
            return refused
        query = request.query_params["q"]
        found = construction.geo_search(kind, query) if known(request, PROVIDER, f"{plural}:{query}") else []
        return _page(request, [g.record() for g in found])

    return await _answer(request, "search_geos", answer)


def _metric_geo(request: Request, plural: str, geo_id: str) -> bool:
    if plural == "addresses":
        return geo_id.startswith("addr-") and known(request, PROVIDER, f"metrics:{geo_id}")
    found = construction.geo(geo_id)
    return (
        found is not None
        and PLURALS.get(plural) == found.kind
        and known(request, PROVIDER, f"metrics:{geo_id}")
    )


@router.get("/{plural}/{geo_id}/metrics/monthly")
async def monthly_metrics(request: Request, plural: str, geo_id: str) -> Response:
    def answer() -> Response | dict[str, Any]:
        refused = _missing(request, "metric_from", "metric_to")
        if refused:
            return refused
        start, end = _day(request.query_params["metric_from"]), _day(request.query_params["metric_to"])
        if start is None or end is None:
            return JSONResponse({"detail": "metric_from and metric_to are dates (YYYY-MM-DD)"}, 422)
        if not _metric_geo(request, plural, geo_id):
            return {"items": [], "size": 0, "next_cursor": None}
        return _page(request, construction.monthly_metrics(geo_id, start, end))

    return await _answer(request, "metrics_monthly", answer)


@router.get("/{plural}/{geo_id}/metrics/current")
async def current_metrics(request: Request, plural: str, geo_id: str) -> Response:
    def answer() -> dict[str, Any]:
        if not _metric_geo(request, plural, geo_id):
            return {"items": [], "size": 0, "next_cursor": None}
        return {"items": [construction.current_metrics(geo_id)], "size": 1, "next_cursor": None}

    return await _answer(request, "metrics_current", answer)


@router.get("/{plural}")
async def geo_detail(request: Request, plural: str) -> Response:
    def answer() -> Response | dict[str, Any]:
        if plural not in ("cities", "counties", "jurisdictions"):
            return JSONResponse({"detail": "Not Found"}, 404)
        refused = _missing(request, "geo_id")
        if refused:
            return refused
        geo_id = request.query_params["geo_id"]
        found = construction.geo(geo_id)
        if found is None or PLURALS[plural] != found.kind or not known(request, PROVIDER, f"detail:{geo_id}"):
            return JSONResponse({"detail": "Geography not found"}, 404)
        return {**found.record(), **construction.current_metrics(geo_id), "kind": found.kind}

    return await _answer(request, "geo_detail", answer)
