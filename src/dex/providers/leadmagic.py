"""LeadMagic — ``https://api.leadmagic.io``, key in the ``X-API-Key`` header, every call a JSON POST.

LeadMagic answers "nothing known" with HTTP 404, with an empty answer, or with a ``message`` saying so;
all of these are not-found answers. The email and mobile finders return their ``mapped`` shape for every
2xx answer, with empty values when nothing was found.
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest, number
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter, with_raw
from dex.providers.payload import (
    domain_of,
    id_text,
    linkedin_of,
    objects,
    section,
    settled_by_status,
    strings,
)

PROVIDER = "leadmagic"
EMAIL_FINDER_TIMEOUT_SECONDS = 20
TECHNOGRAPHICS_PATH = "/v1/companies/company-technographics"
# LeadMagic's earlier route for technographics, still answering where the new one 404s.
LEGACY_TECHNOGRAPHICS_PATH = "/v1/company/technographics"


async def _post(
    call: ProviderCall, path: str, payload: dict[str, Any], *, timeout_seconds: float | None = None
) -> ProviderResponse:
    body = {key: value for key, value in payload.items() if value not in (None, "")}
    return await call.request(
        "POST", path, headers={"X-API-Key": call.key}, json_body=body, timeout_seconds=timeout_seconds
    )


def _message(body: dict[str, Any]) -> str | None:
    return clean_text(body.get("message"))


def _says(body: dict[str, Any], phrase: str) -> bool:
    return phrase in (_message(body) or "").lower()


def _person_result(person: dict[str, Any], requested_domain: str | None) -> dict[str, Any]:
    """An employee-finder / role-finder person as a person search result."""
    title = clean_text(person.get("job_title"))
    return {
        "full_name": clean_text(person.get("full_name")),
        "first_name": clean_text(person.get("first_name")),
        "last_name": clean_text(person.get("last_name")),
        "linkedin_url": linkedin_of(person.get("profile_url")),
        "headline": title,
        "current_title": title,
        "current_company_name": clean_text(person.get("company_name")),
        "current_company_domain": domain_of(person.get("company_website")) or requested_domain,
        "location_name": clean_text(person.get("location")),
        "country_code": None,
        "source_person_id": None,
        "source_provider": PROVIDER,
    }


def _employee_range(company: dict[str, Any]) -> str | None:
    explicit = clean_text(company.get("employee_range"))
    if explicit:
        return explicit
    bounds = section(company, "employeeCountRange")
    start, end = bounds.get("start"), bounds.get("end")
    return f"{start}-{end}" if start is not None and end is not None else None


def _company(company: dict[str, Any]) -> dict[str, Any]:
    """A company-search answer as canonical company-profile fields."""
    headquarter = section(company, "headquarter")
    return {
        "company_name": clean_text(company.get("companyName")),
        "company_domain": domain_of(company.get("websiteUrl")),
        "company_website": clean_text(company.get("websiteUrl")),
        "company_linkedin_url": linkedin_of(company.get("b2b_profile_url")),
        "company_type": clean_text(company.get("ownership_status")),
        "industry_primary": clean_text(company.get("industry")),
        "employee_count": company.get("employeeCount"),
        "employee_range": _employee_range(company),
        "founded_year": company.get("founded_year"),
        "hq_locality": clean_text(headquarter.get("city")),
        "hq_country_code": clean_text(headquarter.get("country")),
        "description_raw": clean_text(company.get("description")),
        "specialties": company.get("specialities"),
        "annual_revenue_range": clean_text(company.get("revenue_formatted")),
        "follower_count": company.get("followerCount"),
        "logo_url": clean_text(company.get("logo_url")),
        "source_company_id": id_text(company.get("companyId")),
        "source_provider": PROVIDER,
    }


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _person_profile(body: dict[str, Any]) -> dict[str, Any]:
    """A profile-search answer as person-profile fields."""
    title = clean_text(body.get("professional_title"))
    tenure = body.get("total_tenure_years")
    return {
        "full_name": clean_text(body.get("full_name")),
        "first_name": clean_text(body.get("first_name")),
        "last_name": clean_text(body.get("last_name")),
        "linkedin_url": linkedin_of(body.get("profile_url")),
        "headline": title,
        "current_title": title,
        "bio": clean_text(body.get("bio")),
        "location": clean_text(body.get("location")),
        "country": clean_text(body.get("country")),
        "current_company_name": clean_text(body.get("company_name")),
        "current_company_domain": domain_of(body.get("company_website")),
        "work_history": objects(body.get("work_experience")),
        "education": objects(body.get("education")),
        "skills": strings(body.get("skills")),
        "certifications": objects(body.get("certifications")),
        "honors": objects(body.get("honors")),
        "total_tenure_years": str(tenure) if tenure not in (None, "") else None,
        "follower_count": _count(body.get("follower_count")),
        "connections_count": _count(body.get("connections_count")),
        "source_provider": PROVIDER,
    }


@adapter(PROVIDER, "resolve_email")
async def resolve_email(
    call: ProviderCall,
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    full_name: str | None = None,
    domain: str | None = None,
    company_name: str | None = None,
) -> AdapterResult:
    """Email finder: a name and the company's domain (preferred) or name."""
    if not (first_name or last_name or full_name) or not (domain or company_name):
        return call.result("skipped", skip_reason="missing_required_inputs")
    payload = {"full_name": full_name, "first_name": first_name, "last_name": last_name}
    payload |= {"domain": domain} if domain else {"company_name": company_name}
    response = await _post(
        call, "/v1/people/email-finder", payload, timeout_seconds=EMAIL_FINDER_TIMEOUT_SECONDS
    )
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    mapped = {"email": clean_text(body.get("email")), "status": clean_text(body.get("status"))}
    return call.result("found" if mapped["email"] else "not_found", response, mapped=mapped)


@adapter(PROVIDER, "resolve_mobile_phone")
async def resolve_mobile_phone(
    call: ProviderCall,
    *,
    profile_url: str | None = None,
    work_email: str | None = None,
    personal_email: str | None = None,
) -> AdapterResult:
    """Mobile finder: any of a LinkedIn profile URL, a work email or a personal email."""
    if not (profile_url or work_email or personal_email):
        return call.result("skipped", skip_reason="missing_required_inputs")
    payload = {"profile_url": profile_url, "work_email": work_email, "personal_email": personal_email}
    response = await _post(call, "/v1/people/mobile-finder", payload)
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    mapped = {"mobile_phone": clean_text(body.get("mobile_number"))}
    return call.result(
        "found" if mapped["mobile_phone"] else "not_found",
        response,
        mapped=mapped,
        provider_status=_message(body),
    )


@adapter(PROVIDER, "employee_finder")
async def employee_finder(
    call: ProviderCall, *, company_domain: str | None = None, company_name: str | None = None, limit: int = 10
) -> AdapterResult:
    if not (company_domain or company_name):
        return call.result("skipped", skip_reason="missing_required_inputs")
    payload = {"limit": max(1, limit), "company_domain": company_domain, "company_name": company_name}
    response = await _post(call, "/v1/people/employee-finder", payload)
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    results = [
        with_raw(_person_result(person, company_domain), person) for person in objects(body.get("employees"))
    ]
    if not results:
        return call.result("not_found", response, provider_status=_message(body))
    pagination = {"total_count": body["total_count"]} if "total_count" in body else {}
    return call.result("found", response, mapped={"results": results, "pagination": pagination})


@adapter(PROVIDER, "role_finder")
async def role_finder(
    call: ProviderCall, *, job_title: str, company_domain: str | None = None, company_name: str | None = None
) -> AdapterResult:
    """The one person holding ``job_title`` at the company; an answer without a profile URL is no match."""
    if not (company_domain or company_name):
        return call.result("skipped", skip_reason="missing_required_inputs")
    payload = {"job_title": job_title, "company_domain": company_domain, "company_name": company_name}
    response = await _post(call, "/v1/people/role-finder", payload)
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    if not clean_text(body.get("profile_url")):
        return call.result("not_found", response, provider_status=_message(body))
    return call.result(
        "found",
        response,
        mapped={"results": [with_raw(_person_result(body, company_domain), body)], "pagination": {}},
    )


@adapter(PROVIDER, "enrich_company")
async def enrich_company(
    call: ProviderCall,
    *,
    company_domain: str | None = None,
    profile_url: str | None = None,
    company_name: str | None = None,
) -> AdapterResult:
    """Company search by domain, company LinkedIn URL (``profile_url``) or name."""
    if not (company_domain or profile_url or company_name):
        return call.result("skipped", skip_reason="missing_required_inputs")
    payload = {"company_domain": company_domain, "profile_url": profile_url, "company_name": company_name}
    response = await _post(call, "/v1/companies/company-search", payload)
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    if not (clean_text(body.get("companyName")) or body.get("companyId")):
        return call.result("not_found", response, provider_status=_message(body))
    return call.result("found", response, mapped=_company(body))


@adapter(PROVIDER, "technographics")
async def technographics(call: ProviderCall, *, company_domain: str) -> AdapterResult:
    """The company's technologies; the legacy route is asked when the current one answers 404."""
    response = await _post(call, TECHNOGRAPHICS_PATH, {"company_domain": company_domain})
    if response.http_status == 404 and response.error is None:
        response = await _post(call, LEGACY_TECHNOGRAPHICS_PATH, {"company_domain": company_domain})
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    if _says(body, "no technologies found"):
        return call.result("not_found", response, provider_status=_message(body))
    technologies = [
        {key: clean_text(tech.get(key)) for key in ("name", "category", "website", "icon")}
        for tech in objects(body.get("technologies"))
        if clean_text(tech.get("name"))
    ]
    if not technologies:
        return call.result("not_found", response, provider_status=_message(body))
    categories = {category: strings(names) for category, names in section(body, "categories").items()}
    return call.result("found", response, mapped={"technologies": technologies, "categories": categories})


@adapter(PROVIDER, "enrich_person")
async def enrich_person(call: ProviderCall, *, profile_url: str) -> AdapterResult:
    """Profile search by LinkedIn URL; found iff it names the person or their work or education."""
    response = await _post(call, "/v1/people/profile-search", {"profile_url": profile_url})
    finished = settled_by_status(call, response)
    if finished:
        return finished
    body = response.json_body
    if _says(body, "not found"):
        return call.result("not_found", response, provider_status=_message(body))
    profile = _person_profile(body)
    if not any(profile[key] for key in ("full_name", "current_title", "work_history", "education")):
        return call.result("not_found", response, provider_status=_message(body))
    return call.result("found", response, mapped=profile)


# LeadMagic's credits endpoint is free.
ACCOUNT_PROBE = AccountProbe(
    "POST",
    "/credits",
    lambda credentials: ProbeRequest(headers={"X-API-Key": credentials[0]}),
    credits=lambda body: number(body.get("credits")),
)
