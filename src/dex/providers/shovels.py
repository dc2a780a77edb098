"""Shovels (API v2) — ``https://api.shovels.ai``, GET only, ``X-API-Key`` and ``Accept: application/json``
(Shovels' API documentation: permits, contractors, geographies, addresses, metrics).

Lists come back as ``items`` with a ``next_cursor``; list-valued parameters are sent as repeated keys and
blank ones are left out. An answer without items is not_found; a 404 (an unknown contractor or
geography) too. Geographies are addressed by kind: ``city``, ``county``, ``jurisdiction``, ``zipcode``
(searches) and ``address`` (metrics).
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text, normalize_linkedin_url
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter

PROVIDER = "shovels"
PLURALS = {
    "city": "cities",
    "county": "counties",
    "jurisdiction": "jurisdictions",
    "zipcode": "zipcodes",
    "address": "addresses",
}
METRICS_PAGE_SIZE = 100
ADDRESS_PARTS = ("street_no", "street", "city", "state", "zip_code")


def _headers(call: ProviderCall) -> dict[str, str]:
    return {"X-API-Key": call.key, "Accept": "application/json"}


def _params(params: dict[str, Any]) -> dict[str, Any]:
    """Blank values out; lists of their non-blank items (sent as repeated keys)."""
    kept: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, list):
            value = [
                item
                for item in value
                if item not in (None, "") and not (isinstance(item, str) and not item.strip())
            ]
            if value:
                kept[name] = value
        elif value is not None and not (isinstance(value, str) and not value.strip()):
            kept[name] = str(value).lower() if isinstance(value, bool) else value
    return kept


async def _get(call: ProviderCall, path: str, params: dict[str, Any] | None = None) -> ProviderResponse:
    return await call.request("GET", path, headers=_headers(call), params=_params(params or {}))


def _items(response: ProviderResponse) -> list[dict[str, Any]]:
    items = response.json_body.get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _unanswered(call: ProviderCall, response: ProviderResponse) -> AdapterResult | None:
    """The attempt for an answer without data: a documented 404 is not_found, any other error failed."""
    if response.http_status == 404 and response.error is None:
        return call.result("not_found", response, provider_status="http_404")
    if not response.ok:
        return call.failed_response(response)
    return None


def _listed(
    call: ProviderCall, response: ProviderResponse, items: list[dict[str, Any]], key: str = "results"
) -> AdapterResult:
    mapped = {key: items, "next_cursor": clean_text(response.json_body.get("next_cursor"))}
    return call.result("found" if items else "not_found", response, mapped=mapped)


def number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def text(value: Any) -> str | None:
    """Text, or a number as text (Shovels gives some counts as strings and some as numbers)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return clean_text(value)


def joined_address(address: Any) -> str | None:
    if not isinstance(address, dict):
        return clean_text(address)
    parts = [text(address.get(part)) for part in ADDRESS_PARTS]
    return ", ".join(part for part in parts if part) or None


def _address_part(item: dict[str, Any], part: str) -> str | None:
    address = item.get("address")
    return text(address.get(part)) if isinstance(address, dict) else None


def permit(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "permit_id": text(item.get("id")),
        "number": text(item.get("number")),
        "description": clean_text(item.get("description")),
        "status": clean_text(item.get("status")),
        "file_date": clean_text(item.get("file_date")),
        "issue_date": clean_text(item.get("issue_date")),
        "final_date": clean_text(item.get("final_date")),
        "job_value": number(item.get("job_value")),
        "fees": number(item.get("fees")),
        "contractor_id": text(item.get("contractor_id")),
        "contractor_name": clean_text(item.get("contractor_name")),
        "address": joined_address(item.get("address")),
        "property_type": clean_text(item.get("property_type")),
    }


def _linkedin(value: Any) -> str | None:
    url = clean_text(value)
    return normalize_linkedin_url(url) if url else None


def contractor(item: dict[str, Any]) -> dict[str, Any]:
    fields: tuple[str, ...] = (
        "name",
        "business_name",
        "business_type",
        "classification",
        "classification_derived",
    )
    fields += ("primary_email", "primary_phone", "email", "phone", "website", "county", "license")
    fields += ("primary_industry",)
    record: dict[str, Any] = {"id": text(item.get("id"))}
    record.update({field: clean_text(item.get(field)) for field in fields})
    record.update(
        {
            "linkedin_url": _linkedin(item.get("linkedin_url")),
            "city": _address_part(item, "city"),
            "state": _address_part(item, "state"),
            "zipcode": _address_part(item, "zip_code"),
            "employee_count": text(item.get("employee_count")),
            "revenue": text(item.get("revenue")),
            **{
                field: number(item.get(field))
                for field in (
                    "rating",
                    "review_count",
                    "permit_count",
                    "total_job_value",
                    "avg_job_value",
                    "avg_inspection_pass_rate",
                )
            },
        }
    )
    return record


def employee(item: dict[str, Any]) -> dict[str, Any]:
    fields = ("name", "email", "business_email", "phone", "city", "state", "zip_code")
    return {
        "id": text(item.get("id")),
        **{field: clean_text(item.get(field)) for field in fields},
        "linkedin_url": _linkedin(item.get("linkedin_url")),
    }


def resident(item: dict[str, Any]) -> dict[str, Any]:
    emails = item.get("personal_emails")
    homeowner = item.get("is_homeowner")
    return {
        **{field: clean_text(item.get(field)) for field in ("name", "phone", "net_worth", "income_range")},
        "personal_emails": [e.strip() for e in emails if clean_text(e)] if isinstance(emails, list) else [],
        "linkedin_url": _linkedin(item.get("linkedin_url")),
        "is_homeowner": homeowner if isinstance(homeowner, bool) else None,
        **{field: clean_text(item.get(field)) for field in ("city", "state", "zip_code")},
    }


def geography(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "geo_id": text(item.get("geo_id")),
        "name": clean_text(item.get("name")),
        "state": clean_text(item.get("state")),
    }


def address(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "geo_id": text(item.get("geo_id")),
        "address": clean_text(item.get("name")) or joined_address(item),
        **{field: text(item.get(field)) for field in ("city", "state", "zip_code", "property_type")},
    }


@adapter(PROVIDER, "search_permits")
async def search_permits(call: ProviderCall, *, params: dict[str, Any]) -> AdapterResult:
    response = await _get(call, "/v2/permits/search", params)
    return _unanswered(call, response) or _listed(call, response, [permit(i) for i in _items(response)])


@adapter(PROVIDER, "get_contractor")
async def get_contractor(call: ProviderCall, *, contractor_id: str) -> AdapterResult:
    response = await _get(call, "/v2/contractors", {"id": contractor_id})
    unanswered = _unanswered(call, response)
    if unanswered:
        return unanswered
    items = [contractor(i) for i in _items(response)]
    record = items[0] if items else None
    if record is None or not (record["id"] or record["name"] or record["business_name"]):
        return call.result("not_found", response)
    return call.result("found", response, mapped=record)


@adapter(PROVIDER, "search_contractors")
async def search_contractors(call: ProviderCall, *, params: dict[str, Any]) -> AdapterResult:
    response = await _get(call, "/v2/contractors/search", params)
    return _unanswered(call, response) or _listed(call, response, [contractor(i) for i in _items(response)])


@adapter(PROVIDER, "contractor_employees")
async def contractor_employees(
    call: ProviderCall, *, contractor_id: str, size: int, cursor: str | None = None
) -> AdapterResult:
    response = await _get(
        call, f"/v2/contractors/{contractor_id}/employees", {"size": size, "cursor": cursor}
    )
    return _unanswered(call, response) or _listed(
        call, response, [employee(i) for i in _items(response)], "employees"
    )


@adapter(PROVIDER, "address_residents")
async def address_residents(
    call: ProviderCall, *, geo_id: str, size: int, cursor: str | None = None
) -> AdapterResult:
    response = await _get(call, f"/v2/addresses/{geo_id}/residents", {"size": size, "cursor": cursor})
    return _unanswered(call, response) or _listed(
        call, response, [resident(i) for i in _items(response)], "residents"
    )


@adapter(PROVIDER, "search_geos")
async def search_geos(
    call: ProviderCall, *, kind: str, state: str, text_filter: str | None, size: int
) -> AdapterResult:
    """Geographies of ``kind`` in ``state`` whose name holds ``text_filter``. Shovels' search is free text,
    so the answer is kept to the requested state."""
    query = f"{text_filter} {state}" if text_filter else state
    response = await _get(call, f"/v2/{PLURALS[kind]}/search", {"q": query, "size": size})
    unanswered = _unanswered(call, response)
    if unanswered:
        return unanswered
    geos = [geography(i) for i in _items(response)]
    geos = [g for g in geos if g["geo_id"] and (g["state"] or "").upper() == state.upper()]
    return _listed(call, response, geos)


async def _get_metrics(
    call: ProviderCall, geo_type: str, geo_id: str, period: str, params: dict[str, Any]
) -> ProviderResponse | AdapterResult:
    """A page of a geography's ``period`` metrics, or the attempt when Shovels answered without data.
    Addresses have no property type; every other geography is asked for all of them."""
    query: dict[str, Any] = {**params, "size": METRICS_PAGE_SIZE}
    if geo_type != "address":
        query["property_type"] = "all"
    response = await _get(call, f"/v2/{PLURALS[geo_type]}/{geo_id}/metrics/{period}", query)
    return _unanswered(call, response) or response


@adapter(PROVIDER, "metrics_monthly")
async def metrics_monthly(
    call: ProviderCall, *, geo_type: str, geo_id: str, metric: str, start_date: str, end_date: str
) -> AdapterResult:
    """Monthly permit metrics: the value of ``metric`` each month (the permit count when Shovels reports no
    such metric, or when every metric is asked for)."""
    params = {"metric_from": start_date, "metric_to": end_date, "tag": metric}
    response = await _get_metrics(call, geo_type, geo_id, "monthly", params)
    if isinstance(response, AdapterResult):
        return response
    points = [
        {"month": clean_text(item.get("date")), "value": number(item.get(metric, item.get("permit_count")))}
        for item in _items(response)
    ]
    points = [point for point in points if point["month"]]
    return call.result("found" if points else "not_found", response, mapped={"data_points": points})


@adapter(PROVIDER, "metrics_current")
async def metrics_current(call: ProviderCall, *, geo_type: str, geo_id: str) -> AdapterResult:
    response = await _get_metrics(call, geo_type, geo_id, "current", {"tag": "all"})
    if isinstance(response, AdapterResult):
        return response
    items = _items(response)
    return call.result(
        "found" if items else "not_found", response, mapped={"metrics": items[0] if items else {}}
    )


@adapter(PROVIDER, "geo_detail")
async def geo_detail(call: ProviderCall, *, geo_type: str, geo_id: str) -> AdapterResult:
    response = await _get(call, f"/v2/{PLURALS[geo_type]}", {"geo_id": geo_id})
    unanswered = _unanswered(call, response)
    if unanswered:
        return unanswered
    details = response.json_body
    if not details:
        return call.result("not_found", response)
    return call.result("found", response, mapped={**geography(details), "details": details})


@adapter(PROVIDER, "search_addresses")
async def search_addresses(call: ProviderCall, *, params: dict[str, Any]) -> AdapterResult:
    response = await _get(call, "/v2/addresses/search", params)
    return _unanswered(call, response) or _listed(call, response, [address(i) for i in _items(response)])


ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/v2/cities/search",
    lambda credentials: ProbeRequest(
        headers={"X-API-Key": credentials[0], "Accept": "application/json"}, params={"q": "CA", "size": 1}
    ),
    cost="one geography search",
)
