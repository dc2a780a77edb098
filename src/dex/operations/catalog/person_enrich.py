"""``person.enrich.profile``: a person's full profile — Prospeo, then AmpleLeads when the
work history is asked for, then LeadMagic; the first provider that finds the person wins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, field_validator

from dex.operations.engine import Invocation, Outcome
from dex.operations.inputs import OperationInput
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import ampleleads, leadmagic, prospeo
from dex.providers.base import AdapterResult, skipped

COMPANY_IDENTIFIERS = ("company_domain", "company_name", "company_linkedin_url")


class PersonEnrichProfileOutput(BaseModel):
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    linkedin_url: str | None = None
    headline: str | None = None
    current_title: str | None = None
    seniority: str | None = None
    department: str | None = None
    bio: str | None = None
    location: str | None = None
    country: str | None = None
    current_company_name: str | None = None
    current_company_domain: str | None = None
    current_company_linkedin_url: str | None = None
    work_history: list[dict[str, Any]] | None = None
    education: list[dict[str, Any]] | None = None
    skills: list[str] | None = None
    certifications: list[dict[str, Any]] | None = None
    honors: list[dict[str, Any]] | None = None
    recommendations: list[dict[str, Any]] | None = None
    people_also_viewed: list[dict[str, Any]] | None = None
    email: str | None = None
    email_status: str | None = None
    mobile_phone: str | None = None
    mobile_status: str | None = None
    total_tenure_years: str | None = None
    connections_count: int | None = None
    follower_count: int | None = None
    source_provider: str

    @field_validator("total_tenure_years", mode="before")
    @classmethod
    def _tenure_as_text(cls, value: Any) -> Any:
        """Providers report tenure as a number or a string; the contract keeps the seed system's string."""
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def wants_work_history(inv: Invocation) -> bool:
    """``include_work_history`` from the step options, ``input.step_config`` or the input itself, as a
    boolean or a "true"/"yes"/"1"/"on" string."""
    flag = inv.option("include_work_history")
    return OperationInput({"include_work_history": flag}).boolean("include_work_history")


async def from_prospeo(inv: Invocation) -> AdapterResult:
    if inv.spec.requirements.missing(inv.input):
        # Prospeo's eligibility rule is the operation's requirement (see the spec below).
        return skipped(inv.providers, "prospeo", "enrich_person", "missing_required_inputs")
    text = inv.input.text
    return await prospeo.enrich_person(
        inv.providers,
        first_name=text("first_name"),
        last_name=text("last_name"),
        full_name=text("full_name"),
        linkedin_url=text("linkedin_url"),
        email=text("email"),
        person_id=text("person_id"),
        company_name=text("company_name"),
        company_website=text("company_domain"),
        company_linkedin_url=text("company_linkedin_url"),
    )


async def from_ampleleads(inv: Invocation) -> AdapterResult | None:
    """Only asked for the work history, and only with a LinkedIn URL."""
    if not wants_work_history(inv):
        return None
    linkedin_url = inv.input.text("linkedin_url")
    if linkedin_url is None:
        return skipped(inv.providers, "ampleleads", "enrich_person", "missing_required_inputs")
    return await ampleleads.enrich_person(inv.providers, linkedin_url=linkedin_url)


async def from_leadmagic(inv: Invocation) -> AdapterResult:
    linkedin_url = inv.input.text("linkedin_url")
    if linkedin_url is None:
        return skipped(inv.providers, "leadmagic", "enrich_person", "missing_required_inputs")
    return await leadmagic.enrich_person(inv.providers, profile_url=linkedin_url)


PROFILE_SOURCES: tuple[Callable[[Invocation], Awaitable[AdapterResult | None]], ...] = (
    from_prospeo,
    from_ampleleads,
    from_leadmagic,
)


async def enrich_profile(inv: Invocation) -> Outcome:
    for source in PROFILE_SOURCES:
        result = await source(inv)
        if result is not None and result.status == "found" and result.mapped:
            return Outcome("found", {**result.mapped, "source_provider": result.attempt.provider})
    return Outcome("not_found")


OPERATIONS = [
    OperationSpec(
        operation_id="person.enrich.profile",
        entity_type="person",
        category="enrich",
        description=(
            "A person's profile: title, seniority, work history, education, skills, email and phone "
            "(Prospeo, then AmpleLeads when include_work_history is set, then LeadMagic; first match wins)."
        ),
        # Prospeo's eligibility rule: a LinkedIn URL, an email or a Prospeo person id
        # alone, or a first and last name (given, or split from full_name) with any company identifier.
        # It is no gate: without it each provider skips and the operation is not_found, as the original.
        gate_inputs=False,
        requirements=Requirements(
            any_of=(
                "linkedin_url",
                "email",
                "person_id",
                *(f"first_name+last_name+{company}" for company in COMPANY_IDENTIFIERS),
            )
        ),
        produces=tuple(PersonEnrichProfileOutput.model_fields),
        providers=("prospeo", "ampleleads", "leadmagic"),
        strategy="waterfall",
        cost_tier="medium",
        output_contract=PersonEnrichProfileOutput,
        handler=enrich_profile,
        optional_inputs=("full_name", "include_work_history"),
        options=("include_work_history",),
    ),
]
