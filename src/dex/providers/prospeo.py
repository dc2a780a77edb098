"""Prospeo — ``https://api.prospeo.io``, key in the ``X-KEY`` header, JSON POSTs.

Prospeo reports "nothing matched" as ``{"error": true, "error_code": "NO_MATCH"}`` (enrichment) or
``"NO_RESULTS"`` (search), which are not-found answers; any other error code is a failure.
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest, number
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter, with_raw
from dex.providers.payload import (
    domain_of,
    first_text,
    id_text,
    linkedin_of,
    objects,
    section,
    strings,
)

PROVIDER = "prospeo"


# --- Prospeo -------------------------------------------------------------------------------------------


async def _post(
    call: ProviderCall, path: str, payload: dict[str, Any], not_found_code: str
) -> tuple[ProviderResponse, AdapterResult | None]:
    """The answer, plus the finished attempt when the answer is an error (not found or failed)."""
    response = await call.request("POST", path, headers={"X-KEY": call.key}, json_body=payload)
    body = response.json_body
    if response.error or response.http_status is None:
        return response, call.failed_response(response)
    if body.get("error") is True or not response.ok:
        code = clean_text(body.get("error_code"))
        if code == not_found_code:
            return response, call.result("not_found", response, provider_status=code)
        return response, call.failed_response(response, provider_status=code)
    return response, None


def _non_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value not in (None, "")}


def _company(company: dict[str, Any]) -> dict[str, Any]:
    """A Prospeo ``company`` object as canonical company-profile fields."""
    location = section(company, "location")
    return {
        "company_name": clean_text(company.get("name")),
        "company_domain": domain_of(company.get("domain")) or domain_of(company.get("website")),
        "company_website": clean_text(company.get("website")),
        "company_linkedin_url": linkedin_of(company.get("linkedin_url")),
        "company_type": clean_text(company.get("type")),
        "industry_primary": clean_text(company.get("industry")),
        "employee_count": company.get("employee_count"),
        "employee_range": clean_text(company.get("employee_range")),
        "founded_year": company.get("founded"),
        "hq_locality": clean_text(location.get("city")),
        "hq_country_code": clean_text(location.get("country_code")),
        "description_raw": clean_text(company.get("description")),
        "specialties": company.get("keywords"),
        "annual_revenue_range": clean_text(company.get("revenue_range_printed")),
        "logo_url": clean_text(company.get("logo_url")),
        "source_company_id": id_text(company.get("company_id")),
        "source_provider": PROVIDER,
    }


def _location_name(location: Any) -> str | None:
    """A location sent as a string, or as an object: its full name, else its parts joined, else its
    country's name or code."""
    if not isinstance(location, dict):
        return clean_text(location)
    parts = ("city", "state", "state_code", "country", "country_name", "country_code")
    country = section(location, "country")
    return (
        first_text(location, "name", "full", "address", "formatted")
        or ", ".join(part for key in parts if (part := clean_text(location.get(key))))
        or first_text(country, "name", "code")
    )


def _person_result(person: dict[str, Any], company: dict[str, Any]) -> dict[str, Any]:
    """One ``/search-person`` hit as a person search result."""
    location = person.get("location")
    return {
        "full_name": first_text(person, "full_name", "name"),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": linkedin_of(person.get("linkedin_url")),
        "headline": clean_text(person.get("headline")),
        "current_title": first_text(person, "current_job_title", "job_title", "title"),
        "current_company_name": clean_text(company.get("name")),
        "current_company_domain": domain_of(company.get("domain")) or domain_of(company.get("website")),
        "location_name": _location_name(location),
        "country_code": clean_text(person.get("country_code"))
        or first_text(section(person, "location"), "country_code"),
        "source_person_id": id_text(person.get("person_id")),
        "source_provider": PROVIDER,
    }


def _skill_names(skills: Any) -> list[str]:
    """Skills come as strings or as objects naming the skill under ``name``/``skill``/``title``."""
    items = skills if isinstance(skills, list) else []
    names = (
        first_text(item, "name", "skill", "title") if isinstance(item, dict) else clean_text(item)
        for item in items
    )
    return [name for name in names if name]


def _person_profile(person: dict[str, Any], company: dict[str, Any]) -> dict[str, Any]:
    """An ``/enrich-person`` answer as person-profile fields (the current role is the job marked current,
    else the first one)."""
    history = objects(person.get("job_history"))
    role = next((job for job in history if job.get("current") is True), history[0] if history else {})
    location, email, mobile = (section(person, key) for key in ("location", "email", "mobile"))
    return {
        "full_name": first_text(person, "full_name", "name"),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": linkedin_of(person.get("linkedin_url")),
        "headline": clean_text(person.get("headline")),
        "current_title": clean_text(person.get("current_job_title")) or clean_text(role.get("title")),
        "seniority": clean_text(role.get("seniority")),
        "department": next(iter(strings(role.get("departments"))), None),
        "bio": clean_text(person.get("bio")),
        "location": _location_name(location),
        "country": clean_text(location.get("country")),
        "current_company_name": clean_text(company.get("name")),
        "current_company_domain": domain_of(company.get("domain")) or domain_of(company.get("website")),
        "current_company_linkedin_url": linkedin_of(company.get("linkedin_url")),
        "work_history": history,
        "education": objects(person.get("education")),
        "skills": _skill_names(person.get("skills")),
        "email": clean_text(email.get("email")),
        "email_status": clean_text(email.get("status")),
        "mobile_phone": clean_text(mobile.get("mobile")),
        "mobile_status": clean_text(mobile.get("status")),
        "source_provider": PROVIDER,
    }


def _found_hits(
    call: ProviderCall, response: ProviderResponse, results: list[dict[str, Any]]
) -> AdapterResult:
    if not results:
        return call.result("not_found", response)
    mapped = {"results": results, "pagination": section(response.json_body, "pagination")}
    return call.result("found", response, mapped=mapped)


@adapter(PROVIDER, "enrich_company")
async def enrich_company(
    call: ProviderCall,
    *,
    company_website: str | None = None,
    company_linkedin_url: str | None = None,
    company_name: str | None = None,
    company_id: str | None = None,
) -> AdapterResult:
    data = _non_empty(
        {
            "company_website": company_website,
            "company_linkedin_url": company_linkedin_url,
            "company_name": company_name,
            "company_id": company_id,
        }
    )
    if not data:
        return call.result("skipped", skip_reason="missing_required_inputs")
    response, finished = await _post(call, "/enrich-company", {"data": data}, "NO_MATCH")
    if finished:
        return finished
    company = section(response.json_body, "company")
    if not company:
        return call.result("not_found", response)
    free = response.json_body.get("free_enrichment")
    provider_status = f"free_enrichment:{str(free).lower()}" if isinstance(free, bool) else None
    return call.result("found", response, mapped=_company(company), provider_status=provider_status)


@adapter(PROVIDER, "search_company")
async def search_company(call: ProviderCall, *, filters: dict[str, Any], page: int = 1) -> AdapterResult:
    payload = {"page": page, "filters": filters}
    response, finished = await _post(call, "/search-company", payload, "NO_RESULTS")
    if finished:
        return finished
    hits = objects(response.json_body.get("results"))
    return _found_hits(
        call,
        response,
        [with_raw(_company(section(hit, "company")), hit) for hit in hits if section(hit, "company")],
    )


@adapter(PROVIDER, "search_person")
async def search_person(call: ProviderCall, *, filters: dict[str, Any], page: int = 1) -> AdapterResult:
    payload = {"page": page, "filters": filters}
    response, finished = await _post(call, "/search-person", payload, "NO_RESULTS")
    if finished:
        return finished
    hits = objects(response.json_body.get("results"))
    people = [
        with_raw(_person_result(section(hit, "person"), section(hit, "company")), hit)
        for hit in hits
        if section(hit, "person")
    ]
    return _found_hits(call, response, people)


@adapter(PROVIDER, "enrich_person")
async def enrich_person(
    call: ProviderCall,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    full_name: str | None = None,
    linkedin_url: str | None = None,
    email: str | None = None,
    person_id: str | None = None,
    company_name: str | None = None,
    company_website: str | None = None,
    company_linkedin_url: str | None = None,
) -> AdapterResult:
    """Prospeo matches on a LinkedIn URL, an email or its own person id alone, or on a name together with
    one of the company's identifiers; anything less is not sent."""
    has_company = bool(company_name or company_website or company_linkedin_url)
    named = bool(first_name and last_name) or bool(full_name)
    if not (linkedin_url or email or person_id or (named and has_company)):
        return call.result("skipped", skip_reason="missing_required_inputs")
    data = _non_empty(
        {
            "first_name": first_name,
            "last_name": last_name,
            "full_name": full_name,
            "linkedin_url": linkedin_url,
            "email": email,
            "person_id": person_id,
            "company_name": company_name,
            "company_website": company_website,
            "company_linkedin_url": company_linkedin_url,
        }
    )
    response, finished = await _post(call, "/enrich-person", {"data": data}, "NO_MATCH")
    if finished:
        return finished
    person = section(response.json_body, "person")
    if not person:
        return call.result("not_found", response)
    return call.result(
        "found", response, mapped=_person_profile(person, section(response.json_body, "company"))
    )


# Prospeo's account endpoint is free and reports the remaining credits under ``response``.
ACCOUNT_PROBE = AccountProbe(
    "POST",
    "/account-information",
    lambda credentials: ProbeRequest(headers={"X-KEY": credentials[0]}),
    credits=lambda body: number(section(body, "response").get("remaining_credits")),
)
