"""CompanyEnrich — ``https://api.companyenrich.com``, ``Authorization: Bearer <key>`` and
``accept: application/json``.

A 404 is "no such company". Any other 4xx — a 422 from the search endpoints included, which the seed system
took for "no match" — is CompanyEnrich refusing the request (its documentation: an error in the request),
so a failed attempt that caches nothing (contracts/providers/companyenrich/).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter, with_raw
from dex.providers.payload import domain_of, id_text, linkedin_of, objects, section, settled_by_status

PROVIDER = "companyenrich"
MAX_PAGE_SIZE = 100


def _headers(call: ProviderCall) -> dict[str, str]:
    return {"Authorization": f"Bearer {call.key}", "accept": "application/json"}


def _company(company: dict[str, Any]) -> dict[str, Any]:
    """A CompanyEnrich company as canonical company-profile fields."""
    socials = section(company, "socials")
    location = section(company, "location")
    return {
        "company_name": clean_text(company.get("name")),
        "company_domain": domain_of(company.get("domain")) or domain_of(company.get("website")),
        "company_website": clean_text(company.get("website")),
        "company_linkedin_url": linkedin_of(socials.get("linkedin_url")),
        "company_linkedin_id": id_text(socials.get("linkedin_id")),
        "company_type": clean_text(company.get("type")),
        "industry_primary": clean_text(company.get("industry")),
        "industry_derived": company.get("industries"),
        "employee_range": clean_text(company.get("employees")),
        "founded_year": company.get("founded_year"),
        "hq_locality": clean_text(section(location, "city").get("name")),
        "hq_country_code": clean_text(section(location, "country").get("code")),
        "description_raw": clean_text(company.get("description")),
        "specialties": company.get("categories"),
        "annual_revenue_range": clean_text(company.get("revenue")),
        "logo_url": clean_text(company.get("logo_url")),
        "source_company_id": id_text(company.get("id")),
        "source_provider": PROVIDER,
    }


def _person_result(person: dict[str, Any]) -> dict[str, Any]:
    """A CompanyEnrich person as a person search result; the company is the current work experience's."""
    experiences = objects(person.get("experiences"))
    current = next((job for job in experiences if job.get("isCurrent") is True), {})
    company = section(current, "company")
    location = section(person, "location")
    return {
        "full_name": clean_text(person.get("name")),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": linkedin_of(section(person, "socials").get("linkedin_url")),
        "headline": clean_text(person.get("position")),
        "current_title": clean_text(person.get("position")) or clean_text(current.get("position")),
        "current_company_name": clean_text(company.get("name")),
        "current_company_domain": domain_of(company.get("domain")),
        "location_name": clean_text(location.get("address")),
        "country_code": clean_text(section(location, "country").get("code")),
        "source_person_id": id_text(person.get("id")),
        "source_provider": PROVIDER,
    }


async def _search(
    call: ProviderCall, path: str, payload: dict[str, Any], mapper: Callable[[dict[str, Any]], dict[str, Any]]
) -> AdapterResult:
    response = await call.request("POST", path, headers=_headers(call), json_body=payload)
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    results = [with_raw(mapper(item), item) for item in objects(body.get("items"))]
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
    finished = settled_by_status(call, response)
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


# No account endpoint is documented: the smallest request is one enrichment (a credit when it matches).
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/companies/enrich",
    lambda credentials: ProbeRequest(
        headers={"Authorization": f"Bearer {credentials[0]}", "accept": "application/json"},
        params={"domain": "companyenrich.com"},
    ),
    accepted=frozenset({200, 404}),
    cost="one enrichment",
)
