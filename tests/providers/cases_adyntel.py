from __future__ import annotations

from dex.providers import adyntel
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase

KNOWN = {"company_domain": "acme.io"}
UNKNOWN = {"company_domain": "nobody-knows.example"}


def _flat_ads(result: AdapterResult) -> None:
    ads = result.mapped["ads"]
    assert ads and all(isinstance(ad, dict) for ad in ads)


CASES = [
    AdapterCase(adyntel.search_linkedin_ads, KNOWN, UNKNOWN, check_found=_flat_ads),
    AdapterCase(adyntel.search_meta_ads, KNOWN, UNKNOWN, check_found=_flat_ads),
    AdapterCase(
        adyntel.search_meta_ads_by_keyword,
        {"keyword": "crm software"},
        {"keyword": "crm software"},
        check_found=_flat_ads,
    ),
    AdapterCase(adyntel.search_google_ads, KNOWN, UNKNOWN, check_found=_flat_ads),
]
