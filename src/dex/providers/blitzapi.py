"""BlitzAPI — ``https://api.blitz-api.ai``, key in the ``x-api-key`` header, every call a JSON POST.

Enrichment endpoints answer ``{"found": false}`` or HTTP 404 when BlitzAPI knows nothing; both are
not-found answers. Search endpoints are found iff they return at least one person.
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest, number
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter, with_raw
from dex.providers.payload import domain_of, id_text, linkedin_of, objects, section, settled_by_status

PROVIDER = "blitzapi"
MAX_RESULTS_PER_PAGE = 100


async def _post(
    call: ProviderCall, path: str, payload: dict[str, Any]
) -> tuple[ProviderResponse, AdapterResult | None]:
    """The answer, plus the finished attempt when it is a 404 (not found) or unusable (failed)."""
    response = await call.request("POST", path, headers={"x-api-key": call.key}, json_body=payload)
    return response, settled_by_status(call, response)


def _company(company: dict[str, Any]) -> dict[str, Any]:
    """A BlitzAPI ``company`` object as canonical company-profile fields."""
    hq = section(company, "hq")
    return {
        "company_name": clean_text(company.get("name")),
        "company_domain": domain_of(company.get("domain")) or domain_of(company.get("website")),
        "company_website": clean_text(company.get("website")),
        "company_linkedin_url": linkedin_of(company.get("linkedin_url")),
        "company_linkedin_id": id_text(company.get("linkedin_id")),
        "company_type": clean_text(company.get("type")),
        "industry_primary": clean_text(company.get("industry")),
        "employee_count": company.get("employees_on_linkedin"),
        "employee_range": clean_text(company.get("size")),
        "founded_year": company.get("founded_year"),
        "hq_locality": clean_text(hq.get("city")),
        "hq_country_code": clean_text(hq.get("country_code")),
        "description_raw": clean_text(company.get("about")),
        "specialties": company.get("specialties"),
        "follower_count": company.get("followers"),
        "source_provider": PROVIDER,
    }


def _person_result(person: dict[str, Any]) -> dict[str, Any]:
    """A BlitzAPI person as a person search result: the title is the current experience's (else the first
    one's); BlitzAPI does not restate the company, so the company fields stay empty."""
    experiences = objects(person.get("experiences"))
    current = next((job for job in experiences if job.get("job_is_current") is True), None)
    role = current or (experiences[0] if experiences else {})
    location = section(person, "location")
    return {
        "full_name": clean_text(person.get("full_name")),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": linkedin_of(person.get("linkedin_url")),
        "headline": clean_text(person.get("headline")),
        "current_title": clean_text(role.get("job_title")) or clean_text(role.get("position")),
        "current_company_name": None,
        "current_company_domain": None,
        "location_name": clean_text(location.get("city")) or clean_text(location.get("country_code")),
        "country_code": clean_text(location.get("country_code")),
        "source_person_id": id_text(person.get("id")),
        "source_provider": PROVIDER,
    }


def _people_found(
    call: ProviderCall, response: ProviderResponse, found: list[tuple[dict[str, Any], dict[str, Any]]]
) -> AdapterResult:
    """``found``: each person with the provider's result item it came in."""
    body = response.json_body
    if not found:
        return call.result("not_found", response)
    pagination = {key: body[key] for key in ("page", "total_pages", "results_length") if key in body}
    results = [with_raw(_person_result(person), item) for person, item in found]
    return call.result("found", response, mapped={"results": results, "pagination": pagination})


@adapter(PROVIDER, "domain_to_linkedin")
async def domain_to_linkedin(call: ProviderCall, *, domain: str) -> AdapterResult:
    response, finished = await _post(call, "/v2/enrichment/domain-to-linkedin", {"domain": domain})
    if finished:
        return finished
    body = response.json_body
    url = linkedin_of(body.get("company_linkedin_url"))
    if body.get("found") is not True or url is None:
        return call.result("not_found", response)
    return call.result("found", response, mapped={"company_linkedin_url": url})


@adapter(PROVIDER, "enrich_company")
async def enrich_company(call: ProviderCall, *, company_linkedin_url: str) -> AdapterResult:
    response, finished = await _post(
        call, "/v2/enrichment/company", {"company_linkedin_url": company_linkedin_url}
    )
    if finished:
        return finished
    body = response.json_body
    company = section(body, "company")
    if body.get("found") is not True or not company:
        return call.result("not_found", response)
    return call.result("found", response, mapped=_company(company))


@adapter(PROVIDER, "employee_finder")
async def employee_finder(
    call: ProviderCall,
    *,
    company_linkedin_url: str,
    max_results: int = 10,
    page: int = 1,
    country_code: list[str] | None = None,
    job_level: list[str] | None = None,
    job_function: list[str] | None = None,
) -> AdapterResult:
    payload: dict[str, Any] = {
        "company_linkedin_url": company_linkedin_url,
        "max_results": min(max(1, max_results), MAX_RESULTS_PER_PAGE),
        "page": max(1, page),
    }
    filters = {"country_code": country_code, "job_level": job_level, "job_function": job_function}
    payload.update({key: values for key, values in filters.items() if values})
    response, finished = await _post(call, "/v2/search/employee-finder", payload)
    if finished:
        return finished
    people = objects(response.json_body.get("results"))
    return _people_found(call, response, [(person, person) for person in people])


@adapter(PROVIDER, "waterfall_icp_search")
async def waterfall_icp_search(
    call: ProviderCall, *, company_linkedin_url: str, cascade: list[dict[str, Any]], max_results: int = 10
) -> AdapterResult:
    """Tiers of title/location rules tried in order by BlitzAPI until one yields people."""
    payload = {
        "company_linkedin_url": company_linkedin_url,
        "cascade": cascade,
        "max_results": min(max(1, max_results), MAX_RESULTS_PER_PAGE),
    }
    response, finished = await _post(call, "/v2/search/waterfall-icp-keyword", payload)
    if finished:
        return finished
    hits = objects(response.json_body.get("results"))
    return _people_found(
        call, response, [(section(hit, "person"), hit) for hit in hits if section(hit, "person")]
    )


@adapter(PROVIDER, "resolve_mobile_phone")
async def resolve_mobile_phone(call: ProviderCall, *, person_linkedin_url: str) -> AdapterResult:
    response, finished = await _post(
        call, "/v2/enrichment/phone", {"person_linkedin_url": person_linkedin_url}
    )
    if finished:
        return finished
    body = response.json_body
    phone = clean_text(body.get("phone"))
    if body.get("found") is not True or phone is None:
        return call.result("not_found", response)
    return call.result("found", response, mapped={"mobile_phone": phone})


# BlitzAPI's key-info endpoint is free; ``remaining_credits`` counts for trial plans (paid ones are
# unlimited).
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/v2/account/key-info",
    lambda credentials: ProbeRequest(headers={"x-api-key": credentials[0]}),
    credits=lambda body: number(body.get("remaining_credits")),
)
