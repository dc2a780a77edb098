"""BlitzAPI emulation: JSON POSTs with the key in the ``x-api-key`` header.

An unknown domain is HTTP 404 on domain-to-linkedin; the other enrichment endpoints answer
``{"found": false}``. Searches answer an empty ``results`` list when nobody matches. A body missing a
required field is refused with HTTP 422 (a validation error), never answered "not found"
(contracts/providers/blitzapi/).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import known, strings, text, title_matches
from dex.sandbox.world import (
    Company,
    Person,
    company_for_domain,
    company_for_linkedin,
    person_for_linkedin,
    staff,
)

router = APIRouter(prefix="/blitzapi", tags=["blitzapi"])

PROVIDER = "blitzapi"
MAX_RESULTS = 100


def _company(company: Company) -> dict[str, Any]:
    return {
        "name": company.name,
        "domain": company.domain,
        "website": company.website,
        "linkedin_url": company.linkedin_url,
        "linkedin_id": company.linkedin_id,
        "type": company.company_type,
        "industry": company.industry,
        "employees_on_linkedin": company.employee_count,
        "size": company.employee_range,
        "founded_year": company.founded_year,
        "hq": {"city": company.hq_city, "country_code": company.hq_country_code},
        "about": company.description,
        "specialties": list(company.specialties),
        "followers": company.follower_count,
    }


def _person(person: Person) -> dict[str, Any]:
    return {
        "id": person.person_id,
        "full_name": person.full_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "linkedin_url": person.linkedin_url,
        "headline": f"{person.title} at {person.company.name}",
        "experiences": [
            {
                "job_title": person.title,
                "job_is_current": True,
                "company_linkedin_url": person.company.linkedin_url,
            }
        ],
        "location": {"city": person.company.hq_city, "country_code": person.company.hq_country_code},
    }


def _bounded(value: Any, default: int, maximum: int) -> int:
    return min(max(1, value), maximum) if isinstance(value, int) and not isinstance(value, bool) else default


def _known_company(request: Request, payload: dict[str, Any]) -> Company | None:
    linkedin_url = text(payload, "company_linkedin_url")
    company = company_for_linkedin(linkedin_url) if linkedin_url else None
    return company if company is not None and known(request, PROVIDER, company.domain) else None


def _in_location(person: Person, places: list[str]) -> bool:
    where = {person.company.hq_city.lower(), person.company.hq_country_code.lower()}
    return not places or any(place.lower() in where for place in places)


def _authorized(request: Request) -> bool:
    return request.headers.get("x-api-key") == sandbox_credential(PROVIDER)


async def _handle(
    request: Request,
    action: str,
    answer: Any,
    payload: dict[str, Any] | None = None,
    required: tuple[str, ...] = (),
    *,
    billable: bool = True,
) -> Any:
    """Answers through the sandbox; a body lacking one of ``required`` gets BlitzAPI's validation error."""
    missing = [name for name in required if not (payload or {}).get(name)]

    def checked() -> Any:
        if missing:
            details = [
                {"loc": ["body", name], "msg": "Field required", "type": "missing"} for name in missing
            ]
            return JSONResponse({"detail": details}, 422)
        return answer()

    return await sandbox_state(request).handle(
        request, PROVIDER, action, authorized=_authorized(request), answer=checked, billable=billable
    )


@router.post("/v2/enrichment/domain-to-linkedin")
async def domain_to_linkedin(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        domain = text(payload, "domain")
        company = company_for_domain(domain) if domain else None
        if company is None or not known(request, PROVIDER, company.domain):
            return JSONResponse({"found": False, "message": "No company found for this domain"}, 404)
        return {"found": True, "company_linkedin_url": company.linkedin_url}

    return await _handle(request, "domain_to_linkedin", answer, payload, ("domain",))


@router.post("/v2/enrichment/company")
async def enrich_company(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        company = _known_company(request, payload)
        return {"found": True, "company": _company(company)} if company else {"found": False}

    return await _handle(request, "enrich_company", answer, payload, ("company_linkedin_url",))


@router.post("/v2/search/employee-finder")
async def employee_finder(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        company = _known_company(request, payload)
        levels, functions = set(strings(payload.get("job_level"))), set(strings(payload.get("job_function")))
        countries = strings(payload.get("country_code"))
        people = [
            person
            for person in (staff(company) if company else [])
            if (not levels or person.seniority in levels)
            and (not functions or person.department in functions)
            and _in_location(person, countries)
        ]
        per_page = _bounded(payload.get("max_results"), 10, MAX_RESULTS)
        page = _bounded(payload.get("page"), 1, 10_000)
        shown = people[(page - 1) * per_page : page * per_page]
        return {
            "results": [_person(person) for person in shown],
            "results_length": len(shown),
            "page": page,
            "total_pages": (len(people) + per_page - 1) // per_page,
        }

    return await _handle(request, "employee_finder", answer, payload, ("company_linkedin_url",))


@router.post("/v2/search/waterfall-icp-keyword")
async def waterfall_icp_search(request: Request, payload: dict[str, Any] = Body(default={})):
    """The cascade's tiers are tried in order; the first tier that matches anyone is the answer."""

    def answer() -> Any:
        company = _known_company(request, payload)
        people = staff(company) if company else []
        tiers = [tier for tier in payload.get("cascade") or [] if isinstance(tier, dict)]
        for level, tier in enumerate(tiers, start=1):
            include, exclude = strings(tier.get("include_title")), strings(tier.get("exclude_title"))
            matches = [
                person
                for person in people
                if any(title_matches(person.title, title) for title in include)
                and not any(title_matches(person.title, title) for title in exclude)
                and _in_location(person, strings(tier.get("location")))
            ]
            if matches:
                shown = matches[: _bounded(payload.get("max_results"), 10, MAX_RESULTS)]
                results = [{"person": _person(person), "cascade_level": level} for person in shown]
                return {"results": results, "results_length": len(results)}
        return {"results": [], "results_length": 0}

    return await _handle(
        request, "waterfall_icp_search", answer, payload, ("company_linkedin_url", "cascade")
    )


@router.post("/v2/enrichment/phone")
async def phone(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        linkedin_url = text(payload, "person_linkedin_url")
        person = person_for_linkedin(linkedin_url) if linkedin_url else None
        if person is None or not known(request, PROVIDER, person.person_id):
            return {"found": False, "phone": None}
        return {"found": True, "phone": person.mobile_phone}

    return await _handle(request, "resolve_mobile_phone", answer, payload, ("person_linkedin_url",))


@router.get("/v2/account/key-info")
async def key_info(request: Request):
    """Free; the sandbox key never runs out."""

    def answer() -> Any:
        return {
            "valid": True,
            "id": "sandbox-key",
            "remaining_credits": 10_000,
            "next_reset_at": "2099-01-01T00:00:00.000Z",
            "max_requests_per_seconds": 50,
            "allowed_apis": ["/enrichment/company", "/search/employee-finder"],
            "active_plans": [
                {"name": "Sandbox", "status": "active", "started_at": "2026-01-01T00:00:00.000Z"}
            ],
        }

    return await _handle(request, "key_info", answer, billable=False)
