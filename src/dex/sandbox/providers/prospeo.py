"""Prospeo emulation: JSON POSTs with the key in the ``X-KEY`` header.

No match is HTTP 400 ``{"error": true, "error_code": "NO_MATCH"}`` (enrichment) or ``"NO_RESULTS"``
(search), as Prospeo answers; neither is billed.

This module also holds the matching rules the other search emulations share (companies matching a free
text, titles matching a wanted title, people behind an email), so every provider searches one world the
same way.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.providers.base import sandbox_credential
from dex.sandbox.app import sandbox_state
from dex.sandbox.world import (
    Company,
    Person,
    company_for_domain,
    company_for_linkedin,
    find_person,
    known_to,
    normalize_domain,
    person_for_linkedin,
    slug,
    staff,
)

router = APIRouter(prefix="/prospeo", tags=["prospeo"])

PROVIDER = "prospeo"
PAGE_SIZE = 25
# A free-text company search finds the company of that name and these namesakes.
NAMESAKE_SUFFIXES = ("", "-labs", "-group", "-hq", "-io", "-systems", "-global", "-tech")
STOP_WORDS = frozenset({"of", "the", "and", "&", "for", "a", "an", "at", "in"})


# --- matching rules shared by the search emulations ----------------------------------------------------


def company_named(name: str) -> Company:
    """The sandbox company called ``name`` (its domain is the name's slug under .com)."""
    return company_for_domain(f"{slug(name) or 'unnamed'}.com")


def companies_matching(text: str) -> list[Company]:
    """Companies a free-text search for ``text`` finds: the one of that name first, then namesakes."""
    stem = slug(text) or "unnamed"
    return [company_for_domain(f"{stem}{suffix}.com") for suffix in NAMESAKE_SUFFIXES]


def _tokens(text: str) -> set[str]:
    return {token for token in re.split(r"[^a-z0-9]+", text.lower()) if token and token not in STOP_WORDS}


def title_matches(title: str, wanted: str) -> bool:
    """Every meaningful word of ``wanted`` appears in ``title`` ("vp sales" matches "VP of Sales")."""
    wanted_tokens = _tokens(wanted)
    return bool(wanted_tokens) and wanted_tokens <= _tokens(title)


def person_for_email(email: str) -> Person | None:
    """The staff member whose work address ``email`` is."""
    if "@" not in email:
        return None
    address = email.strip().lower()
    company = company_for_domain(address.rsplit("@", 1)[1])
    return next((person for person in staff(company) if person.work_email == address), None)


def known(request: Request, provider: str, key: str) -> bool:
    return known_to(provider, key, sandbox_state(request).hit_rate(provider))


def strings(value: Any) -> list[str]:
    """A request value as a list of non-blank strings (a single string counts as one)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [item.strip() for item in values if isinstance(item, str) and item.strip()]


def text(data: dict[str, Any], key: str) -> str | None:
    """``data[key]`` when it is a non-blank string."""
    value = data.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def section(data: Any, key: str) -> dict[str, Any]:
    """``data[key]`` when it is an object, else an empty one (requests may be malformed)."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


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


@router.post("/enrich-company")
async def enrich_company(request: Request, payload: dict[str, Any] = Body(default={})):  # type: ignore[no-untyped-def]
    def answer() -> Any:
        company = _designated_company(section(payload, "data"))
        if company is None or not known(request, PROVIDER, company.domain):
            return _no("NO_MATCH")
        return {"error": False, "free_enrichment": False, "company": _company(company)}

    return await sandbox_state(request).handle(
        request, PROVIDER, "enrich_company", authorized=_authorized(request), answer=answer
    )


@router.post("/enrich-person")
async def enrich_person(request: Request, payload: dict[str, Any] = Body(default={})):  # type: ignore[no-untyped-def]
    def answer() -> Any:
        person = _identify(section(payload, "data"))
        if person is None or not known(request, PROVIDER, person.person_id):
            return _no("NO_MATCH")
        return {
            "error": False,
            "free_enrichment": False,
            "person": _person_profile(person),
            "company": _company(person.company),
        }

    return await sandbox_state(request).handle(
        request, PROVIDER, "enrich_person", authorized=_authorized(request), answer=answer
    )


@router.post("/search-company")
async def search_company(request: Request, payload: dict[str, Any] = Body(default={})):  # type: ignore[no-untyped-def]
    def answer() -> Any:
        filters = section(payload, "filters")
        companies = [
            c for c in _filtered_companies(filters, namesakes=True) if known(request, PROVIDER, c.domain)
        ]
        page, pagination = _page_of(companies, payload.get("page"))
        if not page:
            return _no("NO_RESULTS")
        return {"error": False, "results": [{"company": _company(c)} for c in page], "pagination": pagination}

    return await sandbox_state(request).handle(
        request, PROVIDER, "search_company", authorized=_authorized(request), answer=answer
    )


@router.post("/search-person")
async def search_person(request: Request, payload: dict[str, Any] = Body(default={})):  # type: ignore[no-untyped-def]
    def answer() -> Any:
        filters = section(payload, "filters")
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

    return await sandbox_state(request).handle(
        request, PROVIDER, "search_person", authorized=_authorized(request), answer=answer
    )
