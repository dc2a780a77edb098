from __future__ import annotations

from dex.providers import blitzapi
from dex.providers.base import AdapterResult
from dex.sandbox.world import company_for_domain, staff
from tests.providers.adapter_cases import AdapterCase

ACME = company_for_domain("acme.io")
CEO, SALES_VP = staff(ACME)[:2]
SALES_TIERS = [
    {
        "include_title": ["Chief Revenue Officer"],
        "exclude_title": [],
        "location": [],
        "include_headline_search": False,
    },
    {
        "include_title": ["VP Sales"],
        "exclude_title": ["Assistant"],
        "location": ["DE"],
        "include_headline_search": False,
    },
]


def _linkedin(result: AdapterResult) -> None:
    assert result.mapped == {"company_linkedin_url": ACME.linkedin_url.lower()}


def _company(result: AdapterResult) -> None:
    assert result.mapped["company_domain"] == "acme.io"
    assert result.mapped["company_linkedin_id"] == ACME.linkedin_id
    assert result.mapped["follower_count"] == ACME.follower_count


def _staff(result: AdapterResult) -> None:
    assert [p["full_name"] for p in result.mapped["results"]] == [CEO.full_name]
    assert result.mapped["results"][0]["current_title"] == "Chief Executive Officer"
    assert result.mapped["pagination"]["total_pages"] == 1


def _second_tier(result: AdapterResult) -> None:
    assert [p["linkedin_url"] for p in result.mapped["results"]] == [SALES_VP.linkedin_url.lower()]


CASES = [
    AdapterCase(
        blitzapi.domain_to_linkedin, {"domain": "acme.io"}, {"domain": "acme.io"}, check_found=_linkedin
    ),
    AdapterCase(
        blitzapi.enrich_company,
        {"company_linkedin_url": ACME.linkedin_url},
        {"company_linkedin_url": ACME.linkedin_url},
        check_found=_company,
    ),
    AdapterCase(
        blitzapi.employee_finder,
        {"company_linkedin_url": ACME.linkedin_url, "job_level": ["C-Team"], "max_results": 5},
        {"company_linkedin_url": ACME.linkedin_url},
        check_found=_staff,
    ),
    AdapterCase(
        blitzapi.waterfall_icp_search,
        {"company_linkedin_url": ACME.linkedin_url, "cascade": SALES_TIERS},
        {"company_linkedin_url": ACME.linkedin_url, "cascade": SALES_TIERS},
        check_found=_second_tier,
    ),
    AdapterCase(
        blitzapi.resolve_mobile_phone,
        {"person_linkedin_url": SALES_VP.linkedin_url},
        {"person_linkedin_url": SALES_VP.linkedin_url},
        check_found=lambda result: result.mapped == {"mobile_phone": SALES_VP.mobile_phone},
    ),
]
