from __future__ import annotations

from dex.providers import enigma
from dex.providers.base import AdapterResult
from dex.sandbox.market import brand_id
from tests.providers.adapter_cases import AdapterCase


def _brand(result: AdapterResult) -> None:
    assert result.mapped["enigma_brand_id"] == brand_id("acme.io")
    assert result.mapped["brand_name"] == "Acme"


def _analytics(result: AdapterResult) -> None:
    mapped = result.mapped
    assert isinstance(mapped["annual_card_revenue"], float)
    assert len(mapped["monthly_revenue"]) == 6
    assert mapped["monthly_revenue"][0]["period_start"] > mapped["monthly_revenue"][-1]["period_start"]


CASES = [
    AdapterCase(
        enigma.match_business,
        {"company_name": "Acme", "company_domain": "acme.io"},
        {"company_name": "Acme", "company_domain": "acme.io"},
        check_found=_brand,
    ),
    AdapterCase(
        enigma.get_card_analytics,
        {"brand_id": brand_id("acme.io"), "months_back": 6},
        {"brand_id": brand_id("acme.io"), "months_back": 6},
        check_found=_analytics,
    ),
]
