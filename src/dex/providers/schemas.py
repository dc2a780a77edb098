"""API models of the provider key check (``POST /api/super-admin/providers/check``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dex.providers.accounts import KeyStatus


class ProviderCheckRequest(BaseModel):
    providers: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Providers to check; empty checks every provider with a key configured.",
    )


class KeyCheckOut(BaseModel):
    provider: str
    status: KeyStatus
    ok: bool
    message: str
    http_status: int | None = None
    credits_remaining: float | None = Field(
        default=None, description="As the provider reports it, if it does."
    )
    probe: str | None = Field(default=None, description="The call that checked the key, and what it costs.")


class ProviderCheckOut(BaseModel):
    mode: str = Field(description="live, or sandbox when dex points every provider at its emulator.")
    nothing_configured: bool = Field(description="True when no provider has a key: nothing was checked.")
    results: list[KeyCheckOut]
