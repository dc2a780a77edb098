"""`dex providers`: every provider dex knows (configured or not, live or sandbox, limits, prices and the
operations that use it), and `dex providers check`, which tries each configured key with the provider's
cheapest call (dex.providers.accounts)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import typer
from rich.table import Table

from dex.config import Settings
from dex.db.engine import Database
from dex.errors import DexError
from dex.kit.cli import console, fail, load_settings
from dex.providers.accounts import (
    KeyCheck,
    check_keys,
    plan_checks,
    sandbox_stands_in,
    unknown_providers,
)
from dex.providers.catalog import PROVIDERS, configured_limits, price_of
from dex.providers.runtime import ProviderRuntime

providers_app = typer.Typer(
    help="Providers: what dex knows of each, and checking the configured keys.", invoke_without_command=True
)

RuntimeOpener = Callable[[Settings, Database | None], AbstractAsyncContextManager[ProviderRuntime]]
_open_runtime: RuntimeOpener | None = None


def use_runtime(opener: RuntimeOpener) -> None:
    """How `dex providers check` opens the process's provider runtime (which may start the sandbox). The
    ``dex`` entry point names it: composing providers with the sandbox happens above every command."""
    global _open_runtime
    _open_runtime = opener


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def describe_providers(settings: Settings) -> list[dict[str, Any]]:
    """One entry per provider: configured or not, live or sandbox, limits, prices, the operations using it."""
    from dex.operations.registry import registry
    from dex.providers.runtime import provider_mode

    mode = provider_mode(settings)
    limits = configured_limits()
    operations: dict[str, list[str]] = {name: [] for name in PROVIDERS}
    for spec in registry().values():
        for provider in spec.providers:
            operations.setdefault(provider, []).append(spec.operation_id)
    described = []
    for name, info in sorted(PROVIDERS.items()):
        settings_names = [setting.upper() for setting in info.credential_settings]
        configured = all(getattr(settings, setting) for setting in info.credential_settings)
        limit = limits[name]
        described.append(
            {
                "provider": name,
                "credentials": settings_names,
                "configured": configured if settings_names else None,
                "mode": mode,
                "limits": {
                    "timeout_seconds": limit.timeout_seconds,
                    "concurrency": limit.concurrency,
                    "rate_per_second": limit.rate_per_second,
                    "max_retries": limit.max_retries,
                },
                "prices": {action: float(price_of(name, action)) for action in sorted({"*", *info.prices})},
                "operations": sorted(operations.get(name, [])),
            }
        )
    return described


@providers_app.callback()
def providers(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every provider: configured or not, live or sandbox, its limits, prices and operations."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        described = describe_providers(load_settings())
    except DexError as exc:
        fail(exc.message)
    if as_json:
        console.print_json(json.dumps(described))
        return
    table = Table(title=f"providers ({described[0]['mode']} mode)" if described else "providers")
    for column in ("provider", "key", "limits", "credits per call", "operations"):
        table.add_column(column, overflow="fold")
    for entry in described:
        key = (
            "no key needed"
            if entry["configured"] is None
            else ("configured" if entry["configured"] else f"not set ({', '.join(entry['credentials'])})")
        )
        limit = entry["limits"]
        rate = f", {limit['rate_per_second']:g}/s" if limit["rate_per_second"] else ""
        limits = f"{limit['concurrency']} at once{rate}, {limit['timeout_seconds']:g} s"
        prices = ", ".join(
            f"{'default' if action == '*' else action} {value:g}" for action, value in entry["prices"].items()
        )
        table.add_row(entry["provider"], key, limits, prices, "\n".join(entry["operations"]) or "-")
    console.print(table)


@providers_app.command("check")
def check(
    names: Annotated[
        list[str] | None, typer.Argument(help="Providers to check (default: every configured one).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check each configured provider key live with the provider's cheapest call (its account or credits
    endpoint where it has one); prints the result and the remaining credits where reported. Exits non-zero
    when a key is refused or cannot be checked."""
    settings = load_settings()
    unknown = unknown_providers(names or [])
    if unknown:
        fail(f"unknown provider(s): {', '.join(unknown)}; known: {', '.join(sorted(PROVIDERS))}")
    try:
        if sandbox_stands_in(settings):
            _nothing_to_check(names or [])
            return
    except DexError as exc:
        fail(exc.message)

    async def work() -> tuple[str, list[KeyCheck] | None]:
        assert _open_runtime is not None, "the dex entry point names how to open the provider runtime"
        async with _open_runtime(settings, None) as runtime:
            plan = plan_checks(runtime, names or ())
            if plan.nothing_configured:
                return runtime.mode, None
            return runtime.mode, await check_keys(runtime, plan.providers)

    try:
        mode, results = asyncio.run(work())
    except DexError as exc:
        fail(exc.message)
    if results is None:
        _nothing_to_check([])
        return
    if as_json:
        console.print_json(json.dumps({"mode": mode, "results": [result.to_dict() for result in results]}))
    else:
        _print_checks(mode, results)
    if not all(result.ok for result in results):
        raise typer.Exit(1)


def _nothing_to_check(names: list[str]) -> None:
    """No provider has a key: say so; asking for named providers then is an error."""
    console.print(
        "no provider key is configured: nothing to check (set a provider's key, e.g. PROSPEO_API_KEY, "
        "or DEX_PROVIDER_MODE=sandbox to check against the sandbox)"
    )
    if names:
        fail(f"no key configured for {', '.join(names)}")


def _print_checks(mode: str, results: list[KeyCheck]) -> None:
    table = Table(title=f"provider keys ({mode})")
    for column in ("provider", "result", "credits left", "detail"):
        table.add_column(column, overflow="fold")
    for result in results:
        colour = "green" if result.ok else "red"
        credits = "-" if result.credits_remaining is None else f"{result.credits_remaining:g}"
        detail = f"{result.message}; via {result.probe}" if result.probe else result.message
        table.add_row(result.provider, f"[{colour}]{result.status}[/{colour}]", credits, detail)
    console.print(table)
