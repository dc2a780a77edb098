"""MillionVerifier — GET ``/api/v3?api=<key>&email=<e>&timeout=<s>``."""

from __future__ import annotations

from dex.providers.accounts import AccountProbe, ProbeRequest, number
from dex.providers.base import AdapterResult, ProviderCall, adapter

INCONCLUSIVE = {"unknown", "catch_all", ""}


@adapter("millionverifier", "verify_email")
async def verify_email(call: ProviderCall, *, email: str, timeout_seconds: int = 10) -> AdapterResult:
    response = await call.request(
        "GET",
        "/api/v3",
        params={"api": call.key, "email": email, "timeout": timeout_seconds},
        timeout_seconds=timeout_seconds + 5,
    )
    body = response.json_body
    error = body.get("error")
    if not response.ok or (isinstance(error, str) and error.strip()):
        return call.failed_response(response, provider_status=error if isinstance(error, str) else None)
    result = str(body.get("result") or "").strip().lower()
    mapped = {
        "provider": "millionverifier",
        "status": result or None,
        "inconclusive": result in INCONCLUSIVE,
        "raw_response": body,
    }
    return call.result("verified", response, mapped=mapped, provider_status=result or None)


# MillionVerifier's credits endpoint is free.
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/api/v3/credits",
    lambda credentials: ProbeRequest(params={"api": credentials[0]}),
    credits=lambda body: number(body.get("credits")),
)
