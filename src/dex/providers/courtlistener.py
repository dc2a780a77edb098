"""CourtListener (REST v4) — ``https://www.courtlistener.com/api/rest/v4``, GET only, the key as
``Authorization: Token <key>`` (CourtListener's REST API documentation).

RECAP search finds a company's dockets by case name; the dockets list, filtered by court and filing
dates, pages through absolute ``next`` URLs; one docket by id answers 404 when there is none. URLs in
answers are site-relative and become absolute here.
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

PROVIDER = "courtlistener"
SITE = "https://www.courtlistener.com"
# Bankruptcy courts, as CourtListener's jurisdiction code names them.
BANKRUPTCY_JURISDICTION = "FB"
# A market-wide scan stops after this many pages (20 dockets each) rather than run unbounded.
MAX_SCAN_PAGES = 25


def _auth(call: ProviderCall) -> dict[str, str]:
    return {"Authorization": f"Token {call.key}"}


def absolute(url: Any) -> str | None:
    text = clean_text(url)
    if text is None:
        return None
    return (
        text
        if text.startswith(("http://", "https://"))
        else SITE + (text if text.startswith("/") else f"/{text}")
    )


def docket_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = clean_text(value)
    return int(text) if text and text.isdigit() else None


def _names(value: Any) -> list[str]:
    """Party or attorney names: strings, or objects naming them under ``name``/``party_name``."""
    items = value if isinstance(value, list) else []
    names = []
    for item in items:
        name = (
            clean_text(item.get("name") or item.get("party_name"))
            if isinstance(item, dict)
            else clean_text(item)
        )
        if name:
            names.append(name)
    return names


def _score(hit: dict[str, Any]) -> float | None:
    meta = hit.get("meta")
    score = meta.get("score") if isinstance(meta, dict) else None
    value = score.get("bm25") if isinstance(score, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _search_hit(hit: dict[str, Any]) -> dict[str, Any]:
    case_name = clean_text(hit.get("caseName"))
    return {
        "docket_id": docket_id(hit.get("docket_id")),
        "case_name": case_name,
        "case_name_short": clean_text(hit.get("caseNameShort")),
        "court": clean_text(hit.get("court_id")) or clean_text(hit.get("court")),
        "court_citation": clean_text(hit.get("court_citation_string")),
        "docket_number": clean_text(hit.get("docketNumber")),
        "date_filed": clean_text(hit.get("dateFiled")),
        "date_terminated": clean_text(hit.get("dateTerminated")),
        "date_last_filing": clean_text(hit.get("dateLastFiling")),
        "judge": clean_text(hit.get("judge")) or clean_text(hit.get("assignedTo")),
        "pacer_case_id": clean_text(str(hit["pacer_case_id"]))
        if hit.get("pacer_case_id") is not None
        else None,
        "party_names": _names(hit.get("party_name", hit.get("party"))),
        "attorneys": _names(hit.get("attorney")),
        "relevance_score": _score(hit),
        "url": absolute(hit.get("docket_absolute_url")),
    }


def docket_record(docket: dict[str, Any]) -> dict[str, Any]:
    """A ``/dockets/`` record in the same shape as a search hit."""
    pacer = docket.get("pacer_case_id")
    return {
        "docket_id": docket_id(docket.get("id")),
        "case_name": clean_text(docket.get("case_name")),
        "case_name_short": clean_text(docket.get("case_name_short")),
        "court": clean_text(docket.get("court_id")),
        "court_citation": clean_text(docket.get("court_citation_string")),
        "docket_number": clean_text(docket.get("docket_number")),
        "date_filed": clean_text(docket.get("date_filed")),
        "date_terminated": clean_text(docket.get("date_terminated")),
        "date_last_filing": clean_text(docket.get("date_last_filing")),
        "judge": clean_text(docket.get("assigned_to_str")),
        "pacer_case_id": clean_text(str(pacer)) if pacer is not None else None,
        "party_names": _names(docket.get("parties")),
        "attorneys": [],
        "relevance_score": None,
        "url": absolute(docket.get("absolute_url")),
    }


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


@adapter(PROVIDER, "search_filings")
async def search_filings(
    call: ProviderCall,
    *,
    company_name: str,
    court: str | None = None,
    filed_after: str | None = None,
    filed_before: str | None = None,
) -> AdapterResult:
    """RECAP dockets whose case name holds ``company_name``, optionally in one court and a filing window."""
    params = {"type": "r", "q": f'caseName:"{company_name}"'}
    optional = {"court": court, "filed_after": filed_after, "filed_before": filed_before}
    params.update({name: value for name, value in optional.items() if value})
    response = await call.request("GET", "/search/", headers=_auth(call), params=params)
    if not response.ok:
        return call.failed_response(response)
    filings = [_search_hit(hit) for hit in _objects(response.json_body.get("results"))]
    filings = [filing for filing in filings if filing["docket_id"] is not None]
    return call.result("found" if filings else "not_found", response, mapped={"results": filings})


@adapter(PROVIDER, "bankruptcy_dockets")
async def bankruptcy_dockets(
    call: ProviderCall,
    *,
    date_filed_gte: str,
    date_filed_lte: str | None = None,
    courts: list[str] | None = None,
) -> AdapterResult:
    """Dockets filed in the window in the given courts (every bankruptcy court without them), following
    ``next`` pages up to :data:`MAX_SCAN_PAGES`."""
    params: dict[str, Any] = {"date_filed__gte": date_filed_gte}
    if date_filed_lte:
        params["date_filed__lte"] = date_filed_lte
    if courts:
        params["court"] = courts
    else:
        params["court__jurisdiction"] = BANKRUPTCY_JURISDICTION
    response = await call.request("GET", "/dockets/", headers=_auth(call), params=params)
    records: list[dict[str, Any]] = []
    pages = 0
    while True:
        if not response.ok:
            return call.failed_response(response)
        pages += 1
        records.extend(docket_record(item) for item in _objects(response.json_body.get("results")))
        next_url = clean_text(response.json_body.get("next"))
        if next_url is None or pages >= MAX_SCAN_PAGES:
            break
        response = await call.request("GET", next_url, headers=_auth(call))
    records = [record for record in records if record["docket_id"] is not None]
    return call.result(
        "found" if records else "not_found",
        response,
        mapped={"results": records},
        provider_status="truncated" if next_url else None,
    )


@adapter(PROVIDER, "docket_detail")
async def docket_detail(call: ProviderCall, *, docket_id: int) -> AdapterResult:
    response = await call.request("GET", f"/dockets/{docket_id}/", headers=_auth(call))
    if response.http_status == 404 and response.error is None:
        return call.result("not_found", response, provider_status="http_404")
    if not response.ok:
        return call.failed_response(response)
    record = docket_record(response.json_body)
    if record["docket_id"] is None:
        return call.result("not_found", response)
    return call.result("found", response, mapped=record)


# Reading one docket is free; a valid token on an id with no docket answers 404.
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/dockets/1/",
    lambda credentials: ProbeRequest(headers={"Authorization": f"Token {credentials[0]}"}),
    accepted=frozenset({200, 404}),
)
