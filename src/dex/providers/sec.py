"""SEC EDGAR archives — ``https://www.sec.gov/Archives/edgar/data/…``, GET, the caller identified by its
``User-Agent`` (EDGAR's fair-access policy: a name and a contact address; anonymous clients are blocked).

A filing's primary document is HTML; its readable text (markup, scripts and styles dropped, whitespace
collapsed) is what an analysis reads. Only EDGAR archive URLs are fetched: a document URL on another host
is not a filing and is never requested.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

PROVIDER = "sec"
EDGAR_HOSTS = ("www.sec.gov", "sec.gov")
ARCHIVE_PREFIX = "/Archives/edgar/data/"
WHITESPACE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """The visible text of an HTML document."""

    SKIPPED = {"script", "style", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def document_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return WHITESPACE.sub(" ", " ".join(extractor.parts)).strip()


def archive_path(document_url: str) -> str | None:
    """The EDGAR archive path of ``document_url``, or None when it is not an EDGAR archive URL."""
    parts = urlsplit(document_url.strip())
    if parts.scheme not in ("http", "https") or parts.netloc.lower() not in EDGAR_HOSTS:
        return None
    return parts.path if parts.path.startswith(ARCHIVE_PREFIX) else None


@adapter(PROVIDER, "fetch_document")
async def fetch_document(call: ProviderCall, *, document_url: str) -> AdapterResult:
    """A filing document's text. Not found when EDGAR has no such document (404) or it holds no text."""
    path = archive_path(document_url)
    if path is None:
        return call.result("failed", provider_status="not_an_edgar_url", error="not_an_edgar_url")
    response = await call.request("GET", path, headers={"User-Agent": call.key}, accept_text=True)
    if response.http_status == 404 and response.error is None:
        return call.result("not_found", response, provider_status="http_404")
    if not response.ok:
        return call.failed_response(response)
    raw = response.json_body.get("text")
    text = document_text(raw) if isinstance(raw, str) else ""
    if not text:
        return call.result("not_found", response)
    return call.result("found", response, mapped={"text": text})


# EDGAR has no account: the probe fetches one archive document with the configured User-Agent (a blocked
# agent is refused; a document the archive does not hold answers 404 to an accepted one).
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/Archives/edgar/data/320193/000032019323000106/aapl-20230930.htm",
    lambda credentials: ProbeRequest(headers={"User-Agent": credentials[0]}),
    accepted=frozenset({200, 404}),
)
