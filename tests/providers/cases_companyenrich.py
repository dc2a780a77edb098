from __future__ import annotations

from dex.providers import companyenrich
from dex.providers.base import AdapterResult
from dex.sandbox.world import company_for_domain, staff
from tests.providers.adapter_cases import AdapterCase

ACME = company_for_domain("acme.io")
SALES_VP = staff(ACME)[1]


def _company(result: AdapterResult) -> None:
    profile = result.mapped
    assert (profile["company_name"], profile["company_domain"]) == ("Acme", "acme.io")
    assert (profile["hq_locality"], profile["hq_country_code"]) == ("Berlin", "DE")
    assert profile["industry_derived"] and profile["source_company_id"]


def _namesakes(result: AdapterResult) -> None:
    assert result.mapped["results"][0]["company_domain"] == "acme.com"
    assert result.mapped["pagination"]["totalItems"] == len(result.mapped["results"])


def _sales_people(result: AdapterResult) -> None:
    (person,) = result.mapped["results"]
    assert (person["full_name"], person["current_company_domain"]) == (SALES_VP.full_name, "acme.io")


CASES = [
    AdapterCase(
        companyenrich.enrich_company, {"domain": "acme.io"}, {"domain": "acme.io"}, check_found=_company
    ),
    AdapterCase(companyenrich.search_company, {"query": "Acme"}, {"query": "Acme"}, check_found=_namesakes),
    AdapterCase(
        companyenrich.search_person,
        {"position_query": "VP Sales", "domain": "acme.io"},
        {"domain": "acme.io"},
        check_found=_sales_people,
    ),
]
