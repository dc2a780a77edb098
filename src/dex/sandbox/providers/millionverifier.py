"""MillionVerifier emulation: ``GET /api/v3`` with the key in the ``api`` query parameter."""

from __future__ import annotations

from fastapi import APIRouter, Request

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.world import email_status

router = APIRouter(prefix="/millionverifier", tags=["millionverifier"])


@router.get("/api/v3")
async def verify(request: Request, email: str = "", api: str = "", timeout: int = 10):
    def answer() -> dict:
        result = email_status(email)
        return {
            "email": email,
            "quality": {"ok": "good", "catch_all": "risky", "unknown": "risky"}.get(result, "bad"),
            "result": result,
            "resultcode": {"ok": 1, "catch_all": 2, "unknown": 3, "invalid": 6}.get(result, 5),
            "subresult": result,
            "free": False,
            "role": email.split("@")[0] in {"info", "sales", "support", "admin"},
            "didyoumean": "",
            "credits": 1000,
            "executiontime": 1,
            "error": "" if "@" in email else "Invalid email address",
            "livemode": True,
        }

    return await sandbox_state(request).handle(
        request,
        "millionverifier",
        "verify_email",
        authorized=api == sandbox_credential("millionverifier"),
        answer=answer,
    )


@router.get("/api/v3/credits")
async def credits(request: Request, api: str = ""):
    """Free; the sandbox account never runs out."""
    return await sandbox_state(request).handle(
        request,
        "millionverifier",
        "credits",
        authorized=api == sandbox_credential("millionverifier"),
        answer=lambda: {"credits": 10_000},
        billable=False,
    )
