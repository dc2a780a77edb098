from __future__ import annotations

from dex.providers import storeleads
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase


def _store(result: AdapterResult) -> None:
    mapped = result.mapped
    assert mapped["merchant_name"] == "Acme"
    assert mapped["ecommerce_platform"] and mapped["installed_apps"]


def _results(result: AdapterResult) -> None:
    assert all(store["ecommerce_platform"] == "shopify" for store in result.mapped["results"])


CASES = [
    AdapterCase(storeleads.enrich_domain, {"domain": "acme.io"}, {"domain": "acme.io"}, check_found=_store),
    AdapterCase(
        storeleads.search_domains,
        {"filters": {"platform": "shopify", "domain_state": "Active"}},
        {"filters": {"platform": "shopify", "domain_state": "Active"}},
        check_found=_results,
    ),
]
