"""StoreLeads — ``https://storeleads.app/json/api/v1/all``, the key as the raw ``Authorization`` header
(no scheme), GET only."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dex.normalize import clean_text, normalize_domain
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

PROVIDER = "storeleads"
SEARCH_TIMEOUT_SECONDS = 45
# Search filters → StoreLeads' query parameter names.
SEARCH_FILTERS = {
    "platform": "f:p",
    "country_code": "f:cc",
    "app_installed": "f:an",
    "category": "f:cat",
    "domain_state": "f:ds",
    "rank_min": "f:rk:min",
    "rank_max": "f:rk:max",
    "monthly_app_spend_min": "f:mas:min",
    "monthly_app_spend_max": "f:mas:max",
}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [item.strip() for item in value if clean_text(item)] if isinstance(value, list) else []


def _picked(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str | None]:
    return {key: clean_text(item.get(key)) for key in keys}


def _store_domain(store: dict[str, Any]) -> str | None:
    text = clean_text(store.get("name")) or clean_text(store.get("domain"))
    return normalize_domain(text) if text else None


def _summary(store: dict[str, Any]) -> dict[str, Any]:
    """The fields every store record maps to, enrichment and search alike."""
    return {
        "merchant_name": clean_text(store.get("merchant_name")),
        "ecommerce_platform": clean_text(store.get("platform")),
        "ecommerce_plan": clean_text(store.get("plan")),
        "estimated_monthly_sales_cents": _int(store.get("estimated_sales")),
        "global_rank": _int(store.get("rank")),
        "country_code": clean_text(store.get("country_code")),
        "description": clean_text(store.get("description")),
    }


def _store_of(body: dict[str, Any]) -> dict[str, Any]:
    """The store of a single-domain answer: StoreLeads wraps it in a ``domain`` object; an answer with the
    store's fields at the top level (as the seed system read it) is read as well
    (contracts/providers/storeleads/enrich_domain.json)."""
    wrapped = body.get("domain")
    return wrapped if isinstance(wrapped, dict) else body


@adapter(PROVIDER, "enrich_domain")
async def enrich_domain(call: ProviderCall, *, domain: str) -> AdapterResult:
    response = await call.request(
        "GET", f"/domain/{quote(domain, safe='')}", headers={"Authorization": call.key}
    )
    if response.http_status == 404 and response.error is None:
        return call.result("not_found", response, provider_status="http_404")
    if not response.ok:
        return call.failed_response(response)
    store = _store_of(response.json_body)
    mapped = {
        **_summary(store),
        "employee_count": _int(store.get("employee_count")),
        "product_count": _int(store.get("product_count")),
        "platform_rank": _int(store.get("platform_rank")),
        "monthly_app_spend_cents": _int(store.get("monthly_app_spend")),
        "installed_apps": [
            {
                "name": clean_text(app.get("name")),
                "categories": _strings(app.get("categories")),
                "monthly_cost": clean_text(app.get("monthly_cost")),
            }
            for app in _objects(store.get("apps"))
            if clean_text(app.get("name"))
        ],
        "technologies": [
            _picked(tech, ("name", "description"))
            for tech in _objects(store.get("technologies"))
            if clean_text(tech.get("name"))
        ],
        "contact_info": [
            _picked(contact, ("type", "value", "source"))
            for contact in _objects(store.get("contact_info"))
            if clean_text(contact.get("value"))
        ],
        "city": clean_text(store.get("city")),
        "domain_state": clean_text(store.get("state")),
        "store_created_at": clean_text(store.get("created_at")),
        "shipping_carriers": _strings(store.get("shipping_carriers")),
        "sales_carriers": _strings(store.get("sales_carriers")),
        "features": _strings(store.get("features")),
    }
    found = any(value not in (None, []) for value in mapped.values())
    return call.result("found" if found else "not_found", response, mapped=mapped if found else None)


@adapter(PROVIDER, "search_domains")
async def search_domains(
    call: ProviderCall, *, filters: dict[str, str | int], page: int = 0, page_size: int = 50
) -> AdapterResult:
    """Stores matching ``filters`` (keys of :data:`SEARCH_FILTERS`), one page of them."""
    params: dict[str, Any] = {
        SEARCH_FILTERS[name]: value for name, value in filters.items() if name in SEARCH_FILTERS
    }
    response = await call.request(
        "GET",
        "/domain",
        headers={"Authorization": call.key},
        params={**params, "page": page, "page_size": page_size},
        timeout_seconds=SEARCH_TIMEOUT_SECONDS,
    )
    if not response.ok:
        return call.failed_response(response)
    results = [
        {"domain": _store_domain(store), **_summary(store)}
        for store in _objects(response.json_body.get("domains"))
        if _store_domain(store)
    ]
    return call.result("found" if results else "not_found", response, mapped={"results": results})


# No account endpoint is known: the smallest request is one store lookup.
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/domain/storeleads.app",
    lambda credentials: ProbeRequest(headers={"Authorization": credentials[0]}),
    accepted=frozenset({200, 404}),
    cost="one store lookup",
)
