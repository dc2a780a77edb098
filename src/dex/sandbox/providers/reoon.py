"""Reoon emulation: ``GET /api/v1/verify`` with the key in the ``key`` query parameter."""

from __future__ import annotations

from fastapi import APIRouter, Request

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.world import email_status

router = APIRouter(prefix="/reoon", tags=["reoon"])

# MillionVerifier's verdicts in Reoon's vocabulary.
REOON_STATUS = {"ok": "safe", "catch_all": "catch_all", "unknown": "unknown", "invalid": "invalid"}


@router.get("/api/v1/verify")
async def verify(request: Request, email: str = "", key: str = "", mode: str = "power"):
    def answer() -> dict:
        if "@" not in email:
            return {"status": "error", "message": "Invalid email address"}
        verdict = REOON_STATUS.get(email_status(email), "unknown")
        # Power mode resolves half of the catch-alls/unknowns MillionVerifier leaves open.
        if mode == "power" and verdict in {"catch_all", "unknown"} and len(email) % 2 == 0:
            verdict = "safe"
        return {
            "email": email,
            "status": verdict,
            "overall_score": {"safe": 95, "catch_all": 60, "unknown": 50}.get(verdict, 5),
            "is_safe_to_send": verdict == "safe",
            "is_deliverable": verdict in {"safe", "catch_all"},
            "is_catch_all": verdict == "catch_all",
            "mx_accepts_mail": verdict != "invalid",
            "verification_mode": mode,
        }

    return await sandbox_state(request).handle(
        request, "reoon", "verify_email", authorized=key == sandbox_credential("reoon"), answer=answer
    )


@router.get("/api/v1/check-account-balance/")
async def account_balance(request: Request, key: str = ""):
    """Free; the sandbox account never runs out."""
    return await sandbox_state(request).handle(
        request,
        "reoon",
        "account_balance",
        authorized=key == sandbox_credential("reoon"),
        answer=lambda: {
            "api_status": "active",
            "remaining_daily_credits": 500,
            "remaining_instant_credits": 9_500,
            "status": "success",
        },
        billable=False,
    )
