"""One workload's world: a fresh database, the provider sandbox and ``dex serve`` in processes of their
own, a tenant and a blueprint created through the API — torn down (database dropped) afterwards."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

from dex.bench.dbstats import BenchConnection
from dex.bench.pgproxy import RoundTripProxy
from dex.bench.processes import (
    Background,
    Sampler,
    Service,
    WatchedProcess,
    dex_command,
    free_port,
    postgres_server,
    start_redis,
)
from dex.client import DexClient
from dex.db.engine import libpq_url
from dex.sandbox.state import SandboxConfig
from dex.testing import create_test_database, drop_test_database

BENCH_ORG_SLUG = "bench"
# Submitting 100k entities and streaming a large export take longer than aiohttp's 5-minute default.
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)


@dataclass(frozen=True)
class StackOptions:
    # Where the embedded PostgreSQL lives (DEX_HOME of `dex bench`); unused when DATABASE_URL is set.
    state_dir: Path
    # Logs and scratch files of this benchmark run.
    run_dir: Path
    keep_databases: bool = False
    # "embedded": the executor runs inside `dex serve`; "dramatiq": `workers` `dex worker` processes fed
    # through a Redis broker the bench starts (A and B only; C runs with no executor).
    executor: Literal["embedded", "dramatiq"] = "embedded"
    workers: int = 1


@dataclass
class Stack:
    name: str
    db: BenchConnection  # the bench's own connection to the workload's database (not through the proxy)
    http: aiohttp.ClientSession
    client: DexClient  # super-admin, scoped to the bench org and its company
    dex: Service
    sandbox: Service
    proxy: RoundTripProxy | None
    postgres: WatchedProcess | None
    sampler: Sampler
    blueprint: dict[str, Any]
    # The scale-out processes (empty with the embedded executor).
    workers: list[Background]
    broker: Background | None

    @property
    def measured(self) -> list[WatchedProcess | None]:
        """Every process of the stack whose CPU a workload counts."""
        scaleout = [process.watch for process in (*self.workers, self.broker) if process is not None]
        return [self.dex.watch, self.sandbox.watch, self.postgres, *scaleout]

    async def stop_executors(self) -> None:
        """dex and its workers, gracefully: every backend they used exits (see dbstats)."""
        await self.dex.stop()
        for worker in self.workers:
            await worker.stop()

    async def create_api_token(self) -> str:
        """A company-scoped API token (for ``dex submit --token``)."""
        user = await self.client.post(
            "/api/super-admin/users/create",
            {
                "org_id": str(self.client.org_id),
                "company_id": str(self.client.company_id),
                "email": f"bench-{uuid.uuid4().hex[:8]}@bench.dex",
                "password": secrets.token_urlsafe(16),
                "role": "company_admin",
            },
        )
        created = await self.client.post(
            "/api/super-admin/api-tokens/create", {"user_id": user["id"], "name": "bench"}
        )
        return created["token"]


@asynccontextmanager
async def open_stack(
    options: StackOptions,
    name: str,
    *,
    blueprint: dict[str, Any],
    sandbox_config: SandboxConfig,
    dex_settings: dict[str, str],
    count_round_trips: bool,
) -> AsyncIterator[Stack]:
    """``dex_settings`` are environment variables of the dex process on top of the bench's own."""
    database_name = f"dex_bench_{name}_{os.getpid()}"
    database_url = await asyncio.to_thread(create_test_database, options.state_dir, database_name)
    async with AsyncExitStack() as stack:
        if not options.keep_databases:
            stack.push_async_callback(asyncio.to_thread, drop_test_database, options.state_dir, database_name)
        upstream_url = libpq_url(database_url)
        proxy = None
        if count_round_trips:
            # A short path: Unix socket paths are limited to ~100 bytes.
            socket_dir = Path(tempfile.mkdtemp(prefix="dexbench-"))
            stack.callback(shutil.rmtree, socket_dir, ignore_errors=True)
            proxy = RoundTripProxy(upstream_url, socket_dir)
            await proxy.start()
            stack.push_async_callback(proxy.stop)
        http = await stack.enter_async_context(aiohttp.ClientSession(timeout=HTTP_TIMEOUT))

        sandbox_config_path = options.run_dir / f"{name}-sandbox.json"
        sandbox_config_path.write_text(sandbox_config.model_dump_json(indent=2))
        sandbox_port = free_port()
        sandbox = Service(
            "sandbox",
            dex_command("sandbox", "--port", str(sandbox_port), "--config", str(sandbox_config_path)),
            env=dict(os.environ),
            log_path=options.run_dir / f"{name}-sandbox.log",
            port=sandbox_port,
        )
        stack.push_async_callback(sandbox.stop)

        api_key = secrets.token_urlsafe(32)
        dex_env = {
            **os.environ,
            "DATABASE_URL": proxy.url if proxy else upstream_url,
            "JWT_SECRET": secrets.token_urlsafe(32),
            "SUPER_ADMIN_JWT_SECRET": secrets.token_urlsafe(32),
            "SUPER_ADMIN_API_KEY": api_key,
            "DEX_HOME": str(options.run_dir / f"{name}-home"),
            "DEX_PROVIDER_MODE": "sandbox",
            "DEX_SANDBOX_URL": sandbox.url,
            **dex_settings,
        }
        scaleout = options.executor == "dramatiq" and dex_settings.get("DEX_EXECUTOR") != "none"
        broker = None
        if scaleout:
            broker_port = free_port()
            broker = await start_redis(broker_port, options.run_dir / f"{name}-broker.log")
            stack.push_async_callback(broker.stop)
            dex_env["DEX_BROKER_URL"] = f"redis://127.0.0.1:{broker_port}/0"
        dex_port = free_port()
        dex = Service(
            "dex",
            dex_command("serve", "--port", str(dex_port), *(("--executor", "dramatiq") if scaleout else ())),
            env=dex_env,
            log_path=options.run_dir / f"{name}-dex.log",
            port=dex_port,
        )
        stack.push_async_callback(dex.stop)
        await sandbox.wait_ready(http, "/_sandbox/config")
        await dex.wait_ready(http, "/health")
        workers = []
        for number in range(1, options.workers + 1) if scaleout else ():
            # Each worker runs as many steps at once as the embedded executor would.
            concurrency = dex_settings.get("DEX_EXECUTOR_CONCURRENCY", "200")
            worker = Background(
                f"worker{number}",
                dex_command("worker", "--concurrency", concurrency),
                env=dex_env,
                log_path=options.run_dir / f"{name}-worker{number}.log",
            )
            stack.push_async_callback(worker.stop)
            workers.append(worker)

        client = DexClient(http, dex.url, {"Authorization": f"Bearer {api_key}"})
        org = await client.post("/api/super-admin/orgs/create", {"name": "Bench", "slug": BENCH_ORG_SLUG})
        company = await client.post(
            "/api/super-admin/companies/create", {"org_id": org["id"], "name": "Bench client"}
        )
        client.org_id, client.company_id = uuid.UUID(org["id"]), uuid.UUID(company["id"])
        created_blueprint = await client.ensure_blueprint(blueprint)

        db = BenchConnection(upstream_url)
        stack.push_async_callback(db.close)
        await wait_for_workers(db, workers)
        backend = await db.fetchrow("SELECT pg_backend_pid() AS pid")
        sampler = Sampler([dex.watch, sandbox.watch, *(worker.watch for worker in workers)])
        await stack.enter_async_context(sampler.running())
        yield Stack(
            name=name,
            db=db,
            http=http,
            client=client,
            dex=dex,
            sandbox=sandbox,
            proxy=proxy,
            postgres=postgres_server(backend["pid"]) if backend else None,
            sampler=sampler,
            blueprint=created_blueprint,
            workers=workers,
            broker=broker,
        )


async def wait_for_workers(db: BenchConnection, workers: list[Background], timeout: float = 90.0) -> None:
    """Until every worker beats its heartbeat (its database, providers and broker are up): a worker still
    importing when the window opens would count its start-up as CPU spent on the batch."""
    for worker in workers:

        async def beating(pattern: str = f"%:{worker.popen.pid}:%") -> bool:
            row = await db.fetchrow(
                "SELECT EXISTS (SELECT 1 FROM executor_heartbeats WHERE worker LIKE $1) AS beating", pattern
            )
            return row is not None and row["beating"]

        await worker.wait_until(beating, "beat no heartbeat", timeout)
