from __future__ import annotations

from dex.providers import leadmagic
from dex.providers.base import AdapterResult
from dex.sandbox.world import company_for_domain, staff
from tests.providers.adapter_cases import AdapterCase

ACME = company_for_domain("acme.io")
CEO, SALES_VP = staff(ACME)[:2]
NAMED_AT_ACME = {"first_name": SALES_VP.first_name, "last_name": SALES_VP.last_name, "domain": "acme.io"}


def _technologies(result: AdapterResult) -> None:
    technologies = result.mapped["technologies"]
    assert technologies and all(set(tech) == {"name", "category", "website", "icon"} for tech in technologies)
    assert sum(len(names) for names in result.mapped["categories"].values()) == len(technologies)


def _profile(result: AdapterResult) -> None:
    profile = result.mapped
    assert (profile["full_name"], profile["current_title"]) == (SALES_VP.full_name, "VP of Sales")
    assert profile["current_company_domain"] == "acme.io" and profile["work_history"]


def _company(result: AdapterResult) -> None:
    assert (result.mapped["company_domain"], result.mapped["employee_range"]) == ("acme.io", "51-200")
    assert result.mapped["company_linkedin_url"] == ACME.linkedin_url.lower()


CASES = [
    AdapterCase(
        leadmagic.resolve_email,
        NAMED_AT_ACME,
        NAMED_AT_ACME,
        check_found=lambda result: result.mapped == {"email": SALES_VP.work_email, "status": "valid"},
    ),
    AdapterCase(
        leadmagic.resolve_mobile_phone,
        {"profile_url": SALES_VP.linkedin_url},
        {"work_email": SALES_VP.work_email},
        check_found=lambda result: result.mapped == {"mobile_phone": SALES_VP.mobile_phone},
    ),
    AdapterCase(
        leadmagic.employee_finder,
        {"company_domain": "acme.io", "limit": 2},
        {"company_domain": "acme.io"},
        check_found=lambda result: (
            [p["full_name"] for p in result.mapped["results"]] == [CEO.full_name, SALES_VP.full_name]
        ),
    ),
    AdapterCase(
        leadmagic.role_finder,
        {"job_title": "VP Sales", "company_domain": "acme.io"},
        {"job_title": "VP Sales", "company_domain": "acme.io"},
        check_found=lambda result: (
            result.mapped["results"][0]["linkedin_url"] == SALES_VP.linkedin_url.lower()
        ),
    ),
    AdapterCase(
        leadmagic.enrich_company,
        {"company_domain": "acme.io"},
        {"company_domain": "acme.io"},
        check_found=_company,
    ),
    AdapterCase(
        leadmagic.technographics,
        {"company_domain": "acme.io"},
        {"company_domain": "acme.io"},
        check_found=_technologies,
    ),
    AdapterCase(
        leadmagic.enrich_person,
        {"profile_url": SALES_VP.linkedin_url},
        {"profile_url": SALES_VP.linkedin_url},
        check_found=_profile,
    ),
]
