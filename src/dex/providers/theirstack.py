"""TheirStack — ``https://api.theirstack.com``, JSON POSTs, ``Authorization: Bearer <key>``
(TheirStack's API reference: job search, company search, technographics).

Filters pass through under TheirStack's own names. Any HTTP error is a failed attempt; an answer with no
items is not_found. Job posts are mapped to dex's job item: ``id`` becomes ``job_id`` (and
``theirstack_job_id``), ``company`` becomes ``company_name``, the embedded ``company_object`` keeps
TheirStack's id as ``theirstack_company_id``; locations and hiring-team members without a name (or URL)
are dropped as unusable.
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text, normalize_domain, normalize_linkedin_url
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

PROVIDER = "theirstack"

JOB_TEXT_FIELDS = (
    "job_title",
    "normalized_title",
    "url",
    "final_url",
    "source_url",
    "date_posted",
    "discovered_at",
    "date_reposted",
    "location",
    "short_location",
    "long_location",
    "state_code",
    "postal_code",
    "country",
    "country_code",
    "seniority",
    "salary_string",
    "salary_currency",
    "description",
)
JOB_NUMBER_FIELDS = (
    "latitude",
    "longitude",
    "min_annual_salary_usd",
    "max_annual_salary_usd",
    "avg_annual_salary_usd",
)
JOB_FLAG_FIELDS = ("reposted", "remote", "hybrid", "easy_apply")
JOB_LIST_FIELDS = (
    "cities",
    "countries",
    "country_codes",
    "employment_statuses",
    "technology_slugs",
    "manager_roles",
)
LOCATION_FIELDS = ("name", "state", "state_code", "country_code", "country_name", "display_name", "type")
COMPANY_TEXT_FIELDS = (
    "name",
    "industry",
    "country",
    "employee_count_range",
    "logo",
    "last_funding_round_date",
    "funding_stage",
    "city",
    "long_description",
    "publicly_traded_symbol",
    "publicly_traded_exchange",
)
COMPANY_NUMBER_FIELDS = (
    "employee_count",
    "num_jobs",
    "num_jobs_last_30_days",
    "founded_year",
    "annual_revenue_usd",
    "total_funding_usd",
)


def _auth(call: ProviderCall) -> dict[str, str]:
    return {"Authorization": f"Bearer {call.key}"}


def number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def texts(value: Any) -> list[str]:
    return [item.strip() for item in value if clean_text(item)] if isinstance(value, list) else []


def objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _domain(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_domain(text) if text else None


def _linkedin(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_linkedin_url(text) if text else None


def _location(item: dict[str, Any]) -> dict[str, Any] | None:
    location: dict[str, Any] = {field: clean_text(item.get(field)) for field in LOCATION_FIELDS}
    if not (location["name"] or location["display_name"]):
        return None
    return {**location, "latitude": number(item.get("latitude")), "longitude": number(item.get("longitude"))}


def _hiring_member(item: dict[str, Any]) -> dict[str, Any] | None:
    member = {
        "full_name": clean_text(item.get("full_name")),
        "first_name": clean_text(item.get("first_name")),
        "linkedin_url": _linkedin(item.get("linkedin_url")),
        "role": clean_text(item.get("role")),
        "image_url": clean_text(item.get("image_url")),
    }
    return member if member["full_name"] or member["linkedin_url"] else None


def company_object(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    company: dict[str, Any] = {field: clean_text(item.get(field)) for field in COMPANY_TEXT_FIELDS}
    company.update({field: number(item.get(field)) for field in COMPANY_NUMBER_FIELDS})
    company.update(
        {
            "theirstack_company_id": clean_text(str(item["id"])) if item.get("id") is not None else None,
            "domain": _domain(item.get("domain")),
            "linkedin_url": _linkedin(item.get("linkedin_url")),
            "technology_slugs": texts(item.get("technology_slugs")),
            "technology_names": texts(item.get("technology_names")),
        }
    )
    return company if company["name"] or company["domain"] else None


def job_item(job: dict[str, Any]) -> dict[str, Any] | None:
    raw_id = job.get("id")
    job_id = clean_text(str(raw_id)) if raw_id is not None and not isinstance(raw_id, bool) else None
    if job_id is None:
        return None
    item: dict[str, Any] = {"job_id": job_id, "theirstack_job_id": job_id}
    item.update({field: clean_text(job.get(field)) for field in JOB_TEXT_FIELDS})
    item.update({field: number(job.get(field)) for field in JOB_NUMBER_FIELDS})
    item.update({field: flag(job.get(field)) for field in JOB_FLAG_FIELDS})
    item.update({field: texts(job.get(field)) for field in JOB_LIST_FIELDS})
    item["company_name"] = clean_text(job.get("company"))
    item["company_domain"] = _domain(job.get("company_domain"))
    item["locations"] = [loc for loc in map(_location, objects(job.get("locations"))) if loc]
    item["hiring_team"] = [
        member for member in map(_hiring_member, objects(job.get("hiring_team"))) if member
    ]
    item["company_object"] = company_object(job.get("company_object"))
    return item


def company_item(company: dict[str, Any]) -> dict[str, Any]:
    return {
        "company_name": clean_text(company.get("name")),
        "domain": _domain(company.get("domain")),
        "linkedin_url": _linkedin(company.get("linkedin_url")),
        "industry": clean_text(company.get("industry")),
        "employee_count": number(company.get("employee_count")),
        "country_code": clean_text(company.get("country_code")),
        "num_jobs": number(company.get("num_jobs")),
        "num_jobs_last_30_days": number(company.get("num_jobs_last_30_days")),
        "technology_slugs": texts(company.get("technology_slugs")),
        "annual_revenue_usd": number(company.get("annual_revenue_usd")),
        "total_funding_usd": number(company.get("total_funding_usd")),
        "funding_stage": clean_text(company.get("funding_stage")),
        "recent_job_titles": [
            title for job in objects(company.get("jobs_found")) if (title := clean_text(job.get("job_title")))
        ],
    }


def _technology(item: dict[str, Any]) -> dict[str, Any] | None:
    raw = item.get("technology")
    technology = raw if isinstance(raw, dict) else {}
    name = clean_text(technology.get("name"))
    if name is None:
        return None
    return {
        "name": name,
        "slug": clean_text(technology.get("slug")),
        "category": clean_text(technology.get("category")),
        "confidence": clean_text(item.get("confidence")),
        "jobs": number(item.get("jobs")),
        "jobs_last_30_days": number(item.get("jobs_last_30_days")),
        "first_date_found": clean_text(item.get("first_date_found")),
        "last_date_found": clean_text(item.get("last_date_found")),
        "rank_within_category": number(item.get("rank_within_category")),
    }


@adapter(PROVIDER, "technographics")
async def technographics(
    call: ProviderCall,
    *,
    company_domain: str | None = None,
    company_name: str | None = None,
    company_linkedin_url: str | None = None,
) -> AdapterResult:
    """The technologies a company's job posts reveal."""
    asked = {
        "company_domain": company_domain,
        "company_name": company_name,
        "company_linkedin_url": company_linkedin_url,
    }
    body = {key: value for key, value in asked.items() if value}
    response = await call.request("POST", "/v1/companies/technographics", headers=_auth(call), json_body=body)
    if not response.ok:
        return call.failed_response(response)
    technologies = [tech for tech in map(_technology, objects(response.json_body.get("data"))) if tech]
    return call.result(
        "found" if technologies else "not_found", response, mapped={"technologies": technologies}
    )


@adapter(PROVIDER, "search_companies")
async def search_companies(call: ProviderCall, *, filters: dict[str, Any], limit: int) -> AdapterResult:
    response = await call.request(
        "POST", "/v1/companies/search", headers=_auth(call), json_body={**filters, "limit": limit}
    )
    if not response.ok:
        return call.failed_response(response)
    companies = [company_item(item) for item in objects(response.json_body.get("data"))]
    companies = [company for company in companies if company["domain"] or company["company_name"]]
    return call.result("found" if companies else "not_found", response, mapped={"results": companies})


@adapter(PROVIDER, "search_jobs")
async def search_jobs(
    call: ProviderCall, *, filters: dict[str, Any], paging: dict[str, Any]
) -> AdapterResult:
    """Job posts matching ``filters``; ``paging`` carries ``limit`` and optionally ``offset``, ``page``,
    ``cursor`` and ``include_total_results``."""
    response = await call.request(
        "POST", "/v1/jobs/search", headers=_auth(call), json_body={**filters, **paging}
    )
    if not response.ok:
        return call.failed_response(response)
    jobs = [job for job in map(job_item, objects(response.json_body.get("data"))) if job]
    raw_metadata = response.json_body.get("metadata")
    metadata = raw_metadata if isinstance(raw_metadata, dict) else {}
    mapped = {
        "results": jobs,
        "total_results": number(metadata.get("total_results")),
        "total_companies": number(metadata.get("total_companies")),
    }
    return call.result("found" if jobs else "not_found", response, mapped=mapped)


ACCOUNT_PROBE = AccountProbe(
    "POST",
    "/v1/companies/technographics",
    lambda credentials: ProbeRequest(
        headers={"Authorization": f"Bearer {credentials[0]}"}, json_body={"company_domain": "theirstack.com"}
    ),
    cost="one technographics lookup",
)
