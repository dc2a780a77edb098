from __future__ import annotations

from dex.providers import revenueinfra, sec
from dex.providers.base import AdapterResult
from dex.sandbox import market
from tests.providers.adapter_cases import AdapterCase

# acme.io files with the SEC in the sandbox; its latest 10-K is an EDGAR archive document.
TEN_K = market.sec_filings("acme.io")["filings"]["latest_10k"]["document_url"]


def _filings(result: AdapterResult) -> None:
    mapped = result.mapped
    assert mapped["cik"] and mapped["ticker"] == "ACME"
    assert mapped["latest_10k"]["document_url"].startswith("https://www.sec.gov/Archives/edgar/data/")
    assert mapped["recent_8k_earnings"][0]["items"] == ["2.02", "9.01"]


def _document(result: AdapterResult) -> None:
    text = result.mapped["text"]
    # Readable text only: markup, styles and scripts are gone.
    assert text.startswith("ACME Form 10-K") and "Revenue was $" in text
    assert "<" not in text and "margin" not in text and "var x" not in text


CASES = [
    AdapterCase(
        revenueinfra.fetch_sec_filings, {"domain": "acme.io"}, {"domain": "acme.io"}, check_found=_filings
    ),
    AdapterCase(sec.fetch_document, {"document_url": TEN_K}, {"document_url": TEN_K}, check_found=_document),
]
