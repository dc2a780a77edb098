"""Person contact operations: email verification (and, alongside, resolution and mobile phones)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import OperationSpec, Requirements
from dex.providers import millionverifier, reoon


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


# Deliverable in every verifier's vocabulary (MillionVerifier "ok", Reoon "safe").
DELIVERABLE = {"ok", "safe", "valid", "deliverable"}


async def verify_address(inv: Invocation, email: str) -> dict[str, Any] | None:
    """MillionVerifier, then Reoon when MillionVerifier gave nothing or an inconclusive verdict; a Reoon
    verdict replaces MillionVerifier's (reference §8.4.1)."""
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


async def verify_email(inv: Invocation) -> Outcome:
    email = inv.input.text("email")
    assert email is not None  # guaranteed by the registry requirements
    verification = await verify_address(inv, email)
    output = {"email": email, "verification": verification, "email_status": email_status_of(verification)}
    return Outcome("verified" if verification else "failed", output)


OPERATIONS = [
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
