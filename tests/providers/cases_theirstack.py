from __future__ import annotations

from dex.providers import theirstack
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase


def _technologies(result: AdapterResult) -> None:
    technologies = result.mapped["technologies"]
    assert technologies and all(tech["name"] and tech["slug"] and tech["category"] for tech in technologies)


def _companies(result: AdapterResult) -> None:
    assert [company["domain"] for company in result.mapped["results"]] == ["acme.io"]
    assert result.mapped["results"][0]["recent_job_titles"]


def _jobs(result: AdapterResult) -> None:
    jobs = result.mapped["results"]
    assert jobs and all(job["company_domain"] == "acme.io" for job in jobs)
    assert all(job["job_id"] == job["theirstack_job_id"] for job in jobs)
    assert all(
        job["hiring_team"] and job["locations"] and job["company_object"]["domain"] == "acme.io"
        for job in jobs
    )
    assert result.mapped["total_results"] >= len(jobs)


CASES = [
    AdapterCase(
        theirstack.technographics,
        {"company_domain": "acme.io"},
        {"company_domain": "acme.io"},
        check_found=_technologies,
    ),
    AdapterCase(
        theirstack.search_companies,
        {"filters": {"company_domain_or": ["acme.io"]}, "limit": 1},
        {"filters": {"company_domain_or": ["acme.io"]}, "limit": 1},
        check_found=_companies,
    ),
    AdapterCase(
        theirstack.search_jobs,
        {
            "filters": {"company_domain_or": ["acme.io"]},
            "paging": {"limit": 10, "include_total_results": True},
        },
        {"filters": {"company_domain_or": ["acme.io"]}, "paging": {"limit": 10}},
        check_found=_jobs,
    ),
]
