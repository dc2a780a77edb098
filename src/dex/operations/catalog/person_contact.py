"""Person contact operations: resolving a work email (then verifying it), verifying an email, resolving a
mobile phone."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from dex.normalize import normalize_email
from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import blitzapi, icypeas, leadmagic, millionverifier, parallel, reoon
from dex.providers.base import AdapterResult, skipped


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str
    status: str | None
    inconclusive: bool
    raw_response: dict[str, Any] | None = None


class VerifyEmailOutput(BaseModel):
    email: str
    verification: Verification | None
    email_status: str | None = None


class ResolveEmailOutput(BaseModel):
    email: str | None
    source_provider: str | None
    verification: Verification | None
    email_status: str | None = None


class ResolveMobilePhoneOutput(BaseModel):
    mobile_phone: str | None
    source_provider: str | None


# Deliverable in every verifier's vocabulary (MillionVerifier "ok", Reoon "safe").
DELIVERABLE = {"ok", "safe", "valid", "deliverable"}


async def verify_address(inv: Invocation, email: str) -> dict[str, Any] | None:
    """MillionVerifier, then Reoon when MillionVerifier gave nothing or an inconclusive verdict; a Reoon
    verdict replaces MillionVerifier's."""
    settings = inv.settings
    first = await millionverifier.verify_email(
        inv.providers, email=email, timeout_seconds=settings.millionverifier_timeout_seconds
    )
    verification = first.mapped
    if verification is None or verification["inconclusive"]:
        second = await reoon.verify_email(inv.providers, email=email, mode=settings.reoon_mode)
        if second.mapped is not None:
            verification = second.mapped
    return verification


def email_status_of(verification: dict[str, Any] | None) -> str | None:
    """The verdict normalized across verifiers: deliverable, risky (inconclusive) or undeliverable."""
    if verification is None or verification.get("status") is None:
        return None
    if verification["status"] in DELIVERABLE:
        return "deliverable"
    return "risky" if verification["inconclusive"] else "undeliverable"


def found_value(result: AdapterResult, key: str) -> Any:
    """``result.mapped[key]`` when the provider found something, else None."""
    return result.mapped.get(key) if result.status == "found" and result.mapped else None


async def find_email(inv: Invocation) -> tuple[str | None, str | None]:
    """The first address of LeadMagic, Icypeas, Parallel (in that order) and its finder.
    A finder lacking an input it needs records a skipped attempt."""
    first, last, full = (inv.input.text(key) for key in ("first_name", "last_name", "full_name"))
    domain, company_name = inv.input.text("company_domain"), inv.input.text("company_name")
    ctx, settings = inv.providers, inv.settings
    finders = (
        lambda: leadmagic.resolve_email(
            ctx, first_name=first, last_name=last, full_name=full, domain=domain, company_name=company_name
        ),
        lambda: icypeas.find_email(
            ctx,
            first_name=first,
            last_name=last,
            domain_or_company=domain or company_name,
            poll_interval_ms=settings.icypeas_poll_interval_ms,
            max_wait_ms=settings.icypeas_max_wait_ms,
        ),
        lambda: parallel.find_email(
            ctx, full_name=full, company=company_name or domain, processor=settings.parallel_processor
        ),
    )
    for finder in finders:
        result = await finder()
        email = normalize_email(found_value(result, "email") or "")
        if email:
            return email, result.attempt.provider
    return None, None


async def resolve_email(inv: Invocation) -> Outcome:
    email, source_provider = await find_email(inv)
    verification = await verify_address(inv, email) if email else None
    output = {
        "email": email,
        "source_provider": source_provider,
        "verification": verification,
        "email_status": email_status_of(verification),
    }
    return Outcome("found" if email else "not_found", output)


async def leadmagic_mobile(inv: Invocation) -> AdapterResult:
    return await leadmagic.resolve_mobile_phone(
        inv.providers,
        profile_url=inv.input.text("linkedin_url"),
        work_email=inv.input.text("work_email"),
        personal_email=inv.input.text("personal_email"),
    )


async def blitzapi_mobile(inv: Invocation) -> AdapterResult:
    """BlitzAPI looks a phone up by LinkedIn URL only; without one a skipped attempt says why."""
    linkedin_url = inv.input.text("linkedin_url")
    if linkedin_url is None:
        return skipped(inv.providers, "blitzapi", "resolve_mobile_phone", "missing_required_inputs")
    return await blitzapi.resolve_mobile_phone(inv.providers, person_linkedin_url=linkedin_url)


MOBILE_FINDERS = {"leadmagic": leadmagic_mobile, "blitzapi": blitzapi_mobile}


async def resolve_mobile_phone(inv: Invocation) -> Outcome:
    """The first mobile number of the providers in ``PERSON_RESOLVE_MOBILE_ORDER``."""
    for provider in inv.provider_order():
        mobile_phone = found_value(await MOBILE_FINDERS[provider](inv), "mobile_phone")
        if mobile_phone:
            return Outcome("found", {"mobile_phone": mobile_phone, "source_provider": provider})
    return Outcome("not_found", {"mobile_phone": None, "source_provider": None})


async def verify_email(inv: Invocation) -> Outcome:
    email = inv.input.text("email")
    assert email is not None  # guaranteed by the registry requirements
    verification = await verify_address(inv, email)
    output = {"email": email, "verification": verification, "email_status": email_status_of(verification)}
    return Outcome("verified" if verification else "failed", output)


OPERATIONS = [
    OperationSpec(
        operation_id="person.contact.resolve_email",
        entity_type="person",
        category="contact",
        description=(
            "Find a person's work email (LeadMagic, then Icypeas, then Parallel; first address wins) and "
            "verify it (MillionVerifier, then Reoon)."
        ),
        requirements=Requirements(all_of=("first_name|last_name|full_name", "company_domain|company_name")),
        produces=("email", "source_provider", "verification", "email_status"),
        providers=("leadmagic", "icypeas", "parallel", "millionverifier", "reoon"),
        strategy="waterfall",
        cost_tier="low",
        output_contract=ResolveEmailOutput,
        handler=resolve_email,
    ),
    OperationSpec(
        operation_id="person.contact.resolve_mobile_phone",
        entity_type="person",
        category="contact",
        description=(
            "Find a person's mobile phone number from their LinkedIn URL or email (LeadMagic, then BlitzAPI "
            "by default; BlitzAPI needs the LinkedIn URL)."
        ),
        requirements=Requirements(any_of=("linkedin_url", "work_email", "personal_email")),
        produces=("mobile_phone", "source_provider"),
        providers=("leadmagic", "blitzapi"),
        strategy="waterfall",
        cost_tier="medium",
        output_contract=ResolveMobilePhoneOutput,
        handler=resolve_mobile_phone,
        order_setting="person_resolve_mobile_order",
    ),
    OperationSpec(
        operation_id="person.contact.verify_email",
        entity_type="person",
        category="contact",
        description="Verify that an email address is deliverable (MillionVerifier, then Reoon).",
        requirements=Requirements(all_of=("email",)),
        produces=("email", "verification", "email_status"),
        providers=("millionverifier", "reoon"),
        strategy="waterfall",
        cost_tier="low",
        output_contract=VerifyEmailOutput,
        handler=verify_email,
    ),
]
