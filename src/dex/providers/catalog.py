"""What dex knows about each provider: where it lives, which settings hold its credentials, what a call
costs, and its default limits. Adapters (one module per provider) hold the request/response mapping."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from dex.providers.http import ProviderLimits


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    base_url: str
    # Settings attributes holding the credentials, in the order the adapter needs them.
    credential_settings: tuple[str, ...]
    # Credits per answered call, by action; "*" is the default for the provider's other actions.
    prices: dict[str, Decimal] = field(default_factory=dict)
    limits: ProviderLimits = field(default_factory=ProviderLimits)

    def price(self, action: str) -> Decimal:
        return self.prices.get(action, self.prices.get("*", Decimal("0")))


def _credits(**prices: float) -> dict[str, Decimal]:
    return {("*" if action == "default" else action): Decimal(str(value)) for action, value in prices.items()}


PROVIDERS: dict[str, ProviderInfo] = {
    info.name: info
    for info in (
        ProviderInfo("prospeo", "https://api.prospeo.io", ("prospeo_api_key",), _credits(default=1)),
        ProviderInfo("blitzapi", "https://api.blitz-api.ai", ("blitzapi_api_key",), _credits(default=1)),
        ProviderInfo(
            "companyenrich", "https://api.companyenrich.com", ("companyenrich_api_key",), _credits(default=1)
        ),
        ProviderInfo("leadmagic", "https://api.leadmagic.io", ("leadmagic_api_key",), _credits(default=1)),
        ProviderInfo(
            "icypeas", "https://app.icypeas.com/api", ("icypeas_api_key",), _credits(default=1, poll=0)
        ),
        ProviderInfo(
            "millionverifier",
            "https://api.millionverifier.com",
            ("millionverifier_api_key",),
            _credits(default=0.5),
        ),
        ProviderInfo(
            "reoon",
            "https://emailverifier.reoon.com",
            ("reoon_api_key",),
            _credits(default=0.5),
            ProviderLimits(timeout_seconds=90),
        ),
        ProviderInfo(
            "parallel", "https://api.parallel.ai", ("parallel_api_key",), _credits(default=2, poll=0)
        ),
        ProviderInfo("ampleleads", "https://api.ampleleads.io", ("ampleleads_api_key",), _credits(default=1)),
        ProviderInfo(
            "adyntel",
            "https://api.adyntel.com",
            ("adyntel_api_key", "adyntel_account_email"),
            _credits(default=1),
            ProviderLimits(timeout_seconds=90),
        ),
        ProviderInfo(
            "storeleads",
            "https://storeleads.app/json/api/v1/all",
            ("storeleads_api_key",),
            _credits(default=1),
            # Store search scans StoreLeads' whole index; it documents answers within 45 s.
            ProviderLimits(timeout_seconds=45),
        ),
        ProviderInfo("enigma", "https://api.enigma.com", ("enigma_api_key",), _credits(default=2)),
        # FMCSA's QCMobile is free; the nominal price keeps its calls visible in usage and budgets.
        ProviderInfo(
            "fmcsa", "https://mobile.fmcsa.dot.gov/qc/services", ("fmcsa_api_key",), _credits(default=0.01)
        ),
        ProviderInfo(
            "theirstack", "https://api.theirstack.com", ("theirstack_api_key",), _credits(default=1)
        ),
        ProviderInfo(
            "courtlistener",
            "https://www.courtlistener.com/api/rest/v4",
            ("courtlistener_api_key",),
            _credits(default=0.1),
        ),
        # EDGAR is free; the nominal price keeps filing downloads visible in usage and budgets.
        ProviderInfo(
            "sec",
            "https://www.sec.gov",
            ("sec_user_agent",),
            _credits(default=0.01),
            ProviderLimits(rate_per_second=10),
        ),
        ProviderInfo("shovels", "https://api.shovels.ai", ("shovels_api_key",), _credits(default=1)),
        ProviderInfo(
            "gemini", "https://generativelanguage.googleapis.com", ("gemini_api_key",), _credits(default=0.1)
        ),
        ProviderInfo("openai", "https://api.openai.com", ("openai_api_key",), _credits(default=0.2)),
        ProviderInfo("anthropic", "https://api.anthropic.com", ("anthropic_api_key",), _credits(default=0.2)),
        ProviderInfo(
            "revenueinfra",
            "https://api.revenueinfra.com",
            (),
            _credits(default=0.5),
            ProviderLimits(timeout_seconds=180),
        ),
    )
}


def configured_limits() -> dict[str, ProviderLimits]:
    """Per-provider limits: catalog defaults, overridden by ``DEX_PROVIDER_LIMITS`` (JSON, e.g.
    ``{"prospeo": {"concurrency": 10, "rate_per_second": 5}}``)."""
    overrides = json.loads(os.environ.get("DEX_PROVIDER_LIMITS", "{}") or "{}")
    limits = {}
    for name, info in PROVIDERS.items():
        base = info.limits.__dict__ | overrides.get(name, {})
        limits[name] = ProviderLimits(**base)
    return limits


@lru_cache
def _price_overrides() -> dict[str, dict[str, float]]:
    return json.loads(os.environ.get("DEX_PROVIDER_PRICES", "{}") or "{}")


def price_of(provider: str, action: str) -> Decimal:
    """Credits of one answered call; ``DEX_PROVIDER_PRICES`` (JSON ``{"prospeo": {"*": 1.5}}``) overrides."""
    overrides = _price_overrides().get(provider, {})
    if action in overrides or "*" in overrides:
        return Decimal(str(overrides.get(action, overrides.get("*"))))
    info = PROVIDERS.get(provider)
    return info.price(action) if info else Decimal("0")
