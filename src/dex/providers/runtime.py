"""Per-process provider runtime: the shared HTTP client, the cache, and where each provider is reached.

*Live* mode calls the real providers with the configured keys. *Sandbox* mode points every provider at
dex's emulator with the keys it accepts (a :class:`SandboxEndpoint` the composition root gives, so this layer
never imports the sandbox); it is chosen explicitly (``DEX_PROVIDER_MODE=sandbox``)
or automatically in embedded mode when no provider key is configured. The choice is logged at startup and
stored on every attempt (``sandbox``)."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from dex.config import Settings
from dex.db.engine import Database
from dex.errors import ConfigurationError
from dex.providers.base import ProviderContext
from dex.providers.cache import EnrichmentCache
from dex.providers.catalog import PROVIDERS, configured_limits
from dex.providers.groupcommit import ProviderGroupCommit
from dex.providers.http import ProviderClient, ProviderLimits, SharedLimiter
from dex.providers.journal import CallJournal, Requester

log = logging.getLogger(__name__)


def provider_mode(settings: Settings) -> str:
    mode = settings.dex_provider_mode.strip().lower()
    if mode in {"live", "sandbox"}:
        return mode
    if mode != "auto":
        raise ConfigurationError(f"DEX_PROVIDER_MODE must be auto, live or sandbox, not {mode!r}")
    any_key = any(getattr(settings, name) for info in PROVIDERS.values() for name in info.credential_settings)
    return "sandbox" if settings.embedded and not any_key else "live"


@dataclass(frozen=True)
class SandboxEndpoint:
    """Where the provider emulator answers, and the credentials it accepts."""

    url: str
    credential: Callable[[str], str]
    account_email: str


class ProviderRuntime:
    def __init__(
        self,
        settings: Settings,
        database: Database | None,
        *,
        sandbox: SandboxEndpoint | None = None,
        limits: dict[str, ProviderLimits] | None = None,
        shared_limiter: SharedLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.mode = provider_mode(settings)
        if self.mode == "sandbox" and sandbox is None:
            raise ConfigurationError("sandbox provider mode needs a sandbox URL (DEX_SANDBOX_URL)")
        self.sandbox_endpoint = sandbox if self.mode == "sandbox" else None
        self.client = ProviderClient(limits or configured_limits(), shared=shared_limiter)
        self.cache: EnrichmentCache | None = None
        self.journal: CallJournal | None = None
        if database is not None:
            # The journal's answer notes and the cache's entries share one group commit.
            statements = ProviderGroupCommit(database)
            self.cache = EnrichmentCache(database, statements)
            self.journal = CallJournal(database, statements)
        self._base_url_overrides: dict[str, str] = json.loads(
            os.environ.get("DEX_PROVIDER_BASE_URLS") or "{}"
        )
        log.info(
            "providers: %s mode%s",
            self.mode,
            f" (sandbox at {self.sandbox_endpoint.url})" if self.sandbox_endpoint else "",
        )

    @property
    def sandbox(self) -> bool:
        return self.sandbox_endpoint is not None

    def credentials(self, provider: str) -> tuple[str, ...] | None:
        info = PROVIDERS[provider]
        if self.sandbox_endpoint:
            endpoint = self.sandbox_endpoint
            return tuple(
                endpoint.account_email if name.endswith("_email") else endpoint.credential(provider)
                for name in info.credential_settings
            )
        values = tuple(getattr(self.settings, name) for name in info.credential_settings)
        return values if all(values) else None

    def base_url(self, provider: str) -> str:
        if self.sandbox_endpoint:
            return f"{self.sandbox_endpoint.url.rstrip('/')}/{provider}"
        if provider in self._base_url_overrides:
            return self._base_url_overrides[provider]
        if provider == "revenueinfra":
            return self.settings.revenueinfra_api_url
        return PROVIDERS[provider].base_url

    def context(
        self,
        org_id: uuid.UUID,
        *,
        use_cache: bool = True,
        requester: Requester | None = None,
        budgeted: bool = False,
    ) -> ProviderContext:
        """``requester`` (who the calls are for) turns on the journal: pass it wherever the operation's
        attempts will be recorded. ``budgeted``: the org or the requester's submission has a budget, so
        every priced request reserves its price first (``dex.providers.journal``)."""
        return ProviderContext(
            org_id=org_id,
            client=self.client,
            credentials=self.credentials,
            base_urls=self.base_url,
            sandbox=self.sandbox,
            cache=self.cache,
            use_cache=use_cache,
            journal=self.journal,
            requester=requester,
            budgeted=budgeted,
        )

    async def close(self) -> None:
        await self.client.close()
