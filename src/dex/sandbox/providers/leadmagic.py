"""LeadMagic emulation: JSON POSTs with the key in the ``X-API-Key`` header.

Not-found answers follow LeadMagic: company search and technographics answer HTTP 404 for an unknown
company (technographics on both its current and its legacy route), a company LeadMagic knows without any
detected technology gets ``"No technologies found"``, finders answer an empty result with a ``message``,
and profile search says ``"Profile not found"``. A request missing what an endpoint needs is refused with
HTTP 400 and LeadMagic's error object, and a refused key with HTTP 401 — never answered "no match"
(contracts/providers/leadmagic/).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import company_named, known, person_for_email, text, title_matches
from dex.sandbox.world import (
    Company,
    Person,
    company_for_domain,
    company_for_linkedin,
    digest,
    find_person,
    person_for_linkedin,
    staff,
)

router = APIRouter(prefix="/leadmagic", tags=["leadmagic"])

PROVIDER = "leadmagic"
TECHNOLOGIES = (
    ("Salesforce", "CRM", "https://salesforce.com"),
    ("HubSpot", "Marketing Automation", "https://hubspot.com"),
    ("Google Analytics", "Analytics", "https://analytics.google.com"),
    ("Segment", "Analytics", "https://segment.com"),
    ("React", "JavaScript Frameworks", "https://react.dev"),
    ("Amazon Web Services", "Hosting", "https://aws.amazon.com"),
    ("Cloudflare", "CDN", "https://cloudflare.com"),
    ("Stripe", "Payments", "https://stripe.com"),
    ("Zendesk", "Customer Support", "https://zendesk.com"),
    ("Intercom", "Live Chat", "https://intercom.com"),
)
# One company in this many has no detectable technology.
NO_TECHNOLOGY_ONE_IN = 10


def _company(company: Company) -> dict[str, Any]:
    low, high = company.employee_range.split("-")
    return {
        "companyName": company.name,
        "companyId": int(company.linkedin_id),
        "websiteUrl": company.website,
        "b2b_profile_url": company.linkedin_url,
        "ownership_status": company.company_type,
        "industry": company.industry,
        "employeeCount": company.employee_count,
        "employeeCountRange": {"start": int(low), "end": int(high)},
        "founded_year": company.founded_year,
        "headquarter": {"city": company.hq_city, "country": company.hq_country_code},
        "description": company.description,
        "specialities": list(company.specialties),
        "revenue_formatted": company.revenue_range,
        "followerCount": company.follower_count,
        "logo_url": f"https://cdn.leadmagic.io/logos/{company.domain}.png",
        "message": "Company found",
    }


def _person(person: Person) -> dict[str, Any]:
    return {
        "full_name": person.full_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "profile_url": person.linkedin_url,
        "job_title": person.title,
        "company_name": person.company.name,
        "company_website": person.company.website,
        "location": person.location,
    }


def _profile(person: Person) -> dict[str, Any]:
    tenure = 1 + digest("tenure", person.person_id) % 12
    return {
        "full_name": person.full_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "profile_url": person.linkedin_url,
        "professional_title": person.title,
        "bio": f"{person.title} at {person.company.name}.",
        "location": person.location,
        "country": person.company.hq_country_code,
        "company_name": person.company.name,
        "company_website": person.company.website,
        "work_experience": [
            {"position_title": person.title, "company_name": person.company.name, "is_current": True}
        ],
        "education": [{"institution_name": f"University of {person.company.hq_city}"}],
        "skills": [person.department, person.company.industry],
        "certifications": [],
        "honors": [],
        "total_tenure_years": str(tenure),
        "follower_count": digest("followers", person.person_id) % 5_000,
        "connections_count": 500,
        "message": "Profile found",
    }


def _technographics(company: Company) -> dict[str, Any]:
    if digest("no-tech", company.domain) % NO_TECHNOLOGY_ONE_IN == 0:
        return {"message": "No technologies found for this company", "technologies": []}
    chosen = [tech for tech in TECHNOLOGIES if digest("tech", company.domain, tech[0]) % 2 == 0] or [
        TECHNOLOGIES[0]
    ]
    categories: dict[str, list[str]] = {}
    for name, category, _ in chosen:
        categories.setdefault(category, []).append(name)
    return {
        "technologies": [
            {"name": name, "category": category, "website": website, "icon": f"{website}/favicon.ico"}
            for name, category, website in chosen
        ],
        "categories": categories,
        "message": "Technologies found",
    }


def _company_of(payload: dict[str, Any]) -> Company | None:
    """The company a request names by ``company_domain`` or ``company_name``."""
    if domain := text(payload, "company_domain") or text(payload, "domain"):
        return company_for_domain(domain)
    if name := text(payload, "company_name"):
        return company_named(name)
    return None


def _not_found(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, 404)


def _authorized(request: Request) -> bool:
    return request.headers.get("x-api-key") == sandbox_credential(PROVIDER)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "status": status}}, status)


async def _handle(
    request: Request,
    action: str,
    answer: Any,
    payload: dict[str, Any] | None = None,
    needs: tuple[tuple[str, ...], ...] = (),
    *,
    billable: bool = True,
) -> Any:
    """Answers through the sandbox. ``needs`` lists groups of fields of which the body must hold at least
    one each (e.g. a domain or a company name); a body that does not is LeadMagic's 400."""
    missing = [group for group in needs if not any(text(payload or {}, name) for name in group)]

    def checked() -> Any:
        if missing:
            wanted = "; ".join(" or ".join(group) for group in missing)
            return _error(400, "BAD_REQUEST", f"Missing required field: {wanted}")
        return answer()

    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        action,
        authorized=_authorized(request),
        answer=checked,
        billable=billable,
        unauthorized=_error(401, "UNAUTHORIZED", "Invalid or missing API key"),
    )


@router.post("/v1/people/email-finder")
async def email_finder(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        company = _company_of(payload)
        names = {key: text(payload, key) or "" for key in ("first_name", "last_name", "full_name")}
        person = find_person(company, **names) if company else None
        if person is None or not known(request, PROVIDER, person.person_id):
            return {"email": None, "status": "not_found", "message": "Email not found", "credits_consumed": 0}
        return {
            "email": person.work_email,
            "status": "valid",
            "first_name": person.first_name,
            "last_name": person.last_name,
            "domain": person.company.domain,
            "company_name": person.company.name,
            "message": "Email found",
            "credits_consumed": 1,
        }

    return await _handle(
        request,
        "resolve_email",
        answer,
        payload,
        (("first_name", "last_name", "full_name"), ("domain", "company_name")),
    )


@router.post("/v1/people/mobile-finder")
async def mobile_finder(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        profile_url, work_email = text(payload, "profile_url"), text(payload, "work_email")
        person = (person_for_linkedin(profile_url) if profile_url else None) or (
            person_for_email(work_email) if work_email else None
        )
        if person is None or not known(request, PROVIDER, person.person_id):
            return {"mobile_number": None, "message": "No mobile number found", "credits_consumed": 0}
        return {"mobile_number": person.mobile_phone, "message": "Mobile number found", "credits_consumed": 5}

    return await _handle(
        request, "resolve_mobile_phone", answer, payload, (("profile_url", "work_email", "personal_email"),)
    )


@router.post("/v1/people/employee-finder")
async def employee_finder(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        company = _company_of(payload)
        people = staff(company) if company and known(request, PROVIDER, company.domain) else []
        limit = payload.get("limit")
        shown = people[: limit if isinstance(limit, int) and limit >= 1 else 10]
        return {
            "employees": [_person(person) for person in shown],
            "total_count": len(people),
            "message": "Employees found" if people else "No employees found",
        }

    return await _handle(request, "employee_finder", answer, payload, (("company_domain", "company_name"),))


@router.post("/v1/people/role-finder")
async def role_finder(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        company, title = _company_of(payload), text(payload, "job_title") or ""
        match = next(
            (person for person in (staff(company) if company else []) if title_matches(person.title, title)),
            None,
        )
        if match is None or not known(request, PROVIDER, match.person_id):
            return {"message": "No matching person found"}
        return {**_person(match), "message": "Role found"}

    return await _handle(
        request, "role_finder", answer, payload, (("job_title",), ("company_domain", "company_name"))
    )


@router.post("/v1/companies/company-search")
async def company_search(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        profile_url = text(payload, "profile_url")
        company = _company_of(payload) or (company_for_linkedin(profile_url) if profile_url else None)
        if company is None or not known(request, PROVIDER, company.domain):
            return _not_found("Company not found")
        return _company(company)

    return await _handle(
        request, "enrich_company", answer, payload, (("company_domain", "profile_url", "company_name"),)
    )


async def _technographics_route(request: Request, payload: dict[str, Any]) -> Any:
    def answer() -> Any:
        company = _company_of(payload)
        if company is None or not known(request, PROVIDER, company.domain):
            return _not_found("Company not found")
        return _technographics(company)

    return await _handle(request, "technographics", answer, payload, (("company_domain",),))


@router.post("/v1/companies/company-technographics")
async def technographics(request: Request, payload: dict[str, Any] = Body(default={})):
    return await _technographics_route(request, payload)


@router.post("/v1/company/technographics")
async def legacy_technographics(request: Request, payload: dict[str, Any] = Body(default={})):
    """The route LeadMagic served technographics on before ``/v1/companies/company-technographics``."""
    return await _technographics_route(request, payload)


@router.post("/v1/people/profile-search")
async def profile_search(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        profile_url = text(payload, "profile_url")
        person = person_for_linkedin(profile_url) if profile_url else None
        if person is None or not known(request, PROVIDER, person.person_id):
            return {"message": "Profile not found"}
        return _profile(person)

    return await _handle(request, "enrich_person", answer, payload, (("profile_url",),))


@router.post("/credits")
async def credits(request: Request):
    """Free; the sandbox account never runs out."""
    return await _handle(request, "credits", lambda: {"credits": 10_000}, billable=False)
