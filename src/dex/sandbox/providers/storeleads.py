"""StoreLeads emulation: ``GET /domain/{domain}`` (404 for an unknown store) and ``GET /domain`` searched
with ``f:…`` filter parameters, the key as the raw ``Authorization`` header.

A malformed request — a path that is not a domain name, a non-numeric page, page size, rank or app spend —
is refused with HTTP 400 and an ``error`` message, never answered "no match"
(contracts/providers/storeleads/)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.world import known_to, normalize_domain

PROVIDER = "storeleads"
MAX_PAGE_SIZE = 50
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])
# Query parameter → the filter it sets on the generated stores.
FILTER_PARAMETERS = {
    "f:p": "platform",
    "f:cc": "country_code",
    "f:an": "app_installed",
    "f:cat": "category",
    "f:ds": "domain_state",
    "f:rk:min": "rank_min",
    "f:rk:max": "rank_max",
    "f:mas:min": "monthly_app_spend_min",
    "f:mas:max": "monthly_app_spend_max",
}


def _authorized(request: Request) -> bool:
    return request.headers.get("Authorization", "") == sandbox_credential(PROVIDER)


# Search parameters that must be whole numbers.
NUMERIC_PARAMETERS = ("page", "page_size", "f:rk:min", "f:rk:max", "f:mas:min", "f:mas:max")


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, 400)


@router.get("/domain/{domain}")
async def get_domain(request: Request, domain: str) -> Response:
    def answer() -> Response | dict[str, Any]:
        name = normalize_domain(domain)
        if "." not in name:
            return _bad_request(f"{domain!r} is not a domain name")
        if not known_to(PROVIDER, name, sandbox_state(request).hit_rate(PROVIDER)):
            return JSONResponse({"error": "Domain not found"}, 404)
        return {"domain": market.store(name)}

    return await sandbox_state(request).handle(
        request, PROVIDER, "enrich_domain", authorized=_authorized(request), answer=answer
    )


@router.get("/domain")
async def search(request: Request) -> Response:
    def answer() -> Response | dict[str, Any]:
        query = request.query_params
        malformed = [name for name in NUMERIC_PARAMETERS if query.get(name) and not query[name].isdigit()]
        if malformed:
            return _bad_request(f"{', '.join(malformed)} must be a whole number")
        filters = {name: query[param] for param, name in FILTER_PARAMETERS.items() if query.get(param)}
        page = _int(query.get("page"), 0)
        page_size = min(_int(query.get("page_size"), MAX_PAGE_SIZE), MAX_PAGE_SIZE)
        key = "&".join(f"{name}={value}" for name, value in sorted(filters.items()))
        if not known_to(PROVIDER, key, sandbox_state(request).hit_rate(PROVIDER)):
            return {"domains": []}
        total, stores = market.store_search(filters, page, page_size)
        return {"domains": stores, "total": total}

    return await sandbox_state(request).handle(
        request, PROVIDER, "search_domains", authorized=_authorized(request), answer=answer
    )
