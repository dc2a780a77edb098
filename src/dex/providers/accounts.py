"""Checking provider keys: each configured key is tried with its provider's cheapest call.

An adapter module declares that call as ``ACCOUNT_PROBE`` (an :class:`AccountProbe`): the provider's
account or credits endpoint where it has one (free, and it reports the remaining credits), else the
smallest request it serves. The probe is sent on the shared HTTP client but outside the adapter machinery:
it is no operation's attempt, is never cached, and costs dex nothing in its own ledger.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from dex.config import Settings
from dex.errors import BadRequest
from dex.providers.catalog import PROVIDERS
from dex.providers.http import ProviderClient
from dex.providers.runtime import provider_mode

KeyStatus = Literal["valid", "invalid_key", "not_configured", "no_key_needed", "unreachable", "error"]
# Statuses with which a provider refuses a key (402 is a valid key on an exhausted account).
REJECTED_KEY_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class ProbeRequest:
    """Where the probe carries the credentials, besides its fixed parts."""

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    json_body: Any = None


@dataclass(frozen=True)
class AccountProbe:
    method: str
    path: str
    # Builds the request from the credentials (in the provider's credential order).
    request: Callable[[tuple[str, ...]], ProbeRequest]
    # Reads the remaining credits from the answer, when the provider reports them.
    credits: Callable[[dict[str, Any]], float | None] | None = None
    # Answers that prove the key was accepted (a lookup of nothing may answer 404 with a valid key).
    accepted: frozenset[int] = frozenset({200})
    # What the probe costs at the provider: "free", or the call it spends a credit on.
    cost: str = "free"


@dataclass(frozen=True)
class KeyCheck:
    provider: str
    status: KeyStatus
    message: str
    http_status: int | None = None
    credits_remaining: float | None = None
    probe: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("valid", "no_key_needed")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def number(value: Any) -> float | None:
    """A reported credit balance as a number (providers send ints, floats or numeric strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def probe_of(provider: str) -> AccountProbe | None:
    """The probe ``dex.providers.<provider>`` declares, if any."""
    try:
        module = importlib.import_module(f"dex.providers.{provider}")
    except ImportError:
        return None
    probe = getattr(module, "ACCOUNT_PROBE", None)
    return probe if isinstance(probe, AccountProbe) else None


def unknown_providers(names: Iterable[str]) -> list[str]:
    return sorted({name for name in names if name not in PROVIDERS})


class KeySource(Protocol):
    """Where keys and base URLs come from (the process's provider runtime)."""

    client: ProviderClient

    def credentials(self, provider: str) -> tuple[str, ...] | None: ...

    def base_url(self, provider: str) -> str: ...


@dataclass(frozen=True)
class CheckPlan:
    """Which keys a check covers: the named providers, or else every provider with a key configured."""

    providers: tuple[str, ...]
    # True when nothing was named and no provider has a key: there is nothing to check.
    nothing_configured: bool = False


def sandbox_stands_in(settings: Settings) -> bool:
    """True when dex points the providers at its sandbox only because no key is set at all (auto mode):
    there is then no key to check. A sandbox chosen explicitly (DEX_PROVIDER_MODE=sandbox) is checked."""
    return provider_mode(settings) == "sandbox" and settings.dex_provider_mode.strip().lower() != "sandbox"


def plan_checks(source: KeySource, names: Sequence[str] = (), *, keys_configured: bool = True) -> CheckPlan:
    """``keys_configured`` false: no provider has a key (see :func:`sandbox_stands_in`)."""
    unknown = unknown_providers(names)
    if unknown:
        raise BadRequest(f"unknown provider(s): {', '.join(unknown)}; known: {', '.join(sorted(PROVIDERS))}")
    if not keys_configured:
        return CheckPlan((), nothing_configured=True)
    if names:
        return CheckPlan(tuple(dict.fromkeys(names)))
    keyed = tuple(
        name
        for name, info in sorted(PROVIDERS.items())
        if info.credential_settings and source.credentials(name) is not None
    )
    return CheckPlan(keyed, nothing_configured=not keyed)


async def check_keys(source: KeySource, providers: Sequence[str]) -> list[KeyCheck]:
    """Every named provider's key, checked at once (each provider keeps its own limits)."""
    return list(
        await asyncio.gather(
            *(
                check_key(source.client, name, source.credentials(name), source.base_url(name))
                for name in providers
            )
        )
    )


async def check_key(
    client: ProviderClient,
    provider: str,
    credentials: tuple[str, ...] | None,
    base_url: str,
) -> KeyCheck:
    """Try ``provider``'s key with its probe; never raises for provider trouble."""
    info = PROVIDERS[provider]
    if not info.credential_settings:
        return KeyCheck(provider, "no_key_needed", "this provider takes no credentials")
    if credentials is None:
        names = ", ".join(name.upper() for name in info.credential_settings)
        return KeyCheck(provider, "not_configured", f"no key configured ({names})")
    probe = probe_of(provider)
    if probe is None:
        return KeyCheck(provider, "error", "dex declares no way to check this provider's key")
    built = probe.request(credentials)
    url = base_url.rstrip("/") + probe.path
    response = await client.request(
        provider,
        probe.method,
        url,
        headers=built.headers,
        params=built.params,
        json_body=built.json_body,
    )
    described = f"{probe.method} {probe.path} ({probe.cost})"
    if response.http_status is None:
        return KeyCheck(provider, "unreachable", f"no answer: {response.error}", probe=described)
    if response.http_status in REJECTED_KEY_STATUSES:
        return KeyCheck(
            provider,
            "invalid_key",
            f"the provider rejected the key (HTTP {response.http_status})",
            http_status=response.http_status,
            probe=described,
        )
    if response.http_status not in probe.accepted:
        return KeyCheck(
            provider,
            "error",
            f"unexpected answer HTTP {response.http_status}",
            http_status=response.http_status,
            probe=described,
        )
    credits = probe.credits(response.json_body) if probe.credits else None
    return KeyCheck(
        provider,
        "valid",
        "key accepted",
        http_status=response.http_status,
        credits_remaining=credits,
        probe=described,
    )
