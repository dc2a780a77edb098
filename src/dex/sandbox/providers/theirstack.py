"""TheirStack emulation: ``POST /v1/companies/technographics``, ``POST /v1/companies/search`` and
``POST /v1/jobs/search`` with ``Authorization: Bearer <key>``. Searches apply the filters they are given
to the sandbox's hiring market; a job search without any of the filters TheirStack insists on (a posting
date bound, or a company) answers 422 like the real API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import hiring
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.market import DATA_AS_OF, company_for_name
from dex.sandbox.matching import known, strings, text
from dex.sandbox.world import Company, company_for_domain, company_for_linkedin, normalize_domain

PROVIDER = "theirstack"
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])
JOB_SEARCH_ANCHORS = (
    "posted_at_max_age_days",
    "posted_at_gte",
    "posted_at_lte",
    "company_domain_or",
    "company_linkedin_url_or",
    "company_name_or",
)


def _authorized(request: Request) -> bool:
    return request.headers.get("Authorization", "") == f"Bearer {sandbox_credential(PROVIDER)}"


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _day(body: dict[str, Any], key: str) -> date | None:
    try:
        return date.fromisoformat(str(body.get(key))[:10]) if body.get(key) else None
    except ValueError:
        return None


def _named(body: dict[str, Any]) -> list[Company]:
    named = [company_for_domain(normalize_domain(d)) for d in strings(body.get("company_domain_or"))]
    named += [company_for_name(name) for name in strings(body.get("company_name_or"))]
    named += [c for url in strings(body.get("company_linkedin_url_or")) if (c := company_for_linkedin(url))]
    return list({company.domain: company for company in named}.values())


def _lower(values: Any) -> set[str]:
    return {value.lower() for value in strings(values)}


def _company_matches(company: Company, body: dict[str, Any]) -> bool:
    record = hiring.company_record(company)
    techs = _lower(body.get("company_technology_slug_or")) | _lower(body.get("technology_slug_or"))
    industries, countries = _lower(body.get("industry_or")), _lower(body.get("company_country_code_or"))
    low, high = _number(body, "min_employee_count"), _number(body, "max_employee_count")
    titles = _lower(body.get("job_title_or"))
    return (
        (not techs or bool(techs & set(record["technology_slugs"])))
        and (not industries or company.industry.lower() in industries)
        and (not countries or company.hq_country_code.lower() in countries)
        and (low is None or company.employee_count >= low)
        and (high is None or company.employee_count <= high)
        and (not titles or any(t in job["job_title"].lower() for job in record["jobs_found"] for t in titles))
        and company.domain not in {normalize_domain(d) for d in strings(body.get("company_domain_not"))}
    )


def _job_matches(job: hiring.JobPost, body: dict[str, Any]) -> bool:
    title = job.title.lower()
    titles, excluded = _lower(body.get("job_title_or")), _lower(body.get("job_title_not"))
    countries, not_countries = (
        _lower(body.get("job_country_code_or")),
        _lower(body.get("job_country_code_not")),
    )
    job_countries = {code.lower() for code in job.country_codes}
    max_age = _number(body, "posted_at_max_age_days")
    after, before = _day(body, "posted_at_gte"), _day(body, "posted_at_lte")
    seniorities, techs = _lower(body.get("job_seniority_or")), _lower(body.get("job_technology_slug_or"))
    remote = body.get("remote")
    return (
        (not titles or any(t in title for t in titles))
        and not any(t in title for t in excluded)
        and (not countries or bool(countries & job_countries))
        and not (not_countries & job_countries)
        and (max_age is None or job.posted >= DATA_AS_OF - timedelta(days=max_age))
        and (after is None or job.posted >= after)
        and (before is None or job.posted <= before)
        and (not isinstance(remote, bool) or job.remote == remote)
        and (not seniorities or job.seniority in seniorities)
        and (not techs or bool(techs & set(job.technology_slugs)))
        and _company_matches(job.company, {k: v for k, v in body.items() if k != "job_title_or"})
    )


def _limit(body: dict[str, Any], default: int = 25) -> int:
    value = body.get("limit")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


@router.post("/v1/companies/technographics")
async def technographics(request: Request) -> Response:
    async def answer() -> Response | dict[str, Any]:
        body = await _body(request)
        domain, name = text(body, "company_domain"), text(body, "company_name")
        linkedin = text(body, "company_linkedin_url")
        company = (
            company_for_domain(domain)
            if domain
            else company_for_linkedin(linkedin)
            if linkedin
            else company_for_name(name)
            if name
            else None
        )
        if company is None:
            return JSONResponse(
                {"detail": "company_domain, company_name or company_linkedin_url is required"}, 422
            )
        if not known(request, PROVIDER, company.domain):
            return {"data": [], "metadata": {"total_results": 0}}
        data = hiring.technologies(company)
        return {"data": data, "metadata": {"total_results": len(data)}}

    return await sandbox_state(request).handle(
        request, PROVIDER, "technographics", authorized=_authorized(request), answer=answer
    )


@router.post("/v1/companies/search")
async def company_search(request: Request) -> Response:
    async def answer() -> dict[str, Any]:
        body = await _body(request)
        pool = hiring.candidates(body, _named(body))
        found = [c for c in pool if known(request, PROVIDER, c.domain) and _company_matches(c, body)]
        data = [hiring.company_record(company) for company in found[: _limit(body)]]
        return {"data": data, "metadata": {"total_results": len(found)}}

    return await sandbox_state(request).handle(
        request, PROVIDER, "search_companies", authorized=_authorized(request), answer=answer
    )


@router.post("/v1/jobs/search")
async def job_search(request: Request) -> Response:
    async def answer() -> Response | dict[str, Any]:
        body = await _body(request)
        if not any(body.get(anchor) not in (None, "", []) for anchor in JOB_SEARCH_ANCHORS):
            return JSONResponse({"detail": f"One of {', '.join(JOB_SEARCH_ANCHORS)} is required"}, 422)
        pool = hiring.candidates(body, _named(body))
        jobs = [
            job
            for company in pool
            if known(request, PROVIDER, company.domain)
            for job in hiring.open_jobs(company)
            if _job_matches(job, body)
        ]
        limit = _limit(body)
        page = body.get("page") if isinstance(body.get("page"), int) else None
        offset = page * limit if page is not None else int(_number(body, "offset") or 0)
        metadata: dict[str, Any] = {
            "total_results": len(jobs),
            "total_companies": len({j.company.domain for j in jobs}),
        }
        return {"data": [job.record() for job in jobs[offset : offset + limit]], "metadata": metadata}

    return await sandbox_state(request).handle(
        request, PROVIDER, "search_jobs", authorized=_authorized(request), answer=answer
    )
