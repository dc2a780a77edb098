from __future__ import annotations

from dex.providers import prospeo
from dex.providers.base import AdapterResult
from dex.sandbox.world import company_for_domain, staff
from tests.providers.adapter_cases import AdapterCase

ACME = company_for_domain("acme.io")
SALES_VP = staff(ACME)[1]


def _acme_profile(result: AdapterResult) -> None:
    assert result.mapped["company_name"] == "Acme"
    assert result.mapped["company_domain"] == "acme.io"
    assert result.mapped["company_linkedin_url"] == ACME.linkedin_url.lower()
    assert result.mapped["source_provider"] == "prospeo"


def _acme_first(result: AdapterResult) -> None:
    assert result.mapped["results"][0]["company_domain"] == "acme.com"
    assert result.mapped["pagination"]["total_count"] == len(result.mapped["results"])


def _sales_vp(result: AdapterResult) -> None:
    (person,) = result.mapped["results"]
    assert (person["full_name"], person["current_title"]) == (SALES_VP.full_name, "VP of Sales")
    assert person["current_company_domain"] == "acme.io"
    assert person["location_name"] == "Berlin, DE"


def _enriched_person(result: AdapterResult) -> None:
    profile = result.mapped
    assert (profile["full_name"], profile["current_title"]) == (SALES_VP.full_name, "VP of Sales")
    assert (profile["seniority"], profile["department"]) == ("VP", "Sales")
    assert (profile["email"], profile["mobile_phone"]) == (SALES_VP.work_email, SALES_VP.mobile_phone)
    assert profile["current_company_domain"] == "acme.io"


CASES = [
    AdapterCase(
        prospeo.enrich_company,
        {"company_website": "https://acme.io"},
        {"company_website": "https://acme.io"},
        check_found=_acme_profile,
    ),
    AdapterCase(
        prospeo.search_company,
        {"filters": {"company": {"names": {"include": ["Acme"]}}}},
        {"filters": {"company": {"names": {"include": ["Acme"]}}}},
        check_found=_acme_first,
    ),
    AdapterCase(
        prospeo.search_person,
        {
            "filters": {
                "company": {"websites": {"include": ["acme.io"]}},
                "person_job_title": {"include": ["VP Sales"]},
            }
        },
        {"filters": {"company": {"websites": {"include": ["acme.io"]}}}},
        check_found=_sales_vp,
    ),
    AdapterCase(
        prospeo.enrich_person,
        {"linkedin_url": SALES_VP.linkedin_url},
        {"first_name": SALES_VP.first_name, "last_name": SALES_VP.last_name, "company_website": "acme.io"},
        check_found=_enriched_person,
    ),
]
