from __future__ import annotations

from dex.providers import fmcsa
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase


def _carrier(result: AdapterResult) -> None:
    mapped = result.mapped
    assert mapped["dot_number"] == "1000010" and mapped["legal_name"] == "APEX FREIGHT LLC"
    assert mapped["allow_to_operate"] is True and mapped["address_state"] == "TN"
    assert len(mapped["basic_scores"]) == 6 and mapped["authority_status"] == "A"
    assert result.attempt.provider_status == "full"


def _results(result: AdapterResult) -> None:
    names = [carrier["legal_name"] for carrier in result.mapped["results"]]
    assert len(names) == 5 and all("APEX" in name and "FREIGHT" in name for name in names)


CASES = [
    AdapterCase(
        fmcsa.enrich_carrier, {"dot_number": "1000010"}, {"dot_number": "1000010"}, check_found=_carrier
    ),
    AdapterCase(
        fmcsa.search_carriers,
        {"name": "Apex Freight", "size": 5},
        {"name": "Apex Freight", "size": 5},
        check_found=_results,
    ),
]
