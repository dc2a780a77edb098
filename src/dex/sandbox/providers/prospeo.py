"""Prospeo emulation: JSON POSTs with the key in the ``X-KEY`` header.

No match is HTTP 400 ``{"error": true, "error_code": "NO_MATCH"}`` (enrichment) or ``"NO_RESULTS"``
(search), as Prospeo answers; neither is billed. A malformed request is refused the way Prospeo documents
it, not answered "no match": an enrichment without ``data`` datapoints is ``INVALID_DATAPOINTS``, a search
without ``filters`` ``INVALID_FILTERS`` (both HTTP 400), and a refused key is HTTP 401 ``INVALID_API_KEY``
(contracts/providers/prospeo/).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import (
    companies_matching,
    company_named,
    known,
    person_for_email,
    section,
    strings,
    text,
    title_matches,
)
from dex.sandbox.world import (
    Company,
    Person,
    company_for_domain,
    company_for_linkedin,
    find_person,
    normalize_domain,
    person_for_linkedin,
    staff,
)

router = APIRouter(prefix="/prospeo", tags=["prospeo"])

PROVIDER = "prospeo"
PAGE_SIZE = 25


def _included(filters: dict[str, Any], *path: str) -> list[str]:
    """The ``include`` list of a Prospeo filter (``filters[path...]["include"]``)."""
    node: Any = filters
    for key in path:
        node = section(node, key)
    return strings(node.get("include"))


# --- Prospeo's shapes ----------------------------------------------------------------------------------


def _company(company: Company) -> dict[str, Any]:
    return {
        "company_id": company.source_id,
        "name": company.name,
        "website": company.website,
        "domain": company.domain,
        "linkedin_url": company.linkedin_url,
        "type": company.company_type,
        "industry": company.industry,
        "employee_count": company.employee_count,
        "employee_range": company.employee_range,
        "founded": company.founded_year,
        "location": {
            "country_code": company.hq_country_code,
            "city": company.hq_city,
            "raw_address": f"{company.hq_city}, {company.hq_country_code}",
        },
        "description": company.description,
        "keywords": list(company.specialties),
        "revenue_range_printed": company.revenue_range,
        "logo_url": f"https://logos.prospeo.io/{company.domain}.png",
    }


def _person(person: Person) -> dict[str, Any]:
    return {
        "person_id": person.person_id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "full_name": person.full_name,
        "linkedin_url": person.linkedin_url,
        "current_job_title": person.title,
        "headline": f"{person.title} at {person.company.name}",
        "location": {
            "country_code": person.company.hq_country_code,
            "city": person.company.hq_city,
        },
    }


def _person_profile(person: Person) -> dict[str, Any]:
    return {
        **_person(person),
        "job_history": [
            {
                "title": person.title,
                "company_name": person.company.name,
                "current": True,
                "seniority": person.seniority,
                "departments": [person.department],
                "start_year": 2015 + len(person.last_name) % 8,
            }
        ],
        "email": {"status": "VERIFIED", "email": person.work_email},
        "mobile": {"status": "VERIFIED", "mobile": person.mobile_phone},
        "skills": [person.department, person.company.industry],
    }


def _no(code: str) -> JSONResponse:
    return JSONResponse({"error": True, "error_code": code}, 400)


def _page_of(items: list[Any], page: Any) -> tuple[list[Any], dict[str, int]]:
    number = page if isinstance(page, int) and page >= 1 else 1
    total = len(items)
    pagination = {
        "current_page": number,
        "per_page": PAGE_SIZE,
        "total_page": (total + PAGE_SIZE - 1) // PAGE_SIZE,
        "total_count": total,
    }
    return items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE], pagination


def _filtered_companies(filters: dict[str, Any], *, namesakes: bool) -> list[Company]:
    """The companies a ``company.websites`` / ``company.names`` filter designates; a company search also
    finds the namesakes of a name, a person search only the company of that name."""
    websites = _included(filters, "company", "websites")
    names = _included(filters, "company", "names")
    by_name = (
        [company_named(name) for name in names]
        if not namesakes
        else [company for name in names for company in companies_matching(name)]
    )
    return [company_for_domain(normalize_domain(site)) for site in websites] + by_name


def _designated_company(data: dict[str, Any]) -> Company | None:
    """The company a request's ``company_website`` / ``company_linkedin_url`` / ``company_name`` names."""
    if website := text(data, "company_website"):
        return company_for_domain(website)
    if linkedin_url := text(data, "company_linkedin_url"):
        return company_for_linkedin(linkedin_url)
    if name := text(data, "company_name"):
        return company_named(name)
    return None


def _identify(data: dict[str, Any]) -> Person | None:
    """The person an enrich-person request designates: by LinkedIn URL, email, or name at a company."""
    if linkedin_url := text(data, "linkedin_url"):
        return person_for_linkedin(linkedin_url)
    if email := text(data, "email"):
        return person_for_email(email)
    company = _designated_company(data)
    if company is None:
        return None
    name = {key: text(data, key) or "" for key in ("first_name", "last_name", "full_name")}
    return find_person(company, **name)


def _authorized(request: Request) -> bool:
    return request.headers.get("x-key") == sandbox_credential(PROVIDER)


async def _handle(request: Request, action: str, answer: Any, *, billable: bool = True) -> Any:
    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        action,
        authorized=_authorized(request),
        answer=answer,
        billable=billable,
        unauthorized=JSONResponse({"error": True, "error_code": "INVALID_API_KEY"}, 401),
    )


def _datapoints(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The request's ``data`` when it holds at least one datapoint."""
    data = section(payload, "data")
    return data if any(text(data, key) for key in data) else None


def _filters(payload: dict[str, Any]) -> dict[str, Any] | None:
    filters = section(payload, "filters")
    return filters or None


@router.post("/enrich-company")
async def enrich_company(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        data = _datapoints(payload)
        if data is None:
            return _no("INVALID_DATAPOINTS")
        company = _designated_company(data)
        if company is None or not known(request, PROVIDER, company.domain):
            return _no("NO_MATCH")
        return {"error": False, "free_enrichment": False, "company": _company(company)}

    return await _handle(request, "enrich_company", answer)


@router.post("/enrich-person")
async def enrich_person(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        data = _datapoints(payload)
        if data is None:
            return _no("INVALID_DATAPOINTS")
        person = _identify(data)
        if person is None or not known(request, PROVIDER, person.person_id):
            return _no("NO_MATCH")
        return {
            "error": False,
            "free_enrichment": False,
            "person": _person_profile(person),
            "company": _company(person.company),
        }

    return await _handle(request, "enrich_person", answer)


@router.post("/search-company")
async def search_company(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        filters = _filters(payload)
        if filters is None:
            return _no("INVALID_FILTERS")
        companies = [
            c for c in _filtered_companies(filters, namesakes=True) if known(request, PROVIDER, c.domain)
        ]
        page, pagination = _page_of(companies, payload.get("page"))
        if not page:
            return _no("NO_RESULTS")
        return {"error": False, "results": [{"company": _company(c)} for c in page], "pagination": pagination}

    return await _handle(request, "search_company", answer)


@router.post("/search-person")
async def search_person(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        filters = _filters(payload)
        if filters is None:
            return _no("INVALID_FILTERS")
        titles = _included(filters, "person_job_title")
        locations = [place.lower() for place in _included(filters, "person_location_search")]
        # Without a company filter, a title search looks at the companies its words name.
        companies = _filtered_companies(filters, namesakes=False) or [
            c for title in titles for c in companies_matching(title)[:3]
        ]
        people = [
            person
            for company in companies
            if known(request, PROVIDER, company.domain)
            for person in staff(company)
            if (not titles or any(title_matches(person.title, title) for title in titles))
            and (not locations or any(place in person.location.lower() for place in locations))
            and known(request, PROVIDER, person.person_id)
        ]
        page, pagination = _page_of(people, payload.get("page"))
        if not page:
            return _no("NO_RESULTS")
        results = [{"person": _person(p), "company": _company(p.company)} for p in page]
        return {"error": False, "results": results, "pagination": pagination}

    return await _handle(request, "search_person", answer)


@router.post("/account-information")
async def account_information(request: Request):
    """Free; the sandbox account never runs out."""

    def answer() -> Any:
        return {
            "error": False,
            "response": {
                "current_plan": "SANDBOX",
                "current_team_members": 1,
                "remaining_credits": 10_000,
                "used_credits": len(sandbox_state(request).ledger),
                "next_quota_renewal_days": 30,
                "next_quota_renewal_date": "2099-01-01 00:00:00+00:00",
            },
        }

    return await _handle(request, "account_information", answer, billable=False)
