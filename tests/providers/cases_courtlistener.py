from __future__ import annotations

from dex.providers import courtlistener
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase


def _filings(result: AdapterResult) -> None:
    filings = result.mapped["results"]
    assert all("Acme Corp" in filing["case_name"] for filing in filings)
    assert all(filing["url"].startswith("https://www.courtlistener.com/docket/") for filing in filings)


def _petitions(result: AdapterResult) -> None:
    petitions = result.mapped["results"]
    # Three petitions a day over ten days, across pages of twenty: every page was followed.
    assert len(petitions) == 30 and result.attempt.http_attempts >= 2
    assert all(p["case_name"].startswith("In re: ") for p in petitions)


def _docket(result: AdapterResult) -> None:
    assert result.mapped["docket_id"] == 61234567 and result.mapped["party_names"]


CASES = [
    AdapterCase(
        courtlistener.search_filings,
        {"company_name": "Acme Corp"},
        {"company_name": "Acme Corp"},
        check_found=_filings,
    ),
    AdapterCase(
        courtlistener.bankruptcy_dockets,
        {"date_filed_gte": "2025-06-01", "date_filed_lte": "2025-06-10"},
        {"date_filed_gte": "2025-06-01", "date_filed_lte": "2025-06-10"},
        check_found=_petitions,
    ),
    AdapterCase(courtlistener.docket_detail, {"docket_id": 61234567}, {"docket_id": 99}, check_found=_docket),
]
