"""Adyntel emulation: JSON POSTs per ad network with ``api_key`` and the account ``email`` in the body.

An advertiser Adyntel knows gets a page of its ads (10 per page, ``continuation_token`` for the next); one
it does not know gets HTTP 204 with no body; a request naming no advertiser gets a 200 with an empty list
and a ``message``, which is how Adyntel reports request problems.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import SANDBOX_ACCOUNT_EMAIL, sandbox_credential
from dex.sandbox.world import digest, known_to, normalize_domain

PROVIDER = "adyntel"
PAGE_SIZE = 10
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])

Known = Callable[[str], bool]
Responder = Callable[[dict[str, Any], Known], Response | dict[str, Any]]
NO_CONTENT = 204


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def _offset(token: str) -> int:
    number = token.rpartition("-")[2]
    return int(number) if number.isdigit() else 0


def _page(ads: list[dict[str, Any]], token: str, prefix: str) -> tuple[list[dict[str, Any]], str | None]:
    start = _offset(token)
    end = start + PAGE_SIZE
    return ads[start:end], (f"{prefix}-{end}" if end < len(ads) else None)


async def _serve(request: Request, action: str, respond: Responder) -> Response:
    body = await _body(request)
    authorized = _text(body, "api_key") == sandbox_credential(PROVIDER) and (
        _text(body, "email") == SANDBOX_ACCOUNT_EMAIL
    )
    state = sandbox_state(request)

    def answer() -> Response | dict[str, Any]:
        return respond(body, lambda key: known_to(PROVIDER, key, state.hit_rate(PROVIDER)))

    return await state.handle(request, PROVIDER, action, authorized=authorized, answer=answer)


def _advertiser(body: dict[str, Any], *id_keys: str) -> str:
    """The advertiser a request names: its domain, else the id/URL it gives."""
    domain = normalize_domain(_text(body, "company_domain"))
    return domain or next(
        (_text(body, key).rstrip("/").rpartition("/")[2] for key in id_keys if _text(body, key)), ""
    )


@router.post("/linkedin")
async def linkedin(request: Request) -> Response:
    def respond(body: dict[str, Any], known: Known) -> Response | dict[str, Any]:
        advertiser = _advertiser(body, "linkedin_page_id")
        if not advertiser:
            return {"ads": [], "message": "company_domain or linkedin_page_id is required"}
        if not known(advertiser):
            return Response(status_code=NO_CONTENT)
        ads = market.ads(advertiser, "linkedin")
        page, token = _page(ads, _text(body, "continuation_token"), "li")
        return {
            "ads": page,
            "continuation_token": token,
            "is_last_page": token is None,
            "page_id": _text(body, "linkedin_page_id") or str(digest("page", advertiser) % 10**8),
            "total_ads": len(ads),
        }

    return await _serve(request, "search_linkedin_ads", respond)


@router.post("/facebook")
async def facebook(request: Request) -> Response:
    def respond(body: dict[str, Any], known: Known) -> Response | dict[str, Any]:
        advertiser = _advertiser(body, "facebook_url")
        if not advertiser:
            return {"results": [], "message": "company_domain or facebook_url is required"}
        ads = market.ads(advertiser, "meta") if known(advertiser) else []
        if _text(body, "active_status").lower() == "active":
            ads = [ad for ad in ads if ad["is_active"]]
        if not ads:
            return Response(status_code=NO_CONTENT)
        page, token = _page(ads, _text(body, "continuation_token"), "fb")
        # Meta results come grouped by collation (ads sharing one creative) — a list of lists.
        return {
            "results": [page[i : i + 3] for i in range(0, len(page), 3)],
            "continuation_token": token,
            "number_of_ads": len(ads),
            "is_result_complete": token is None,
        }

    return await _serve(request, "search_meta_ads", respond)


@router.post("/facebook_ad_search")
async def facebook_ad_search(request: Request) -> Response:
    def respond(body: dict[str, Any], known: Known) -> Response | dict[str, Any]:
        keyword = _text(body, "keyword")
        if not keyword:
            return {"results": [], "message": "keyword is required"}
        if not known(keyword.lower()):
            return Response(status_code=NO_CONTENT)
        ads = market.keyword_ads(keyword)
        return {"results": ads, "number_of_ads": len(ads), "search_type": "keyword"}

    return await _serve(request, "search_meta_ads_by_keyword", respond)


@router.post("/google")
async def google(request: Request) -> Response:
    def respond(body: dict[str, Any], known: Known) -> Response | dict[str, Any]:
        domain = normalize_domain(_text(body, "company_domain"))
        if not domain:
            return {"ads": [], "message": "company_domain is required"}
        ads = market.ads(domain, "google") if known(domain) else []
        media_type = _text(body, "media_type").lower()
        if media_type:
            ads = [ad for ad in ads if ad["format"] == media_type]
        if not ads:
            return Response(status_code=NO_CONTENT)
        page, token = _page(ads, _text(body, "continuation_token"), "gg")
        return {"ads": page, "continuation_token": token, "country_code": "anywhere"}

    return await _serve(request, "search_google_ads", respond)
