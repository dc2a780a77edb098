"""CompanyEnrich — ``https://api.companyenrich.com``, ``Authorization: Bearer <key>`` and
``accept: application/json`` (reference §16.3).

A 404 is "no such company"; on the search endpoints a 422 (a query CompanyEnrich cannot match) is also a
not-found answer.
"""

from __future__ import annotations

from typing import Any

from dex.operations.inputs import clean_text, normalize_domain, normalize_linkedin_url
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter

PROVIDER = "companyenrich"
MAX_PAGE_SIZE = 100


def _headers(call: ProviderCall) -> dict[str, str]:
    return {"Authorization": f"Bearer {call.key}", "accept": "application/json"}


def _finished(
    call: ProviderCall, response: ProviderResponse, not_found_statuses: frozenset[int]
) -> AdapterResult | None:
    """The attempt when the answer is a not-found status or unusable; None when it carries data."""
    if response.http_status in not_found_statuses and response.error is None:
        return call.result("not_found", response, provider_status=f"http_{response.http_status}")
    if not response.ok:
        return call.failed_response(response)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _domain(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_domain(text) if text else None


def _linkedin(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_linkedin_url(text) if text else None


def _company(company: dict[str, Any]) -> dict[str, Any]:
    """A CompanyEnrich company as canonical company-profile fields."""
    socials = _dict(company.get("socials"))
    location = _dict(company.get("location"))
    linkedin_id = socials.get("linkedin_id")
    return {
        "company_name": clean_text(company.get("name")),
        "company_domain": _domain(company.get("domain")) or _domain(company.get("website")),
        "company_website": clean_text(company.get("website")),
        "company_linkedin_url": _linkedin(socials.get("linkedin_url")),
        "company_linkedin_id": str(linkedin_id) if linkedin_id not in (None, "") else None,
        "company_type": clean_text(company.get("type")),
        "industry_primary": clean_text(company.get("industry")),
        "industry_derived": company.get("industries"),
        "employee_range": clean_text(company.get("employees")),
        "founded_year": company.get("founded_year"),
        "hq_locality": clean_text(_dict(location.get("city")).get("name")),
        "hq_country_code": clean_text(_dict(location.get("country")).get("code")),
        "description_raw": clean_text(company.get("description")),
        "specialties": company.get("categories"),
        "annual_revenue_range": clean_text(company.get("revenue")),
        "logo_url": clean_text(company.get("logo_url")),
        "source_company_id": company.get("id"),
        "source_provider": PROVIDER,
    }


def _person_result(person: dict[str, Any]) -> dict[str, Any]:
    """A CompanyEnrich person as a person search result; the company is the current work experience's."""
    experiences = _objects(person.get("experiences"))
    current = next((job for job in experiences if job.get("isCurrent") is True), {})
    company = _dict(current.get("company"))
    location = _dict(person.get("location"))
    person_id = person.get("id")
    return {
        "full_name": clean_text(person.get("name")),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": _linkedin(_dict(person.get("socials")).get("linkedin_url")),
        "headline": clean_text(person.get("position")),
        "current_title": clean_text(person.get("position")) or clean_text(current.get("position")),
        "current_company_name": clean_text(company.get("name")),
        "current_company_domain": _domain(company.get("domain")),
        "location_name": clean_text(location.get("address")),
        "country_code": clean_text(_dict(location.get("country")).get("code")),
        "source_person_id": str(person_id) if person_id not in (None, "") else None,
        "source_provider": PROVIDER,
    }


async def _search(call: ProviderCall, path: str, payload: dict[str, Any], mapper: Any) -> AdapterResult:
    response = await call.request("POST", path, headers=_headers(call), json_body=payload)
    finished = _finished(call, response, frozenset({404, 422}))
    if finished:
        return finished
    body = response.json_body
    results = [mapper(item) for item in _objects(body.get("items"))]
    if not results:
        return call.result("not_found", response)
    pagination = {key: body[key] for key in ("page", "totalPages", "totalItems") if key in body}
    return call.result("found", response, mapped={"results": results, "pagination": pagination})


def _page(page: int, page_size: int) -> dict[str, int]:
    return {"page": max(1, page), "pageSize": min(max(1, page_size), MAX_PAGE_SIZE)}


@adapter(PROVIDER, "enrich_company")
async def enrich_company(call: ProviderCall, *, domain: str) -> AdapterResult:
    response = await call.request(
        "GET", "/companies/enrich", headers=_headers(call), params={"domain": domain}
    )
    finished = _finished(call, response, frozenset({404}))
    if finished:
        return finished
    body = response.json_body
    if not any(body.get(key) for key in ("id", "domain", "name")):
        return call.result("not_found", response)
    return call.result("found", response, mapped=_company(body))


@adapter(PROVIDER, "search_company")
async def search_company(
    call: ProviderCall,
    *,
    query: str | None = None,
    page: int = 1,
    page_size: int = 25,
    filters: dict[str, Any] | None = None,
) -> AdapterResult:
    """``filters`` (the caller's CompanyEnrich filters) are merged over the page and query."""
    payload: dict[str, Any] = {
        **_page(page, page_size),
        **({"query": query} if query else {}),
        **(filters or {}),
    }
    if not (payload.get("query") or payload.get("semanticQuery")):
        return call.result("skipped", skip_reason="missing_required_inputs")
    return await _search(call, "/companies/search", payload, _company)


@adapter(PROVIDER, "search_person")
async def search_person(
    call: ProviderCall,
    *,
    position_query: str | None = None,
    domain: str | None = None,
    company_name: str | None = None,
    page: int = 1,
    page_size: int = 25,
    filters: dict[str, Any] | None = None,
) -> AdapterResult:
    """People at a company (by domain, else by name) and/or in a position; ``filters`` override."""
    payload: dict[str, Any] = _page(page, page_size)
    if position_query:
        payload["positionQuery"] = position_query
    if domain:
        payload["domains"] = [domain]
    elif company_name:
        payload["companyFilter"] = {"query": company_name}
    payload.update(filters or {})
    if not any(payload.get(key) for key in ("positionQuery", "domains", "companyFilter")):
        return call.result("skipped", skip_reason="missing_required_inputs")
    return await _search(call, "/people/search", payload, _person_result)
