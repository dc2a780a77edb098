"""Company enrichment: the merged firmographic profile and LeadMagic technographics.

``company.enrich.profile`` asks Prospeo, BlitzAPI, CompanyEnrich and LeadMagic in the configured order and
merges their answers field by field (the first provider to supply a field wins). Unlike the seed system it
stops as soon as every profile field is known: a later provider could only repeat what the profile holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import blitzapi, companyenrich, leadmagic, prospeo
from dex.providers.base import AdapterResult, skipped


class CompanyProfile(BaseModel):
    """The canonical company profile."""

    company_name: str | None = None
    company_domain: str | None = None
    company_website: str | None = None
    company_linkedin_url: str | None = None
    company_linkedin_id: str | None = None
    company_type: str | None = None
    industry_primary: str | None = None
    industry_derived: list[str] | str | None = None
    employee_count: int | str | None = None
    employee_range: str | None = None
    founded_year: int | None = None
    hq_locality: str | None = None
    hq_country_code: str | None = None
    description_raw: str | None = None
    specialties: list[str] | str | None = None
    annual_revenue_range: str | None = None
    follower_count: int | str | None = None
    logo_url: str | None = None
    source_company_id: str | int | None = None


PROFILE_FIELDS = tuple(CompanyProfile.model_fields)
_FIELD_TYPES = {
    name: TypeAdapter(field.annotation or Any) for name, field in CompanyProfile.model_fields.items()
}
# The profile fields that identify the company; what one provider finds, the next one is asked with.
IDENTIFIERS = (
    "company_domain",
    "company_website",
    "company_linkedin_url",
    "company_name",
    "source_company_id",
)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def company_fields(mapped: Any) -> dict[str, Any]:
    """The non-empty profile fields of an adapter's mapped company whose values have the canonical type;
    a malformed value from a provider is dropped rather than allowed to fail the whole operation."""
    if not isinstance(mapped, dict):
        return {}
    usable = {}
    for name, field_type in _FIELD_TYPES.items():
        value = mapped.get(name)
        if is_empty(value) or isinstance(value, bool):
            continue
        try:
            usable[name] = field_type.validate_python(value)
        except ValidationError:
            continue
    return usable


class CompanyEnrichProfileOutput(CompanyProfile):
    """The known profile fields flattened at the top level, plus the whole profile and its sources."""

    company_profile: CompanyProfile | None = None
    source_providers: list[str] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _unknown_fields_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A null at the top level would overwrite a value the pipeline context already holds.
        data = handler(self)
        return {key: value for key, value in data.items() if value is not None or key not in PROFILE_FIELDS}


def _source_company_id(inv: Invocation) -> str | None:
    """The seed system allows a string or a number here."""
    value = inv.input.raw.get("source_company_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return inv.input.text("source_company_id")


ProfileSource = Callable[[Invocation, dict[str, str | None]], Awaitable[AdapterResult | None]]


async def _from_prospeo(inv: Invocation, ids: dict[str, str | None]) -> AdapterResult:
    # The normalized domain rather than the URL it came from: one cache entry per company, not per URL.
    return await prospeo.enrich_company(
        inv.providers,
        company_website=ids["company_domain"] or ids["company_website"],
        company_linkedin_url=ids["company_linkedin_url"],
        company_name=ids["company_name"],
        company_id=ids["source_company_id"],
    )


async def company_linkedin_url(
    inv: Invocation, linkedin_url: str | None, domain: str | None, *, action: str
) -> str | None:
    """The company LinkedIn URL a BlitzAPI ``action`` needs: the known one, else the domain bridged to it
    through BlitzAPI (an attempt of its own). With neither, ``action`` is recorded as skipped."""
    if linkedin_url:
        return linkedin_url
    if domain:
        bridge = await blitzapi.domain_to_linkedin(inv.providers, domain=domain)
        return bridge.mapped["company_linkedin_url"] if bridge.status == "found" else None
    skipped(inv.providers, "blitzapi", action, "missing_required_inputs")
    return None


async def _from_blitzapi(inv: Invocation, ids: dict[str, str | None]) -> AdapterResult | None:
    url = await company_linkedin_url(
        inv, ids["company_linkedin_url"], ids["company_domain"], action="enrich_company"
    )
    if url is None:
        return None
    ids["company_linkedin_url"] = url
    return await blitzapi.enrich_company(inv.providers, company_linkedin_url=url)


async def _from_companyenrich(inv: Invocation, ids: dict[str, str | None]) -> AdapterResult:
    if not ids["company_domain"]:
        return skipped(inv.providers, "companyenrich", "enrich_company", "missing_required_inputs")
    return await companyenrich.enrich_company(inv.providers, domain=ids["company_domain"])


async def _from_leadmagic(inv: Invocation, ids: dict[str, str | None]) -> AdapterResult:
    return await leadmagic.enrich_company(
        inv.providers,
        company_domain=ids["company_domain"],
        profile_url=ids["company_linkedin_url"],
        company_name=ids["company_name"],
    )


PROFILE_SOURCES: dict[str, ProfileSource] = {
    "prospeo": _from_prospeo,
    "blitzapi": _from_blitzapi,
    "companyenrich": _from_companyenrich,
    "leadmagic": _from_leadmagic,
}


def settled_status(found: bool, inv: Invocation) -> str:
    """found; else not_found when some provider answered, failed when none could (all failed/skipped) —
    "nothing known" must not be reported when nobody was actually asked."""
    if found:
        return "found"
    answered = any(attempt.status in ("found", "not_found") for attempt in inv.providers.attempts)
    return "not_found" if answered else "failed"


async def enrich_profile(inv: Invocation) -> Outcome:
    ids: dict[str, str | None] = {key: inv.input.text(key) for key in IDENTIFIERS}
    ids["source_company_id"] = _source_company_id(inv)
    profile: dict[str, Any] = {}
    sources: list[str] = []
    for provider in inv.provider_order():
        if len(profile) == len(PROFILE_FIELDS):
            break
        result = await PROFILE_SOURCES[provider](inv, ids)
        found = company_fields(result.mapped) if result is not None and result.status == "found" else {}
        if not found:
            continue
        sources.append(provider)
        for name, value in found.items():
            profile.setdefault(name, value)
        for key in IDENTIFIERS:
            if not ids[key] and key in profile:
                ids[key] = str(profile[key])
    output = {**profile, "company_profile": profile or None, "source_providers": sources}
    return Outcome(settled_status(bool(profile), inv), output)


class Technology(BaseModel):
    name: str
    category: str | None = None
    website: str | None = None
    icon: str | None = None


class TechnographicsOutput(BaseModel):
    technologies: list[Technology]
    categories: dict[str, list[str]]
    technology_count: int
    source_provider: str


async def enrich_technographics(inv: Invocation) -> Outcome:
    """Only found / not_found / failed: a skipped attempt (no key) is a failed operation."""
    domain = inv.input.text("company_domain")
    assert domain is not None  # guaranteed by the registry requirements
    result = await leadmagic.technographics(inv.providers, company_domain=domain)
    if result.status not in ("found", "not_found"):
        return Outcome("failed")
    mapped = result.mapped or {"technologies": [], "categories": {}}
    output = {**mapped, "technology_count": len(mapped["technologies"]), "source_provider": "leadmagic"}
    return Outcome(result.status, output)


COMPANY_IDENTIFIER_INPUTS = ("company_domain", "company_linkedin_url", "company_name", "source_company_id")

OPERATIONS = [
    OperationSpec(
        operation_id="company.enrich.profile",
        entity_type="company",
        category="enrich",
        description=(
            "A company's firmographic profile merged across Prospeo, BlitzAPI, CompanyEnrich and LeadMagic "
            "(first provider to know a field wins; stops once the profile is complete)."
        ),
        requirements=Requirements(any_of=COMPANY_IDENTIFIER_INPUTS),
        produces=(*PROFILE_FIELDS, "company_profile", "source_providers"),
        providers=("prospeo", "blitzapi", "companyenrich", "leadmagic"),
        strategy="merge",
        cost_tier="medium",
        output_contract=CompanyEnrichProfileOutput,
        handler=enrich_profile,
        optional_inputs=("company_website",),
        order_setting="company_enrich_profile_order",
    ),
    OperationSpec(
        operation_id="company.enrich.technographics",
        entity_type="company",
        category="enrich",
        description="The technologies a company's website uses, by category (LeadMagic).",
        requirements=Requirements(all_of=("company_domain",)),
        produces=("technologies", "categories", "technology_count", "source_provider"),
        providers=("leadmagic",),
        strategy="single",
        cost_tier="low",
        output_contract=TechnographicsOutput,
        handler=enrich_technographics,
    ),
]
