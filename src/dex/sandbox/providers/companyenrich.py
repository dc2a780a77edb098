"""CompanyEnrich emulation: ``Authorization: Bearer <key>``.

An unknown domain is HTTP 404; a search without anything to search on is HTTP 422; a search that matches
nobody is an empty ``items`` page.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import (
    companies_matching,
    company_named,
    known,
    section,
    strings,
    text,
    title_matches,
)
from dex.sandbox.world import Company, Person, company_for_domain, staff

router = APIRouter(prefix="/companyenrich", tags=["companyenrich"])

PROVIDER = "companyenrich"
MAX_PAGE_SIZE = 100


def _id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"companyenrich:{key}"))


def _company(company: Company) -> dict[str, Any]:
    return {
        "id": _id(company.domain),
        "name": company.name,
        "domain": company.domain,
        "website": company.website,
        "type": company.company_type.lower().replace(" ", "_"),
        "industry": company.industry,
        "industries": [company.industry, *company.specialties[1:]],
        "employees": company.employee_range,
        "founded_year": company.founded_year,
        "location": {
            "city": {"name": company.hq_city},
            "country": {"code": company.hq_country_code},
        },
        "description": company.description,
        "categories": list(company.specialties),
        "revenue": company.revenue_range,
        "logo_url": f"https://api.companyenrich.com/logos/{company.domain}.png",
        "socials": {"linkedin_url": company.linkedin_url, "linkedin_id": company.linkedin_id},
    }


def _person(person: Person) -> dict[str, Any]:
    return {
        "id": _id(person.person_id),
        "name": person.full_name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "position": person.title,
        "socials": {"linkedin_url": person.linkedin_url},
        "experiences": [
            {
                "isCurrent": True,
                "type": "employment",
                "position": person.title,
                "company": {"name": person.company.name, "domain": person.company.domain},
            }
        ],
        "location": {"address": person.location, "country": {"code": person.company.hq_country_code}},
    }


def _page(payload: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    page, size = payload.get("page"), payload.get("pageSize")
    page = page if isinstance(page, int) and page >= 1 else 1
    size = min(size, MAX_PAGE_SIZE) if isinstance(size, int) and size >= 1 else 10
    total = len(items)
    return {
        "items": items[(page - 1) * size : page * size],
        "page": page,
        "totalPages": (total + size - 1) // size,
        "totalItems": total,
    }


def _unprocessable(missing: str) -> JSONResponse:
    return JSONResponse({"error": "validation_error", "message": f"one of {missing} is required"}, 422)


def _authorized(request: Request) -> bool:
    return request.headers.get("authorization") == f"Bearer {sandbox_credential(PROVIDER)}"


async def _handle(request: Request, action: str, answer: Any) -> Any:
    return await sandbox_state(request).handle(
        request, PROVIDER, action, authorized=_authorized(request), answer=answer
    )


@router.get("/companies/enrich")
async def enrich_company(request: Request, domain: str = ""):
    def answer() -> Any:
        if not domain.strip():
            return _unprocessable("domain")
        company = company_for_domain(domain)
        if not known(request, PROVIDER, company.domain):
            return JSONResponse({"error": "not_found", "message": "Company not found"}, 404)
        return _company(company)

    return await _handle(request, "enrich_company", answer)


@router.post("/companies/search")
async def search_companies(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        query = text(payload, "query") or text(payload, "semanticQuery")
        if query is None:
            return _unprocessable("query, semanticQuery")
        companies = [c for c in companies_matching(query) if known(request, PROVIDER, c.domain)]
        return _page(payload, [_company(company) for company in companies])

    return await _handle(request, "search_company", answer)


@router.post("/people/search")
async def search_people(request: Request, payload: dict[str, Any] = Body(default={})):
    def answer() -> Any:
        position = text(payload, "positionQuery")
        company_query = text(section(payload, "companyFilter"), "query")
        domains = strings(payload.get("domains"))
        if not (position or company_query or domains):
            return _unprocessable("positionQuery, domains, companyFilter")
        if domains:
            companies = [company_for_domain(domain) for domain in domains]
        elif company_query:
            companies = [company_named(company_query)]
        else:
            companies = companies_matching(position or "")[:3]
        people = [
            person
            for company in companies
            if known(request, PROVIDER, company.domain)
            for person in staff(company)
            if (not position or title_matches(person.title, position))
            and known(request, PROVIDER, person.person_id)
        ]
        return _page(payload, [_person(person) for person in people])

    return await _handle(request, "search_person", answer)
