"""Prospeo — ``https://api.prospeo.io``, key in the ``X-KEY`` header, JSON POSTs (reference §16.1).

Prospeo reports "nothing matched" as ``{"error": true, "error_code": "NO_MATCH"}`` (enrichment) or
``"NO_RESULTS"`` (search), which are not-found answers; any other error code is a failure.
"""

from __future__ import annotations

from typing import Any

from dex.operations.inputs import clean_text, normalize_domain, normalize_linkedin_url
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter

PROVIDER = "prospeo"


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


def _domain(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_domain(text) if text else None


def _linkedin(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_linkedin_url(text) if text else None


def _company(company: dict[str, Any]) -> dict[str, Any]:
    """A Prospeo ``company`` object as canonical company-profile fields."""
    location = company.get("location") if isinstance(company.get("location"), dict) else {}
    return {
        "company_name": clean_text(company.get("name")),
        "company_domain": _domain(company.get("domain")) or _domain(company.get("website")),
        "company_website": clean_text(company.get("website")),
        "company_linkedin_url": _linkedin(company.get("linkedin_url")),
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
        "source_company_id": company.get("company_id"),
        "source_provider": PROVIDER,
    }


def _location_name(location: Any) -> str | None:
    """Prospeo sends a location as a string or as an object of parts (reference §16.1)."""
    if isinstance(location, str):
        return clean_text(location)
    if not isinstance(location, dict):
        return None
    for key in ("name", "full", "address", "formatted"):
        if clean_text(location.get(key)):
            return clean_text(location.get(key))
    parts = [
        clean_text(location.get(key))
        for key in ("city", "state", "state_code", "country", "country_name", "country_code")
    ]
    joined = ", ".join(part for part in parts if part)
    if joined:
        return joined
    country = location.get("country")
    return (
        clean_text(country.get("name")) or clean_text(country.get("code"))
        if isinstance(country, dict)
        else None
    )


def _person_result(person: dict[str, Any], company: dict[str, Any]) -> dict[str, Any]:
    """One ``/search-person`` hit as a person search result."""
    location = person.get("location")
    country_code = clean_text(person.get("country_code"))
    if country_code is None and isinstance(location, dict):
        country_code = clean_text(location.get("country_code"))
    return {
        "full_name": clean_text(person.get("full_name")) or clean_text(person.get("name")),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": _linkedin(person.get("linkedin_url")),
        "headline": clean_text(person.get("headline")),
        "current_title": next(
            (
                clean_text(person.get(key))
                for key in ("current_job_title", "job_title", "title")
                if clean_text(person.get(key))
            ),
            None,
        ),
        "current_company_name": clean_text(company.get("name")),
        "current_company_domain": _domain(company.get("domain")) or _domain(company.get("website")),
        "location_name": _location_name(location),
        "country_code": country_code,
        "source_person_id": clean_text(str(person["person_id"])) if person.get("person_id") else None,
        "source_provider": PROVIDER,
    }


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _skill_names(skills: Any) -> list[str]:
    """Skills come as strings or as objects naming the skill under ``name``/``skill``/``title``."""
    names = []
    for skill in skills if isinstance(skills, list) else []:
        if isinstance(skill, dict):
            skill = next((skill[k] for k in ("name", "skill", "title") if clean_text(skill.get(k))), None)
        if clean_text(skill):
            names.append(skill.strip())
    return names


def _person_profile(person: dict[str, Any], company: dict[str, Any]) -> dict[str, Any]:
    """An ``/enrich-person`` answer as person-profile fields (the current role is the job marked current,
    else the first one)."""
    history = _objects(person.get("job_history"))
    role = next((job for job in history if job.get("current") is True), history[0] if history else {})
    departments = role.get("departments")
    location = person.get("location") if isinstance(person.get("location"), dict) else {}
    email = person.get("email") if isinstance(person.get("email"), dict) else {}
    mobile = person.get("mobile") if isinstance(person.get("mobile"), dict) else {}
    return {
        "full_name": clean_text(person.get("full_name")) or clean_text(person.get("name")),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": _linkedin(person.get("linkedin_url")),
        "headline": clean_text(person.get("headline")),
        "current_title": clean_text(person.get("current_job_title")) or clean_text(role.get("title")),
        "seniority": clean_text(role.get("seniority")),
        "department": clean_text(departments[0]) if isinstance(departments, list) and departments else None,
        "bio": clean_text(person.get("bio")),
        "location": _location_name(location),
        "country": clean_text(location.get("country")),
        "current_company_name": clean_text(company.get("name")),
        "current_company_domain": _domain(company.get("domain")) or _domain(company.get("website")),
        "current_company_linkedin_url": _linkedin(company.get("linkedin_url")),
        "work_history": history,
        "education": _objects(person.get("education")),
        "skills": _skill_names(person.get("skills")),
        "email": clean_text(email.get("email")),
        "email_status": clean_text(email.get("status")),
        "mobile_phone": clean_text(mobile.get("mobile")),
        "mobile_status": clean_text(mobile.get("status")),
        "source_provider": PROVIDER,
    }


def _non_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}


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
    body = response.json_body
    company = body.get("company")
    if not isinstance(company, dict) or not company:
        return call.result("not_found", response)
    free = body.get("free_enrichment")
    provider_status = None if free is None else f"free_enrichment:{str(bool(free)).lower()}"
    return call.result("found", response, mapped=_company(company), provider_status=provider_status)


def _search_hits(body: dict[str, Any]) -> list[dict[str, Any]]:
    return _objects(body.get("results"))


def _section(hit: dict[str, Any], key: str) -> dict[str, Any]:
    value = hit.get(key)
    return value if isinstance(value, dict) else {}


def _pagination(body: dict[str, Any]) -> dict[str, Any]:
    pagination = body.get("pagination")
    return pagination if isinstance(pagination, dict) else {}


@adapter(PROVIDER, "search_company")
async def search_company(call: ProviderCall, *, filters: dict[str, Any], page: int = 1) -> AdapterResult:
    response, finished = await _post(
        call, "/search-company", {"page": page, "filters": filters}, "NO_RESULTS"
    )
    if finished:
        return finished
    body = response.json_body
    results = [_company(_section(hit, "company")) for hit in _search_hits(body) if _section(hit, "company")]
    if not results:
        return call.result("not_found", response)
    return call.result("found", response, mapped={"results": results, "pagination": _pagination(body)})


@adapter(PROVIDER, "search_person")
async def search_person(call: ProviderCall, *, filters: dict[str, Any], page: int = 1) -> AdapterResult:
    response, finished = await _post(call, "/search-person", {"page": page, "filters": filters}, "NO_RESULTS")
    if finished:
        return finished
    body = response.json_body
    results = [
        _person_result(_section(hit, "person"), _section(hit, "company"))
        for hit in _search_hits(body)
        if _section(hit, "person")
    ]
    if not results:
        return call.result("not_found", response)
    return call.result("found", response, mapped={"results": results, "pagination": _pagination(body)})


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
    body = response.json_body
    person = _section(body, "person")
    if not person:
        return call.result("not_found", response)
    return call.result("found", response, mapped=_person_profile(person, _section(body, "company")))
