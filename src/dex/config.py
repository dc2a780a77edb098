"""Settings, read from the environment with the seed system's names (no prefix, Doppler-compatible).

With no ``DATABASE_URL`` dex runs in *embedded mode*: it owns a PostgreSQL server under ``DEX_HOME/pg`` and
generates (once) and persists any missing secret under ``DEX_HOME``. With ``DATABASE_URL`` set, secrets are
the operator's job and a missing one is a startup error naming the variable.
"""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dex.errors import ConfigurationError

# Secrets dex cannot run without; embedded mode generates them, server mode requires them.
REQUIRED_SECRETS = ("JWT_SECRET", "SUPER_ADMIN_JWT_SECRET")
# Generated in embedded mode so `dex admin` works out of the box; optional otherwise.
GENERATED_SECRETS = (*REQUIRED_SECRETS, "SUPER_ADMIN_API_KEY")


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "dex"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    dex_home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    database_pool_size: int = 30

    jwt_secret: str | None = None
    super_admin_jwt_secret: str | None = None
    super_admin_api_key: str | None = None
    internal_api_key: str | None = None
    session_ttl_hours: int = 24

    # Provider credentials.
    prospeo_api_key: str | None = None
    blitzapi_api_key: str | None = None
    companyenrich_api_key: str | None = None
    leadmagic_api_key: str | None = None
    icypeas_api_key: str | None = None
    millionverifier_api_key: str | None = None
    reoon_api_key: str | None = None
    parallel_api_key: str | None = None
    ampleleads_api_key: str | None = None
    storeleads_api_key: str | None = None
    enigma_api_key: str | None = None
    theirstack_api_key: str | None = None
    fmcsa_api_key: str | None = None
    courtlistener_api_key: str | None = None
    shovels_api_key: str | None = None
    # SEC EDGAR identifies callers by User-Agent ("Company Name admin@company.com"); its fair-access policy
    # blocks anonymous clients, so it is configured like a credential.
    sec_user_agent: str | None = None
    adyntel_api_key: str | None = None
    adyntel_account_email: str | None = None
    gemini_api_key: str | None = None
    openai_api_key: str | None = None
    anthropic_api_key: str | None = None
    revenueinfra_api_key: str | None = None
    revenueinfra_api_url: str = "https://api.revenueinfra.com"

    # Provider behaviour.
    parallel_processor: str = "core"
    icypeas_poll_interval_ms: int = 2000
    icypeas_max_wait_ms: int = 45000
    millionverifier_timeout_seconds: int = 10
    reoon_mode: str = "power"
    adyntel_timeout_seconds: int = 90
    llm_primary_model: str = "gemini"
    llm_fallback_model: str = "gpt-4"
    llm_anthropic_model: str = "claude-3-5-haiku-latest"
    # Which LLMs the research URL resolvers ask, in order; add "anthropic" to make Claude the last resort.
    llm_provider_order: str = "gemini,openai"
    company_enrich_profile_order: str = "prospeo,blitzapi,companyenrich,leadmagic"
    company_search_order: str = "prospeo,blitzapi,companyenrich"
    person_search_order: str = "prospeo,blitzapi,companyenrich"
    person_resolve_mobile_order: str = "leadmagic,blitzapi"

    # The embedded executor.
    dex_executor: str = "embedded"  # embedded | dramatiq | none
    # Steps running at once; a step whose outcome only waits for its recording lends its slot (up to this
    # many are lent).
    dex_executor_concurrency: int = 200
    dex_executor_lease_seconds: float = 60.0
    # An executor process (embedded or scale-out worker) whose heartbeat is this old is taken for gone, and
    # its steps run elsewhere; it beats five times per timeout.
    dex_executor_heartbeat_timeout_seconds: float = Field(default=5.0, gt=0)
    dex_per_org_concurrency: int | None = None
    # Under an hour, with room for the recording: the provider journal takes a request an hour old that
    # nobody recorded for an interrupted one (dex.operations.repository.empty_old_journal_slot).
    dex_step_timeout_seconds: float = Field(default=300.0, gt=0, le=3000)
    dex_step_max_attempts: int = 3
    dex_step_retry_base_seconds: float = 2.0
    # How long an Idempotency-Key of a batch submission names its submission (dex.pipeline.idempotency).
    dex_idempotency_key_ttl_hours: float = Field(default=24.0, gt=0)
    # Scale-out: a step message not consumed this long after it was sent is presumed lost (a broker restart
    # without persistence) and sent again.
    dex_outbox_stale_seconds: float = Field(default=60.0, gt=0)
    # Scale-out: the steps a worker's recording makes ready beyond its slots wait this long for that
    # worker to claim them before they are published for any worker (dex.scaleout.worker).
    dex_worker_first_claim_seconds: float = Field(default=5.0, ge=0)

    # Webhooks (dex.webhooks): per-attempt timeout, attempts before giving up, capped exponential backoff.
    dex_webhook_timeout_seconds: float = 10.0
    dex_webhook_max_attempts: int = 12
    dex_webhook_backoff_base_seconds: float = 10.0
    dex_webhook_backoff_cap_seconds: float = 3600.0
    # Allow webhook URLs on loopback/private networks (refused by default: tenants choose the URLs).
    dex_webhook_allow_private_urls: bool = False

    # Logs: "json" or "text" (default: json for `dex serve`, text for the other commands).
    dex_log_format: Literal["json", "text"] | None = None

    # Browser sessions: `Secure` cookies always, never, or (auto) when the request came over HTTPS; behind a
    # TLS-terminating proxy set DEX_TRUSTED_PROXY so its X-Forwarded-Proto header is believed.
    dex_cookie_secure: Literal["auto", "true", "false"] = "auto"
    dex_trusted_proxy: bool = False

    # Login throttling: after LOGIN_MAX_FAILURES failed logins for one account (or
    # LOGIN_MAX_FAILURES_PER_ADDRESS from one client address) within LOGIN_FAILURE_WINDOW_SECONDS, logins
    # are refused with 429 for LOGIN_LOCKOUT_BASE_SECONDS, doubling with each further failure up to
    # LOGIN_LOCKOUT_MAX_SECONDS.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    login_failure_window_seconds: float = Field(default=900.0, gt=0)
    login_lockout_base_seconds: float = Field(default=30.0, gt=0)
    login_lockout_max_seconds: float = Field(default=3600.0, gt=0)

    # Where providers are reached: "auto" = sandbox when no provider key is configured in embedded mode.
    dex_provider_mode: str = "auto"
    dex_sandbox_url: str | None = None

    @field_validator("internal_api_key", "super_admin_api_key", "jwt_secret", "super_admin_jwt_secret")
    @classmethod
    def _strip_blank(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def secrets_file(self) -> Path:
        return self.dex_home / "secrets.json"

    def ensure_secrets(self) -> None:
        """Fill missing secrets: generated and persisted in embedded mode, an error otherwise."""
        missing = [name for name in GENERATED_SECRETS if getattr(self, name.lower()) is None]
        if not missing:
            return
        if not self.embedded:
            required_missing = [name for name in REQUIRED_SECRETS if name in missing]
            if required_missing:
                raise ConfigurationError(
                    f"{required_missing[0]} is not set (required when DATABASE_URL is set)"
                )
            return
        stored = _load_or_create_secrets(self.secrets_file, missing)
        for name in missing:
            setattr(self, name.lower(), stored[name])


def _load_or_create_secrets(path: Path, names: list[str]) -> dict[str, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    created = {name: secrets.token_urlsafe(32) for name in names if name not in stored}
    if created:
        stored.update(created)
        # Write-then-rename so two processes starting at once never see a half-written file.
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        tmp.chmod(0o600)
        if path.exists():
            # Another process may have won the race: keep its values, they are already in use.
            stored = {**stored, **json.loads(path.read_text())}
            tmp.write_text(json.dumps(stored, indent=2))
        tmp.replace(path)
    return stored


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.ensure_secrets()
    return settings
