"""What every ``dex`` sub-command shares: its consoles, the one way to fail with a message, and how a
command finds its settings and database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from dex.client import ApiError, DexClient, remote_client
from dex.config import Settings, get_settings
from dex.credentials import load_login
from dex.errors import DexError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]dex:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return get_settings()
    except DexError as exc:
        fail(exc.message)
    except ValidationError as exc:
        # A field's name is its environment variable's, in lower case.
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"invalid setting — {problems}")


def prepare_database(settings: Settings, *, migrate: bool) -> str:
    """Resolve the database URL, prove it is reachable, and bring (or check) its schema."""
    from dex.db.engine import check_database, resolve_database_url
    from dex.db.migrate import current_revision, head_revision, upgrade

    try:
        url = resolve_database_url(settings)
        asyncio.run(check_database(url))
        if migrate:
            upgrade(url)
        else:
            current = asyncio.run(current_revision(url))
            if current != head_revision():
                fail(
                    f"database schema is at {current or 'nothing'}, dex needs {head_revision()}: "
                    "run `dex db upgrade`"
                )
    except DexError as exc:
        fail(exc.message)
    return url


LocalClient = Callable[[Settings, str], AbstractAsyncContextManager[DexClient]]
_local_client: LocalClient | None = None


def use_local_client(factory: LocalClient) -> None:
    """How the commands run dex in-process when no ``--api-url`` is given. The ``dex`` entry point names
    it, because running dex means the whole app, which lives above every command."""
    global _local_client
    _local_client = factory


ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar="DEX_API_URL",
        help="A running dex API; default: the one of `dex login`, else run dex in-process.",
    ),
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="DEX_API_TOKEN", help="API token for --api-url (default: `dex login`'s)."),
]


@asynccontextmanager
async def open_client(api_url: str | None, token: str | None) -> AsyncIterator[DexClient]:
    """A client of the API named by the flags (or their environment variables), else of the one `dex login`
    saved, else of dex run in-process on the local database."""
    stored = load_login() if not (api_url and token) else None
    if stored is not None and (api_url is None or api_url.rstrip("/") == stored.api_url):
        api_url, token = stored.api_url, token or stored.token
    if api_url:
        if not token:
            raise DexError("--token (or DEX_API_TOKEN) is required with --api-url, or run `dex login` first")
        try:
            async with remote_client(api_url, token) as client:
                yield client
        except ApiError as exc:
            if exc.status == 401 and stored is not None and token == stored.token:
                raise DexError(
                    f"{exc.message} — the session saved by `dex login` no longer works: run "
                    f"`dex login --api-url {stored.api_url} --email {stored.email}` again"
                ) from None
            raise
        return

    settings = load_settings()
    url = await asyncio.to_thread(prepare_database, settings, migrate=settings.embedded)
    if _local_client is None:
        raise DexError("this program cannot run dex in-process: give --api-url")
    async with _local_client(settings, url) as client:
        yield client


def run_command(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        asyncio.run(work())
    except DexError as exc:
        fail(exc.message)
