"""Adyntel — ``https://api.adyntel.com/<endpoint>``, JSON POSTs with the API key and the account email in
the BODY.

HTTP 204 means Adyntel knows no ads: not found. A 200 must carry a non-empty list of ads; a 200 with an
empty list is Adyntel reporting a problem (its message, if any, becomes ``provider_status``), so it is a
failed attempt — never "no ads" (bug #31 of the seed system). Lists may hold nested lists of ads; they are
flattened one level.
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

PROVIDER = "adyntel"
# ``timeout_seconds`` (ADYNTEL_TIMEOUT_SECONDS) bounds how long dex waits, not what it asks: not a cache key.
UNKEYED = ("timeout_seconds",)
# Response fields copied through besides the ads themselves.
PAGING_FIELDS = (
    "continuation_token",
    "is_last_page",
    "page_id",
    "total_ads",
    "number_of_ads",
    "is_result_complete",
    "search_type",
    "country_code",
)


def _ads(body: dict[str, Any], list_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    raw: list[Any] = next(
        (body[key] for key in list_keys if isinstance(body.get(key), list) and body[key]), []
    )
    flat: list[Any] = []
    for item in raw:
        flat.extend(item if isinstance(item, list) else [item])
    return [ad for ad in flat if isinstance(ad, dict)]


def _message(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    nested = clean_text(error.get("message")) if isinstance(error, dict) else clean_text(error)
    return nested or clean_text(body.get("message"))


async def _search(
    call: ProviderCall,
    endpoint: str,
    payload: dict[str, Any],
    timeout_seconds: float | None,
    list_keys: tuple[str, ...] = ("ads",),
) -> AdapterResult:
    api_key, account_email = call.credentials
    body = {
        "api_key": api_key,
        "email": account_email,
        **{key: value for key, value in payload.items() if value not in (None, "")},
    }
    response = await call.request("POST", f"/{endpoint}", json_body=body, timeout_seconds=timeout_seconds)
    if response.http_status == 204 and response.error is None:
        return call.result("not_found", response, provider_status="no_content")
    if not response.ok:
        return call.failed_response(response)
    answer = response.json_body
    ads = _ads(answer, list_keys)
    if not ads:
        message = _message(answer) or "empty_ads_list"
        return call.result("failed", response, provider_status=message, error=message)
    mapped = {"ads": ads, **{key: answer.get(key) for key in PAGING_FIELDS if key in answer}}
    return call.result("found", response, mapped=mapped)


@adapter(PROVIDER, "search_linkedin_ads", unkeyed=UNKEYED)
async def search_linkedin_ads(
    call: ProviderCall,
    *,
    company_domain: str | None = None,
    linkedin_page_id: str | None = None,
    continuation_token: str | None = None,
    timeout_seconds: float | None = None,
) -> AdapterResult:
    payload = {
        "company_domain": company_domain,
        "linkedin_page_id": linkedin_page_id,
        "continuation_token": continuation_token,
    }
    return await _search(call, "linkedin", payload, timeout_seconds)


@adapter(PROVIDER, "search_meta_ads", unkeyed=UNKEYED)
async def search_meta_ads(
    call: ProviderCall,
    *,
    company_domain: str | None = None,
    facebook_url: str | None = None,
    continuation_token: str | None = None,
    media_type: str | None = None,
    country_code: str | None = None,
    active_status: str | None = None,
    timeout_seconds: float | None = None,
) -> AdapterResult:
    payload = {
        "company_domain": company_domain,
        "facebook_url": facebook_url,
        "continuation_token": continuation_token,
        "media_type": media_type,
        "country_code": country_code,
        "active_status": active_status,
    }
    return await _search(call, "facebook", payload, timeout_seconds, ("results", "ads"))


@adapter(PROVIDER, "search_meta_ads_by_keyword", unkeyed=UNKEYED)
async def search_meta_ads_by_keyword(
    call: ProviderCall,
    *,
    keyword: str,
    country_code: str | None = None,
    timeout_seconds: float | None = None,
) -> AdapterResult:
    payload = {"keyword": keyword, "country_code": country_code}
    return await _search(call, "facebook_ad_search", payload, timeout_seconds, ("results", "ads"))


@adapter(PROVIDER, "search_google_ads", unkeyed=UNKEYED)
async def search_google_ads(
    call: ProviderCall,
    *,
    company_domain: str,
    media_type: str | None = None,
    continuation_token: str | None = None,
    timeout_seconds: float | None = None,
) -> AdapterResult:
    payload = {
        "company_domain": company_domain,
        "media_type": media_type,
        "continuation_token": continuation_token,
    }
    return await _search(call, "google", payload, timeout_seconds)


# No account endpoint is known: the smallest request is one Google ads search.
ACCOUNT_PROBE = AccountProbe(
    "POST",
    "/google",
    lambda credentials: ProbeRequest(
        json_body={"api_key": credentials[0], "email": credentials[1], "company_domain": "adyntel.com"}
    ),
    accepted=frozenset({200, 204}),
    cost="one ads search",
)
