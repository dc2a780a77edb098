"""Company ads on LinkedIn, Meta and Google (Adyntel).

An Adyntel error makes the operation ``failed`` — the seed system reported it as ``not_found`` (its bug #31),
which told callers "this company runs no ads" when nobody had looked. ``not_found`` means Adyntel answered
that it knows no ads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from dex.operations.catalog.common import operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import adyntel
from dex.providers.base import AdapterResult


class LinkedInAdsOutput(BaseModel):
    ads: list[dict[str, Any]]
    ads_count: int
    continuation_token: str | None = None
    is_last_page: bool | None = None
    page_id: str | None = None
    total_ads: int | None = None


class MetaAdsOutput(BaseModel):
    results: list[dict[str, Any]]
    results_count: int
    continuation_token: str | None = None
    number_of_ads: int | None = None
    is_result_complete: bool | None = None
    search_type: str | None = None
    endpoint_used: str


class GoogleAdsOutput(BaseModel):
    ads: list[dict[str, Any]]
    ads_count: int
    continuation_token: str | None = None
    country_code: str | None = None


def identifier(inv: Invocation, key: str) -> str | None:
    """An id that callers send as a string or a number (LinkedIn page ids)."""
    number = inv.input.integer(key)
    return inv.input.text(key) or (str(number) if number is not None else None)


def outcome(result: AdapterResult, list_key: str, **extra: Any) -> Outcome:
    """The ads (under ``list_key``, with their count) and the paging fields Adyntel returned."""
    status = operation_status(result)
    if status == "failed":
        return Outcome("failed")
    mapped = dict(result.mapped or {})
    ads = mapped.pop("ads", [])
    return Outcome(status, {list_key: ads, f"{list_key}_count": len(ads), **mapped, **extra})


async def linkedin_ads(inv: Invocation) -> Outcome:
    result = await adyntel.search_linkedin_ads(
        inv.providers,
        company_domain=inv.input.text("company_domain"),
        linkedin_page_id=identifier(inv, "linkedin_page_id"),
        continuation_token=inv.input.text("continuation_token"),
        timeout_seconds=inv.settings.adyntel_timeout_seconds,
    )
    return outcome(result, "ads")


async def meta_ads(inv: Invocation) -> Outcome:
    """A keyword search when a keyword is given (it names what to look for explicitly), else the ads of the
    company's domain or Facebook page."""
    keyword, country_code = inv.input.text("keyword"), inv.input.text("country_code")
    if keyword:
        result = await adyntel.search_meta_ads_by_keyword(
            inv.providers,
            keyword=keyword,
            country_code=country_code,
            timeout_seconds=inv.settings.adyntel_timeout_seconds,
        )
        return outcome(result, "results", endpoint_used="facebook_ad_search")
    result = await adyntel.search_meta_ads(
        inv.providers,
        company_domain=inv.input.text("company_domain"),
        facebook_url=inv.input.text("facebook_url"),
        continuation_token=inv.input.text("continuation_token"),
        media_type=inv.input.text("media_type"),
        country_code=country_code,
        active_status=inv.input.text("active_status"),
        timeout_seconds=inv.settings.adyntel_timeout_seconds,
    )
    return outcome(result, "results", endpoint_used="facebook")


async def google_ads(inv: Invocation) -> Outcome:
    result = await adyntel.search_google_ads(
        inv.providers,
        company_domain=inv.input.text("company_domain"),
        media_type=inv.input.text("media_type"),
        continuation_token=inv.input.text("continuation_token"),
        timeout_seconds=inv.settings.adyntel_timeout_seconds,
    )
    return outcome(result, "ads")


def ads_operation(
    network: str,
    description: str,
    requirements: Requirements,
    optional_inputs: tuple[str, ...],
    output_contract: type[BaseModel],
    handler: Callable[[Invocation], Awaitable[Outcome]],
) -> OperationSpec:
    return OperationSpec(
        operation_id=f"company.ads.search.{network}",
        entity_type="company",
        category="ads",
        description=description,
        requirements=requirements,
        optional_inputs=optional_inputs,
        produces=tuple(output_contract.model_fields),
        providers=(adyntel.PROVIDER,),
        strategy="single",
        cost_tier="medium",
        output_contract=output_contract,
        handler=handler,
    )


OPERATIONS = [
    ads_operation(
        "linkedin",
        "The company's LinkedIn ads, by domain or LinkedIn page id (Adyntel); page with continuation_token.",
        Requirements(any_of=("company_domain", "linkedin_page_id")),
        ("continuation_token",),
        LinkedInAdsOutput,
        linkedin_ads,
    ),
    ads_operation(
        "meta",
        "Meta (Facebook/Instagram) ads: by keyword when one is given, else by the company's domain or "
        "Facebook page URL (Adyntel).",
        Requirements(any_of=("company_domain", "facebook_url", "keyword")),
        ("continuation_token", "media_type", "country_code", "active_status"),
        MetaAdsOutput,
        meta_ads,
    ),
    ads_operation(
        "google",
        "The company's Google ads (Adyntel); page with continuation_token, filter with media_type.",
        Requirements(all_of=("company_domain",)),
        ("media_type", "continuation_token"),
        GoogleAdsOutput,
        google_ads,
    ),
]
