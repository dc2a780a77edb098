"""The ``dex`` command."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dex import __version__
from dex.bench import cli as bench_cli
from dex.blueprints.cli import blueprint_app
from dex.chaos import cli as chaos_cli
from dex.client import DexClient
from dex.config import Settings
from dex.entities import cli as entities_cli
from dex.errors import DexError
from dex.kit.cli import console, fail, load_settings, prepare_database, use_local_client
from dex.observability import configure_logging, secret_values
from dex.pipeline import cli as pipeline_cli
from dex.providers.cli import providers_app, use_runtime
from dex.tenancy import cli as tenancy_cli
from dex.tenancy.cli import admin_app

if TYPE_CHECKING:
    from dex.db.engine import Database
    from dex.providers.runtime import ProviderRuntime

app = typer.Typer(name="dex", help="dex — Data Engine X: entity intelligence you own.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(blueprint_app, name="blueprint")
app.add_typer(providers_app, name="providers")


@asynccontextmanager
async def _local_client(settings: Settings, database_url: str) -> AsyncIterator[DexClient]:
    # The whole app is imported when a command first runs dex in-process: every other command (those that
    # drive a running API, `dex login`, `dex --version`) starts without it.
    from dex.local import local_client

    async with local_client(settings, database_url) as client:
        yield client


use_local_client(_local_client)


@asynccontextmanager
async def _provider_runtime(settings: Settings, database: Database | None) -> AsyncIterator[ProviderRuntime]:
    # The providers composed with the sandbox, imported only by the commands that call providers.
    from dex.runtime import open_provider_runtime

    async with open_provider_runtime(settings, database) as runtime:
        yield runtime


use_runtime(_provider_runtime)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"dex {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    # Commands print what matters themselves; `dex serve` turns dex's own logs up to INFO, as JSON.
    try:
        configure_logging(os.environ.get("DEX_LOG_FORMAT") or "text")
    except ValueError as exc:
        fail(str(exc))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where pipeline steps run: embedded (in this process), dramatiq (`dex worker` processes, "
            "fed through --broker) or none. Default: DEX_EXECUTOR, else embedded."
        ),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option(envvar="DEX_BROKER_URL", help="amqp://… (RabbitMQ) or redis://… (Redis), for dramatiq."),
    ] = None,
) -> None:
    """Run the API (embedded PostgreSQL unless DATABASE_URL is set)."""
    import uvicorn

    from dex.api.app import create_app
    from dex.db.engine import Database

    logging.getLogger("dex").setLevel(logging.INFO)
    settings = load_settings()
    log_format = settings.dex_log_format or "json"
    configure_logging(log_format, secrets=secret_values(settings))
    mode = executor or settings.dex_executor
    if mode not in ("embedded", "dramatiq", "none"):
        fail(f"--executor must be embedded, dramatiq or none, not {mode!r}")
    if mode == "dramatiq" and not broker:
        fail("--executor dramatiq needs --broker (or DEX_BROKER_URL)")
    url = prepare_database(settings, migrate=settings.embedded)
    database = Database(url, pool_size=settings.database_pool_size)
    api = create_app(settings, database=database, run_executor=mode == "embedded")
    console.print(
        f"dex {__version__} serving on http://{host}:{port} (console at /console, docs at /docs), "
        f"executor: {mode}"
    )
    if mode == "dramatiq":
        from dex.scaleout.outbox import PublisherConfig, enable_outbox, publish_from

        enable_outbox(database)
        publishing = PublisherConfig(stale_seconds=settings.dex_outbox_stale_seconds)
        api = publish_from(api, database, broker, publishing)  # type: ignore[arg-type]  # checked above
    # JSON logs: uvicorn's own records go through the same handler (log_config=None keeps them there).
    uvicorn.run(
        api,
        host=host,
        port=port,
        log_level="info",
        log_config=None if log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )


@app.command()
def worker(
    broker: Annotated[
        str, typer.Option(envvar="DEX_BROKER_URL", help="amqp://… (RabbitMQ) or redis://… (Redis).")
    ],
    concurrency: Annotated[int, typer.Option(help="Steps this process runs at once.")] = 32,
    limits_redis: Annotated[
        str | None,
        typer.Option(
            envvar="DEX_LIMITS_REDIS_URL",
            help="Redis holding the provider limits all workers share (default: the broker, if Redis).",
        ),
    ] = None,
) -> None:
    """Run pipeline steps for `dex serve --executor dramatiq` — any number of workers, on any machines,
    against the API's database (DATABASE_URL) and broker."""
    from dataclasses import replace

    from dex.pipeline.executor import executor_config
    from dex.scaleout.broker import describe_broker, is_redis_url
    from dex.scaleout.worker import run_worker

    logging.getLogger("dex").setLevel(logging.INFO)
    settings = load_settings()
    configure_logging(settings.dex_log_format or "json", secrets=secret_values(settings))
    url = prepare_database(settings, migrate=False)
    limits_url = limits_redis or (broker if is_redis_url(broker) else None)
    console.print(f"dex worker: {concurrency} steps at once from {describe_broker(broker)}")
    try:
        run_worker(
            settings,
            url,
            broker,
            replace(executor_config(settings), concurrency=concurrency),
            limits_redis_url=limits_url,
        )
    except DexError as exc:
        fail(exc.message)


app.command()(pipeline_cli.submit)
app.command()(pipeline_cli.status)
app.command()(bench_cli.bench)
app.command()(chaos_cli.chaos)
app.command()(entities_cli.export)
app.command()(tenancy_cli.login)
app.command()(tenancy_cli.logout)


@app.command()
def demo(
    exit_after: Annotated[
        bool, typer.Option("--exit", help="Stop after the batch instead of serving the console.")
    ] = False,
) -> None:
    """Run the example batch on the embedded database and the provider sandbox, then keep serving the
    console (Ctrl-C stops) unless --exit."""
    from dex.demo import run_demo

    settings = load_settings()
    url = prepare_database(settings, migrate=True)
    try:
        asyncio.run(run_demo(settings, url, console, exit_after=exit_after))
    except DexError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        console.print("stopped")


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8900,
    config: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="JSON sandbox configuration (latency, faults)."),
    ] = None,
) -> None:
    """Run the provider sandbox on its own (point dex at it with DEX_PROVIDER_MODE=sandbox and
    DEX_SANDBOX_URL). Its behaviour can also be changed at runtime: POST /_sandbox/config."""
    import uvicorn
    from pydantic import ValidationError

    from dex.sandbox.app import create_sandbox_app
    from dex.sandbox.state import SandboxConfig

    try:
        sandbox_config = SandboxConfig.model_validate_json(config.read_text()) if config else None
    except ValidationError as exc:
        fail(f"invalid sandbox configuration: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}")
    console.print(f"provider sandbox on http://{host}:{port} (control API at /_sandbox)")
    uvicorn.run(create_sandbox_app(sandbox_config), host=host, port=port, log_level="warning")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (idempotent)."""
    from dex.db.migrate import head_revision

    settings = load_settings()
    prepare_database(settings, migrate=True)
    console.print(f"database schema is at {head_revision()}")


@db_app.command("status")
def db_status() -> None:
    """Show the schema revision of the database and the one this dex needs."""
    from dex.db.engine import check_database, describe_url, resolve_database_url
    from dex.db.migrate import current_revision, head_revision

    settings = load_settings()
    try:
        url = resolve_database_url(settings)
        version = asyncio.run(check_database(url))
        current = asyncio.run(current_revision(url))
    except DexError as exc:
        fail(exc.message)
    head = head_revision()
    mode = "embedded" if settings.embedded else "external"
    console.print(f"database: {describe_url(url)} ({mode}, PostgreSQL {version})")
    console.print(f"schema:   {current or 'empty'} (dex needs {head})")
    if current != head:
        console.print("run `dex db upgrade` to migrate")
        raise typer.Exit(1)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server of DEX_HOME (it otherwise outlives dex processes)."""
    from dex.db.embedded import stop_embedded_server

    settings = load_settings()
    if not settings.embedded:
        fail("DATABASE_URL is set: dex does not manage that server")
    stopped = stop_embedded_server(settings.dex_home / "pg")
    console.print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


def run() -> None:  # pragma: no cover - console entry for `python -m dex`
    app()


if __name__ == "__main__":  # pragma: no cover
    run()
