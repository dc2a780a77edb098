"""Reoon — GET ``/api/v1/verify?email=<e>&key=<key>&mode=<mode>``."""

from __future__ import annotations

from typing import Any

from dex.providers.accounts import AccountProbe, ProbeRequest, number
from dex.providers.base import AdapterResult, ProviderCall, adapter

INCONCLUSIVE = {"unknown", "catch_all", ""}


@adapter("reoon", "verify_email")
async def verify_email(call: ProviderCall, *, email: str, mode: str = "power") -> AdapterResult:
    response = await call.request(
        "GET", "/api/v1/verify", params={"email": email, "key": call.key, "mode": mode}
    )
    body = response.json_body
    complaint = next(
        (body[k] for k in ("message", "error") if isinstance(body.get(k), str) and body[k].strip()), None
    )
    if not response.ok or complaint:
        return call.failed_response(response, provider_status=complaint)
    status = str(body.get("status") or "").strip().lower()
    mapped = {
        "provider": "reoon",
        "status": status or None,
        "inconclusive": status in INCONCLUSIVE,
        "raw_response": body,
    }
    return call.result("verified", response, mapped=mapped, provider_status=status or None)


def _reoon_credits(body: dict[str, Any]) -> float | None:
    """Reoon keeps daily and instant (bought) credits apart; a check reports their sum."""
    parts = [number(body.get(key)) for key in ("remaining_daily_credits", "remaining_instant_credits")]
    known = [part for part in parts if part is not None]
    return sum(known) if known else None


# Reoon's balance endpoint is free.
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/api/v1/check-account-balance/",
    lambda credentials: ProbeRequest(params={"key": credentials[0]}),
    credits=_reoon_credits,
)
