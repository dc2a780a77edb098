"""Hiring intelligence (TheirStack): a company's technologies and hiring activity, companies by technology
or by their job posts, and job posts themselves.

Search filters are step options (or the input's ``step_config``) under TheirStack's own names and pass
through unchanged — ``false`` and ``0`` included, since they are real filter values. Job searches fan out to
the hiring companies: a job post is listed in the output, its company becomes the child entity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from dex.operations.catalog.common import distinctive, operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import FanOut, OperationSpec, Requirements
from dex.providers import theirstack

TECH_STACK_FILTERS = (
    "technology_slug_or",
    "industry_or",
    "min_employee_count",
    "max_employee_count",
    "company_country_code_or",
    "job_title_or",
)
JOB_POSTING_FILTERS = (
    "job_title_or",
    "job_country_code_or",
    "posted_at_max_age_days",
    "job_technology_slug_or",
    "job_seniority_or",
    "company_domain_or",
    "company_domain_not",
    "company_name_or",
    "company_name_not",
    "company_linkedin_url_or",
    "posted_at_gte",
    "posted_at_lte",
    "remote",
    "min_salary_usd",
    "max_salary_usd",
    "employment_statuses_or",
    "company_type",
    "min_employee_count",
    "max_employee_count",
    "min_revenue_usd",
    "max_revenue_usd",
)
JOB_SEARCH_FILTERS = (
    "job_title_or",
    "job_title_not",
    "job_title_pattern_and",
    "job_title_pattern_or",
    "job_title_pattern_not",
    "job_country_code_or",
    "job_country_code_not",
    "job_location_pattern_or",
    "job_location_pattern_not",
    "posted_at_max_age_days",
    "posted_at_gte",
    "posted_at_lte",
    "discovered_at_max_age_days",
    "discovered_at_gte",
    "discovered_at_lte",
    "remote",
    "job_seniority_or",
    "min_salary_usd",
    "max_salary_usd",
    "easy_apply",
    "employment_statuses_or",
    "job_description_pattern_or",
    "job_description_pattern_not",
    "job_description_contains_or",
    "job_description_contains_not",
    "job_technology_slug_or",
    "job_technology_slug_not",
    "job_technology_slug_and",
    "url_domain_or",
    "url_domain_not",
    "company_domain_or",
    "company_domain_not",
    "company_name_or",
    "company_name_not",
    "company_name_case_insensitive_or",
    "company_name_partial_match_or",
    "company_linkedin_url_or",
    "company_list_id_or",
    "company_list_id_not",
    "company_description_pattern_or",
    "company_description_pattern_not",
    "min_revenue_usd",
    "max_revenue_usd",
    "min_employee_count",
    "max_employee_count",
    "min_funding_usd",
    "max_funding_usd",
    "funding_stage_or",
    "last_funding_round_date_lte",
    "last_funding_round_date_gte",
    "industry_id_or",
    "industry_id_not",
    "company_country_code_or",
    "company_country_code_not",
    "company_technology_slug_or",
    "company_technology_slug_and",
    "company_technology_slug_not",
    "company_investors_or",
    "company_investors_partial_match_or",
    "company_tags_or",
    "only_yc_companies",
    "company_type",
    "blur_company_data",
)
# TheirStack answers a job search only when it is bounded by posting date or by company.
JOB_SEARCH_ANCHORS = (
    "posted_at_max_age_days",
    "posted_at_gte",
    "posted_at_lte",
    "company_domain_or",
    "company_linkedin_url_or",
    "company_name_or",
)
JOB_PAGING = ("limit", "offset", "page", "cursor", "include_total_results")


class Technology(BaseModel):
    name: str
    slug: str | None
    category: str | None
    confidence: str | None
    jobs: int | None
    jobs_last_30_days: int | None
    first_date_found: str | None
    last_date_found: str | None
    rank_within_category: int | None


class TechStackOutput(BaseModel):
    technologies: list[Technology]
    technology_count: int
    source_provider: str


class HiringSignalsOutput(BaseModel):
    company_name: str | None
    domain: str | None
    num_jobs: int | None
    num_jobs_last_30_days: int | None
    technology_slugs: list[str]
    recent_job_titles: list[str]
    source_provider: str


class TechStackCompany(BaseModel):
    company_name: str | None
    domain: str | None
    linkedin_url: str | None
    industry: str | None
    employee_count: int | None
    country_code: str | None
    num_jobs: int | None
    num_jobs_last_30_days: int | None
    technology_slugs: list[str]
    annual_revenue_usd: float | None
    total_funding_usd: float | None
    funding_stage: str | None
    source_provider: str


class TechStackSearchOutput(BaseModel):
    results: list[TechStackCompany]
    result_count: int
    source_provider: str


class JobLocation(BaseModel):
    name: str | None
    state: str | None
    state_code: str | None
    country_code: str | None
    country_name: str | None
    display_name: str | None
    latitude: float | None
    longitude: float | None
    type: str | None


class HiringTeamMember(BaseModel):
    full_name: str | None
    first_name: str | None
    linkedin_url: str | None
    role: str | None
    image_url: str | None


class JobCompany(BaseModel):
    theirstack_company_id: str | None
    name: str | None
    domain: str | None
    industry: str | None
    country: str | None
    employee_count: int | None
    employee_count_range: str | None
    logo: str | None
    linkedin_url: str | None
    num_jobs: int | None
    num_jobs_last_30_days: int | None
    founded_year: int | None
    annual_revenue_usd: float | None
    total_funding_usd: float | None
    last_funding_round_date: str | None
    funding_stage: str | None
    city: str | None
    long_description: str | None
    publicly_traded_symbol: str | None
    publicly_traded_exchange: str | None
    technology_slugs: list[str]
    technology_names: list[str]


class JobItem(BaseModel):
    job_id: str
    theirstack_job_id: str
    job_title: str | None
    normalized_title: str | None
    company_name: str | None
    company_domain: str | None
    url: str | None
    final_url: str | None
    source_url: str | None
    date_posted: str | None
    discovered_at: str | None
    reposted: bool | None
    date_reposted: str | None
    location: str | None
    short_location: str | None
    long_location: str | None
    state_code: str | None
    postal_code: str | None
    latitude: float | None
    longitude: float | None
    cities: list[str]
    locations: list[JobLocation]
    country: str | None
    country_code: str | None
    countries: list[str]
    country_codes: list[str]
    remote: bool | None
    hybrid: bool | None
    seniority: str | None
    employment_statuses: list[str]
    easy_apply: bool | None
    salary_string: str | None
    min_annual_salary_usd: float | None
    max_annual_salary_usd: float | None
    avg_annual_salary_usd: float | None
    salary_currency: str | None
    description: str | None
    technology_slugs: list[str]
    hiring_team: list[HiringTeamMember]
    company_object: JobCompany | None
    manager_roles: list[str]
    source_provider: str


class JobSearchOutput(BaseModel):
    results: list[JobItem]
    result_count: int
    total_results: int | None
    total_companies: int | None
    source_provider: str


def passthrough(config: OperationInput, names: tuple[str, ...]) -> dict[str, Any]:
    """The filters among ``names`` that have a value (``false`` and ``0`` count; blank text and empty lists
    do not), as given."""
    return {name: config.raw[name] for name in names if config.has(name)}


def company_lookup(inv: Invocation) -> dict[str, str | None]:
    return {key: inv.input.text(key) for key in ("company_domain", "company_name", "company_linkedin_url")}


async def tech_stack(inv: Invocation) -> Outcome:
    result = await theirstack.technographics(inv.providers, **company_lookup(inv))
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    technologies = (result.mapped or {}).get("technologies", [])
    output = {
        "technologies": technologies,
        "technology_count": len(technologies),
        "source_provider": theirstack.PROVIDER,
    }
    return Outcome(status, output)


async def hiring_signals(inv: Invocation) -> Outcome:
    result = await theirstack.search_companies(
        inv.providers, filters={"company_domain_or": [inv.input.text("company_domain")]}, limit=1
    )
    status = operation_status(result)
    if status != "found":
        return Outcome(status)
    company = result.mapped["results"][0]
    output = {
        "company_name": company["company_name"],
        "domain": company["domain"],
        "num_jobs": company["num_jobs"],
        "num_jobs_last_30_days": company["num_jobs_last_30_days"],
        "technology_slugs": company["technology_slugs"],
        "recent_job_titles": company["recent_job_titles"],
        "source_provider": theirstack.PROVIDER,
    }
    return Outcome(status, output)


async def search_by_tech_stack(inv: Invocation) -> Outcome:
    config = inv.configured()
    limit = config.integer("limit", 25, minimum=1, maximum=200)
    result = await theirstack.search_companies(
        inv.providers, filters=passthrough(config, TECH_STACK_FILTERS), limit=limit
    )
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    companies = [
        {key: value for key, value in company.items() if key != "recent_job_titles"}
        | {"source_provider": theirstack.PROVIDER}
        for company in (result.mapped or {}).get("results", [])
    ]
    return Outcome(
        status, {"results": companies, "result_count": len(companies), "source_provider": theirstack.PROVIDER}
    )


def job_searcher(filters: tuple[str, ...], max_limit: int) -> Callable[[Invocation], Awaitable[Outcome]]:
    async def search(inv: Invocation) -> Outcome:
        config = inv.configured()
        paging: dict[str, Any] = {"limit": config.integer("limit", 25, minimum=1, maximum=max_limit)}
        offset = config.integer("offset", 0, minimum=0)
        if offset:
            paging["offset"] = offset
        page = config.integer("page", minimum=1)
        if page is not None:
            paging["page"] = page
        if cursor := config.text("cursor"):
            paging["cursor"] = cursor
        if config.boolean("include_total_results"):
            paging["include_total_results"] = True
        result = await theirstack.search_jobs(
            inv.providers, filters=passthrough(config, filters), paging=paging
        )
        status = operation_status(result)
        if status == "failed":
            return Outcome("failed")
        mapped = result.mapped or {}
        jobs = [{**job, "source_provider": theirstack.PROVIDER} for job in mapped.get("results", [])]
        output = {
            "results": jobs,
            "result_count": len(jobs),
            "total_results": mapped.get("total_results"),
            "total_companies": mapped.get("total_companies"),
            "source_provider": theirstack.PROVIDER,
        }
        return Outcome(status, output)

    return search


JOB_OUTPUT_FIELDS = ("results", "result_count", "total_results", "total_companies", "source_provider")
# A job post's company becomes the child entity of a job search's fan-out.
HIRING_COMPANY = FanOut("results", "company")
COMPANY_IDENTIFIERS = ("company_domain", "company_name", "company_linkedin_url")

OPERATIONS = [
    OperationSpec(
        operation_id="company.enrich.tech_stack",
        entity_type="company",
        category="enrich",
        description="The technologies a company uses as its job posts reveal them (TheirStack): "
        "category, confidence, job counts, first and last seen.",
        requirements=Requirements(any_of=COMPANY_IDENTIFIERS),
        produces=distinctive("technologies", "technology_count", "source_provider", *Technology.model_fields),
        providers=(theirstack.PROVIDER,),
        strategy="single",
        cost_tier="medium",
        output_contract=TechStackOutput,
        handler=tech_stack,
    ),
    OperationSpec(
        operation_id="company.enrich.hiring_signals",
        entity_type="company",
        category="enrich",
        description="How much a company is hiring (TheirStack): open jobs, jobs in the last 30 days, "
        "recent job titles, technologies named in its posts.",
        requirements=Requirements(all_of=("company_domain",)),
        produces=distinctive(*HiringSignalsOutput.model_fields),
        providers=(theirstack.PROVIDER,),
        strategy="single",
        cost_tier="medium",
        output_contract=HiringSignalsOutput,
        handler=hiring_signals,
    ),
    OperationSpec(
        operation_id="company.search.by_tech_stack",
        entity_type="company",
        category="search",
        description="Companies by the technologies they use (TheirStack), industry, headcount, country or "
        "the titles they hire for; limit ≤ 200. Filters are step options. Fans out to the companies.",
        requirements=Requirements(any_of=TECH_STACK_FILTERS),
        optional_inputs=("limit",),
        produces=distinctive("results", "result_count", "source_provider", *TechStackCompany.model_fields),
        providers=(theirstack.PROVIDER,),
        strategy="single",
        cost_tier="high",
        output_contract=TechStackSearchOutput,
        handler=search_by_tech_stack,
        fan_out=FanOut(
            "results", "company", (("domain", "company_domain"), ("linkedin_url", "company_linkedin_url"))
        ),
        options=(*TECH_STACK_FILTERS, "limit"),
    ),
    OperationSpec(
        operation_id="company.search.by_job_postings",
        entity_type="company",
        category="search",
        description="Companies hiring for what the filters describe (TheirStack job posts: titles, "
        "countries, posting age, technologies, seniority, salary, company size and revenue); limit ≤ 200. "
        "Filters are step options. Lists the job posts and fans out to their companies.",
        requirements=Requirements(any_of=JOB_POSTING_FILTERS),
        optional_inputs=("limit",),
        produces=distinctive(*JOB_OUTPUT_FIELDS, *JobItem.model_fields),
        providers=(theirstack.PROVIDER,),
        strategy="single",
        cost_tier="high",
        output_contract=JobSearchOutput,
        handler=job_searcher(JOB_POSTING_FILTERS, 200),
        fan_out=HIRING_COMPANY,
        options=(*JOB_POSTING_FILTERS, "limit"),
    ),
    OperationSpec(
        operation_id="job.search",
        entity_type="company",
        category="search",
        description="Job posts (TheirStack) with their hiring team, embedded company and locations, by any "
        "of TheirStack's job filters (multi-country included); needs a posting-date bound or a company. "
        "limit ≤ 500, offset, page, cursor. Filters are step options. Fans out to the hiring companies.",
        requirements=Requirements(any_of=JOB_SEARCH_ANCHORS),
        optional_inputs=tuple(
            name for name in (*JOB_SEARCH_FILTERS, *JOB_PAGING) if name not in JOB_SEARCH_ANCHORS
        ),
        produces=distinctive(*JOB_OUTPUT_FIELDS, *JobItem.model_fields),
        providers=(theirstack.PROVIDER,),
        strategy="single",
        cost_tier="high",
        output_contract=JobSearchOutput,
        handler=job_searcher(JOB_SEARCH_FILTERS, 500),
        fan_out=HIRING_COMPANY,
        options=(*JOB_SEARCH_FILTERS, *JOB_PAGING),
    ),
]
