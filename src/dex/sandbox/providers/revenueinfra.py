"""RevenueInfra ("HQ") emulation: JSON POSTs without credentials, every answer carrying ``success``.

A request without the company it is about answers ``success: false``; a company HQ has no data on answers
``success: true`` with an empty list (or null answers). The two pricing questions HQ renamed are served only
under their earlier paths — the current path answers 404, as the deployed service does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.world import company_for_domain, known_to, normalize_domain

PROVIDER = "revenueinfra"
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])

Answer = Callable[[str], dict[str, Any]]


def _competitors(domain: str) -> dict[str, Any]:
    return {
        "competitors": [
            {"name": c.name, "domain": c.domain, "linkedin_url": c.linkedin_url}
            for c in market.competitors(domain)
        ]
    }


def _similar(domain: str) -> dict[str, Any]:
    similar = [
        {
            "company_name": c.name,
            "company_domain": c.domain,
            "company_linkedin_url": c.linkedin_url,
            "similarity_score": score,
        }
        for c, score in market.similar_companies(domain)
    ]
    return {"similar_companies": similar, "similar_count": len(similar)}


def _customers(domain: str) -> dict[str, Any]:
    origin = company_for_domain(domain)
    customers: list[dict[str, Any]] = [
        {
            "customer_name": c.name,
            # HQ's customer table holds domains the way case studies link them.
            "customer_domain": c.website if index % 3 == 2 else c.domain,
            "customer_linkedin_url": c.linkedin_url,
            "origin_company_name": origin.name,
            "origin_company_domain": origin.domain,
        }
        for index, c in enumerate(market.customers(domain))
    ]
    # Logo walls name customers HQ could not resolve to a company.
    customers.append({"customer_name": "A Fortune 500 retailer", "customer_domain": None})
    return {"customers": customers}


def _alumni(domain: str) -> dict[str, Any]:
    past = company_for_domain(domain)
    return {
        "alumni": [
            {
                "full_name": a.person.full_name,
                "linkedin_url": a.person.linkedin_url,
                "current_company_name": a.person.company.name,
                "current_company_domain": a.person.company.domain,
                "current_company_linkedin_url": a.person.company.linkedin_url,
                "current_job_title": a.person.title,
                "past_company_name": past.name,
                "past_company_domain": past.domain,
                "past_job_title": a.past_job_title,
            }
            for a in market.alumni(domain)
        ]
    }


def _champion(champion: market.Champion, *, detailed: bool) -> dict[str, Any]:
    person = champion.person
    item = {
        "full_name": person.full_name,
        "job_title": person.title,
        "company_name": person.company.name,
        "company_domain": person.company.domain,
        "company_linkedin_url": person.company.linkedin_url,
        "case_study_url": champion.case_study_url,
    }
    return {**item, "testimonial": champion.testimonial} if detailed else item


def _champions(domain: str) -> dict[str, Any]:
    return {"champions": [_champion(c, detailed=False) for c in market.champions(domain)]}


def _testimonials(domain: str) -> dict[str, Any]:
    return {"champions": [_champion(c, detailed=True) for c in market.champions(domain)]}


@dataclass(frozen=True)
class Lookup:
    action: str
    answer: Answer  # for a company HQ knows
    unknown: dict[str, Any]  # for one it does not
    # Body keys the endpoint insists on; the first carries the company's domain.
    required: tuple[str, ...] = ("domain",)


LOOKUPS = {
    "/run/companies/parallel-task/competitors/infer/db-direct": Lookup(
        "discover_competitors", _competitors, {"competitors": []}, ("domain", "company_name")
    ),
    "/run/companies/db/similar-companies/list": Lookup(
        "find_similar_companies", _similar, {"similar_companies": [], "similar_count": 0}
    ),
    "/run/companies/db/company-customers/lookup": Lookup("lookup_customers", _customers, {"customers": []}),
    "/run/companies/db/alumni/lookup": Lookup(
        "lookup_alumni", _alumni, {"alumni": []}, ("past_company_domain",)
    ),
    "/run/companies/db/case-study-champions/lookup": Lookup(
        "lookup_champions", _champions, {"champions": []}
    ),
    "/run/companies/db/case-study-champions-detailed/lookup": Lookup(
        "lookup_champion_testimonials", _testimonials, {"champions": []}
    ),
    "/run/companies/sec/filings/fetch": Lookup(
        "fetch_sec_filings", market.sec_filings, {"cik": None, "ticker": None, "filings": {}}
    ),
    "/run/companies/db/has-raised-vc-status/check": Lookup(
        "check_vc_funding",
        market.vc_funding,
        {"has_raised_vc": False, "vc_names": [], "vcs": [], "founded_date": None},
    ),
}

# endpoint → the field it answers. Renamed endpoints answer only under their earlier names.
PRICING_ENDPOINTS = {
    field.replace("_", "-"): field
    for field in market.PRICING_ANSWERS
    if field not in ("security_compliance_gating", "annual_commitment_required")
}
PRICING_ENDPOINTS |= {
    "security-gating": "security_compliance_gating",
    "annual-commitment": "annual_commitment_required",
}


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def _lookup_route(path: str, lookup: Lookup) -> None:
    async def route(request: Request) -> Response:
        async def respond() -> dict[str, Any]:
            body = await _body(request)
            missing = [key for key in lookup.required if not _text(body, key)]
            if missing:
                return {"success": False, "error": f"{' and '.join(missing)} required"}
            domain = normalize_domain(_text(body, lookup.required[0]))
            known = known_to(PROVIDER, domain, sandbox_state(request).hit_rate(PROVIDER))
            return {"success": True, "domain": domain, **(lookup.answer(domain) if known else lookup.unknown)}

        return await sandbox_state(request).handle(
            request, PROVIDER, lookup.action, authorized=True, answer=respond
        )

    router.add_api_route(path, route, methods=["POST"], name=lookup.action)


for _path, _lookup in LOOKUPS.items():
    _lookup_route(_path, _lookup)


@router.post("/run/companies/gemini/{endpoint}/infer")
async def infer(request: Request, endpoint: str) -> Response:
    async def respond() -> Response | dict[str, Any]:
        field = PRICING_ENDPOINTS.get(endpoint)
        if field is None:
            return JSONResponse({"detail": "Not Found"}, 404)
        body = await _body(request)
        domain = normalize_domain(_text(body, "domain"))
        if not domain or not _text(body, "pricing_page_url"):
            return {"success": False, "error": "domain and pricing_page_url are required"}
        known = known_to(PROVIDER, domain, sandbox_state(request).hit_rate(PROVIDER))
        value = market.pricing_answer(domain, field) if known else None
        # HQ's endpoints were written one at a time: some answer at the top level, others under "data".
        if len(endpoint) % 2:
            return {"success": True, "domain": domain, field: value}
        return {
            "success": True,
            "domain": domain,
            "data": {field: value, "reasoning": "From the pricing page."},
        }

    return await sandbox_state(request).handle(
        request, PROVIDER, f"infer_{endpoint}", authorized=True, answer=respond
    )
