"""A chaos run: a realistic workload on a faulty provider sandbox, with faults injected from outside at
random moments, then the system-wide invariants (``dex.chaos.invariants``).

Everything runs in processes of its own, as in production: a PostgreSQL server the run owns (so it can
restart it), the provider sandbox injecting faults into a share of its answers, and ``dex serve`` with the
embedded executor. One fault-free pass of the input records the reference entity tables; then each round
submits the same input for a new org while the injector kills dex (SIGKILL, then a restart), restarts
PostgreSQL (clean or crash-style) and terminates dex's database connections, and a poller calls the API
throughout. Every random choice comes from one seed, so a failing run replays with ``--seed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from dex.bench.pipeline import BLUEPRINT as BENCH_BLUEPRINT
from dex.bench.pipeline import company_entities
from dex.bench.processes import Background, Service, dex_command, free_port, start_redis
from dex.chaos.invariants import (
    Findings,
    check_outcomes_match,
    check_settled,
    check_spend,
    check_steps_recorded_once,
    outcome_rows,
)
from dex.client import TERMINAL_SUBMISSION_STATUSES, DexClient
from dex.db.embedded import ensure_embedded_database, restart_embedded_server, stop_embedded_server
from dex.db.engine import libpq_url
from dex.db.migrate import upgrade
from dex.errors import DexError
from dex.operations.repository import UNSETTLED_CALLS
from dex.providers.catalog import PROVIDERS
from dex.sandbox.state import ProviderBehaviour, SandboxConfig

BLUEPRINT = {
    "name": "chaos-people-at-companies",
    "description": "dex chaos: company profile, its people (fan-out), their work email, verified.",
    "entity_type": "company",
    # The benchmark's steps, and the verification of each address found.
    "steps": [*BENCH_BLUEPRINT["steps"], {"position": 4, "operation_id": "person.contact.verify_email"}],
}
FAULT_KINDS = ("kill_dex", "restart_postgres", "drop_connections")
SCALEOUT_FAULT_KINDS = (*FAULT_KINDS, "kill_worker", "restart_broker")
SCALEOUT_WORKERS = 2
# Provider faults the sandbox injects; a hang outlasts dex's provider timeout and ends in a 504 (not billed).
PROVIDER_FAULTS = ["429", "500", "503", "timeout", "malformed", "slow"]
PROVIDER_TIMEOUT_SECONDS = 2.0
# What the dex processes are told: short leases so a killed executor's steps return quickly, enough step
# attempts that a 20 % fault rate never exhausts them, quick retries, and provider timeouts that a "slow"
# answer stays within while a hang exceeds them.
DEX_SETTINGS = {
    "DEX_EXECUTOR_LEASE_SECONDS": "3",
    "DEX_EXECUTOR_CONCURRENCY": "50",
    "DEX_STEP_MAX_ATTEMPTS": "10",
    "DEX_STEP_RETRY_BASE_SECONDS": "0.2",
    # Scale-out: step messages a broker restart lost are sent again after 3 s.
    "DEX_OUTBOX_STALE_SECONDS": "3",
}
API_POLL_SECONDS = 0.1
# The harness's own database connections: the faults it injects spare them.
HARNESS_APPLICATION = "dex-chaos-harness"


class ChaosError(DexError):
    """The chaos run could not be carried out (a process did not start, the run did not settle)."""


@dataclass(frozen=True)
class ChaosOptions:
    run_dir: Path
    seed: int
    companies: int = 200
    # Rounds until this many minutes have passed; 0 = one round.
    minutes: float = 0.0
    provider_fault_rate: float = 0.2
    faults_per_round: int = 6
    # embedded: the executor runs inside `dex serve`; scaleout: `dex worker` processes fed through a Redis
    # broker by the API's outbox publisher.
    mode: str = "embedded"
    settle_timeout_seconds: float = 300.0


@dataclass
class Fault:
    at_seconds: float
    round: int
    kind: str
    detail: str = ""

    def __str__(self) -> str:
        return f"t+{self.at_seconds:7.2f}s round {self.round}: {self.kind} {self.detail}".rstrip()


@dataclass
class ChaosReport:
    seed: int
    options: ChaosOptions
    rounds: int = 0
    runs: int = 0
    steps: int = 0
    schedule: list[Fault] = field(default_factory=list)
    api_statuses: Counter[int] = field(default_factory=Counter)
    findings: Findings = field(default_factory=Findings)
    provider_faults: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.findings.violations

    def replay_command(self) -> str:
        return (
            f"dex chaos --seed {self.seed} --companies {self.options.companies} "
            f"--minutes {self.options.minutes:g} --faults-per-round {self.options.faults_per_round} "
            f"--mode {self.options.mode}"
        )

    def describe(self) -> str:
        accounting = self.findings.accounting
        lines = [
            f"chaos run, seed {self.seed}: {'PASSED' if self.passed else 'FAILED'} in {self.seconds:.0f} s",
            f"  rounds {self.rounds}, runs {self.runs}, steps {self.steps}, "
            f"faults injected {len(self.schedule)} ({dict(Counter(f.kind for f in self.schedule))}), "
            f"provider faults {sum(self.provider_faults.values())} ({dict(self.provider_faults)})",
            f"  API requests {sum(self.api_statuses.values())} "
            f"by status {dict(sorted(self.api_statuses.items()))}",
            f"  provider requests billed {accounting.billable_requests}, "
            f"recorded {accounting.recorded_requests} "
            f"(cost {accounting.recorded_cost}), outcome unknown {accounting.outcome_unknown} "
            f"(of which not billed by the provider {accounting.outcome_unknown_not_billed})",
            f"  invariant checks {self.findings.checks}, violations {len(self.findings.violations)}",
        ]
        if not self.passed:
            lines += [f"  VIOLATION: {violation}" for violation in self.findings.violations]
            lines += ["  fault schedule:", *(f"    {fault}" for fault in self.schedule)]
            lines.append(f"  replay: {self.replay_command()}")
        return "\n".join(lines)


class ChaosWorld:
    """The processes of a run and the means to hurt them."""

    def __init__(self, options: ChaosOptions, http: aiohttp.ClientSession) -> None:
        self.options = options
        self.http = http
        self.pgdata = options.run_dir / "pg"
        self.api_key = secrets.token_urlsafe(32)
        self.dex: Service | None = None
        self.sandbox: Service | None = None
        self.database_url = ""
        self.dex_env: dict[str, str] = {}
        self.dex_port = free_port()
        self.broker: Background | None = None
        self.broker_port = free_port()
        self.workers: list[Background] = []
        self.process_starts: Counter[str] = Counter()

    @property
    def scaleout(self) -> bool:
        return self.options.mode == "scaleout"

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.broker_port}/0"

    def fault_kinds(self) -> tuple[str, ...]:
        return SCALEOUT_FAULT_KINDS if self.scaleout else FAULT_KINDS

    def _log(self, name: str) -> Path:
        self.process_starts[name] += 1
        return self.options.run_dir / f"{name}-{self.process_starts[name]}.log"

    async def start(self, stack: AsyncExitStack) -> None:
        self.database_url = await asyncio.to_thread(ensure_embedded_database, self.pgdata)
        stack.push_async_callback(asyncio.to_thread, stop_embedded_server, self.pgdata)
        await asyncio.to_thread(upgrade, self.database_url)
        config_path = self.options.run_dir / "sandbox.json"
        config_path.write_text(SandboxConfig(seed=self.options.seed).model_dump_json())
        sandbox_port = free_port()
        self.sandbox = Service(
            "sandbox",
            dex_command("sandbox", "--port", str(sandbox_port), "--config", str(config_path)),
            env=dict(os.environ),
            log_path=self.options.run_dir / "sandbox.log",
            port=sandbox_port,
        )
        stack.push_async_callback(self.sandbox.stop)
        await self.sandbox.wait_ready(self.http, "/_sandbox/config")
        limits = {"timeout_seconds": PROVIDER_TIMEOUT_SECONDS, "backoff_base_seconds": 0.05}
        self.dex_env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "JWT_SECRET": secrets.token_urlsafe(32),
            "SUPER_ADMIN_JWT_SECRET": secrets.token_urlsafe(32),
            "SUPER_ADMIN_API_KEY": self.api_key,
            "DEX_HOME": str(self.options.run_dir / "dex-home"),
            "DEX_PROVIDER_MODE": "sandbox",
            "DEX_SANDBOX_URL": self.sandbox.url,
            "DEX_PROVIDER_LIMITS": json.dumps(dict.fromkeys(PROVIDERS, limits)),
            **DEX_SETTINGS,
        }
        if self.scaleout:
            await self.start_broker()
            stack.push_async_callback(self.stop_scaleout)
            self.dex_env["DEX_BROKER_URL"] = self.broker_url
            self.workers = [self.start_worker() for _ in range(SCALEOUT_WORKERS)]
        await self.start_dex()
        stack.push_async_callback(self.stop_dex)

    async def start_broker(self) -> None:
        """Redis without persistence: a restart loses every queued message, which dex must survive."""
        self.broker = await start_redis(self.broker_port, self._log("broker"))

    def start_worker(self) -> Background:
        return Background(
            "worker",
            dex_command("worker", "--concurrency", "25"),
            env=self.dex_env,
            log_path=self._log("worker"),
        )

    async def stop_scaleout(self) -> None:
        for process in [*self.workers, self.broker]:
            if process is not None:
                await process.stop()

    async def start_dex(self) -> None:
        executor = ("--executor", "dramatiq") if self.scaleout else ()
        self.dex = Service(
            "dex",
            dex_command("serve", "--port", str(self.dex_port), *executor),
            env=self.dex_env,
            log_path=self._log("dex"),
            port=self.dex_port,
        )
        await self.dex.wait_ready(self.http, "/health")

    async def stop_dex(self) -> None:
        if self.dex is not None:
            await self.dex.stop()

    def kill_dex(self) -> None:
        assert self.dex is not None
        self.dex.popen.kill()
        self.dex.popen.wait()

    async def restart_postgres(self, *, immediate: bool) -> None:
        await asyncio.to_thread(restart_embedded_server, self.pgdata, immediate=immediate)

    async def drop_connections(self) -> int:
        async with self.connection() as conn:
            return int(
                await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name <> $1 "
                    "AND backend_type = 'client backend'",
                    HARNESS_APPLICATION,
                )
            )

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A short-lived connection of the harness's own, retried while PostgreSQL restarts."""
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = await asyncpg.connect(
                    libpq_url(self.database_url), server_settings={"application_name": HARNESS_APPLICATION}
                )
                break
            except (OSError, asyncpg.PostgresError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        try:
            yield conn
        finally:
            try:
                await conn.close()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError):
                conn.terminate()  # the server went away mid-query (an injected restart)

    async def sandbox_call(self, method: str, path: str, body: Any = None) -> Any:
        assert self.sandbox is not None
        async with self.http.request(method, self.sandbox.url + path, json=body) as response:
            response.raise_for_status()
            return await response.json()

    def client(self) -> DexClient:
        return DexClient(
            self.http, f"http://127.0.0.1:{self.dex_port}", {"Authorization": f"Bearer {self.api_key}"}
        )


async def _tenant(world: ChaosWorld, slug: str) -> tuple[DexClient, str, dict[str, Any]]:
    """An org with a company, a tenant API token (for the poller) and the blueprint."""
    admin = world.client()
    org = await admin.post("/api/super-admin/orgs/create", {"name": slug, "slug": slug})
    company = await admin.post("/api/super-admin/companies/create", {"org_id": org["id"], "name": slug})
    user = await admin.post(
        "/api/super-admin/users/create",
        {
            "org_id": org["id"],
            "email": f"{slug}@chaos.dex",
            "password": secrets.token_urlsafe(16),
            "role": "org_admin",
        },
    )
    token = (await admin.post("/api/super-admin/api-tokens/create", {"user_id": user["id"], "name": slug}))[
        "token"
    ]
    admin.org_id, admin.company_id = uuid.UUID(org["id"]), uuid.UUID(company["id"])
    blueprint = await admin.ensure_blueprint(BLUEPRINT)
    return admin, token, blueprint


async def _wait_settled(world: ChaosWorld, submission_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(
            OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError
        ):
            async with world.connection() as conn:
                status = await conn.fetchval(
                    "SELECT status FROM submissions WHERE id = $1", uuid.UUID(submission_id)
                )
            if status in TERMINAL_SUBMISSION_STATUSES:
                return status
        await asyncio.sleep(0.25)
    raise ChaosError(f"submission {submission_id} did not settle within {timeout:.0f} s")


class ApiPoller:
    """Calls the API as a tenant all through the run; any 5xx but the documented 503 is a violation."""

    def __init__(self, world: ChaosWorld, token: str, submission_id: str) -> None:
        self.world = world
        self.headers = {"Authorization": f"Bearer {token}"}
        self.submission_id = submission_id
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []

    def requests(self) -> list[tuple[str, str, dict[str, Any] | None]]:
        return [
            ("POST", "/api/v1/batch/status", {"submission_id": self.submission_id, "limit": 20}),
            ("POST", "/api/submissions/list", {}),
            ("POST", "/api/v1/entities/companies", {"limit": 20}),
            ("POST", "/api/v1/entities/persons", {"limit": 20}),
            ("POST", "/api/v1/usage", {}),
            ("GET", "/health", None),
        ]

    async def run(self) -> None:
        base = f"http://127.0.0.1:{self.world.dex_port}"
        for method, path, body in itertools.cycle(self.requests()):
            try:
                async with self.world.http.request(
                    method,
                    base + path,
                    json=body,
                    headers=self.headers,
                    timeout=aiohttp.ClientTimeout(total=30),
                ) as response:
                    text = await response.text()
                    self.statuses[response.status] += 1
                    if response.status >= 500 and response.status != 503:
                        self.server_errors.append(f"{method} {path} → {response.status}: {text[:300]}")
            except (aiohttp.ClientError, TimeoutError):
                pass  # dex is down (killed): no answer is not a wrong answer
            await asyncio.sleep(API_POLL_SECONDS)


async def _inject_faults(
    world: ChaosWorld,
    rng: random.Random,
    report: ChaosReport,
    round_number: int,
    started: float,
    settled: asyncio.Task[str],
) -> None:
    """Up to ``faults_per_round`` faults at random moments, while the round's submission is unsettled."""
    for _ in range(world.options.faults_per_round):
        await asyncio.wait([settled], timeout=rng.uniform(0.5, 3.0))
        if settled.done():
            return
        kind = rng.choice(world.fault_kinds())
        fault = Fault(round(time.monotonic() - started, 2), round_number, kind)
        report.schedule.append(fault)
        downtime = rng.uniform(0, 1.5)
        if kind == "kill_dex":
            world.kill_dex()
            fault.detail = f"down {downtime:.2f} s"
            await asyncio.sleep(downtime)
            await world.start_dex()
        elif kind == "kill_worker":
            victim = rng.randrange(len(world.workers))
            world.workers[victim].kill()
            fault.detail = f"worker {victim}, down {downtime:.2f} s"
            await asyncio.sleep(downtime)
            world.workers[victim] = world.start_worker()
        elif kind == "restart_broker":
            assert world.broker is not None
            world.broker.kill()
            fault.detail = f"down {downtime:.2f} s, queued messages lost"
            await asyncio.sleep(downtime)
            await world.start_broker()
        elif kind == "restart_postgres":
            immediate = rng.random() < 0.5
            fault.detail = "immediate (crash recovery)" if immediate else "fast"
            await world.restart_postgres(immediate=immediate)
        else:
            fault.detail = f"{await world.drop_connections()} connections"


async def run_chaos(options: ChaosOptions, progress: Callable[[str], None] = lambda _: None) -> ChaosReport:
    report = ChaosReport(seed=options.seed, options=options)
    rng = random.Random(options.seed)
    started = time.monotonic()
    options.run_dir.mkdir(parents=True, exist_ok=True)
    inputs = company_entities(options.companies, prefix="chaos")
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))
        )
        world = ChaosWorld(options, http)
        progress(f"starting PostgreSQL, the sandbox and dex in {options.run_dir}")
        await world.start(stack)

        progress(f"fault-free reference run: {options.companies} companies")
        reference, _, blueprint = await _tenant(world, "reference")
        submitted = await reference.submit(blueprint["id"], inputs, source="chaos")
        await _wait_settled(world, submitted["submission_id"], options.settle_timeout_seconds)
        async with world.connection() as conn:
            expected = await outcome_rows(conn, reference.org_id)

        faulty = ProviderBehaviour(
            fault_rate=options.provider_fault_rate,
            fault_kinds=PROVIDER_FAULTS,
            retry_after_seconds=0.2,
            hang_seconds=PROVIDER_TIMEOUT_SECONDS * 2,
            slow_seconds=PROVIDER_TIMEOUT_SECONDS / 4,
        )
        # Configuring the sandbox clears its ledger: the reference run's requests are kept first.
        ledger = (await world.sandbox_call("GET", "/_sandbox/ledger"))["entries"]
        await world.sandbox_call(
            "POST",
            "/_sandbox/config",
            {**SandboxConfig(seed=options.seed).model_dump(), "default": faulty.model_dump()},
        )
        while True:
            report.rounds += 1
            progress(f"round {report.rounds}: {options.companies} companies under faults")
            client, token, blueprint = await _tenant(world, f"chaos-{report.rounds}")
            submission_id = (await client.submit(blueprint["id"], inputs, source="chaos"))["submission_id"]
            poller = ApiPoller(world, token, submission_id)
            polling = asyncio.create_task(poller.run())
            settled = asyncio.create_task(_wait_settled(world, submission_id, options.settle_timeout_seconds))
            try:
                await _inject_faults(world, rng, report, report.rounds, started, settled)
                await settled
            finally:
                for task in (polling, settled):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            report.api_statuses.update(poller.statuses)
            report.findings.violations += [f"API answered {error}" for error in poller.server_errors[:10]]
            report.findings.check(not poller.server_errors, f"{len(poller.server_errors)} API 5xx answers")
            async with world.connection() as conn:
                await check_outcomes_match(conn, client.org_id, expected, report.findings)
            if time.monotonic() - started >= options.minutes * 60:
                break

        progress("settling and checking the invariants")
        await world.stop_dex()
        await world.start_dex()  # a clean process settles whatever the last kill left in the journal
        await _wait_journal_empty(world)
        ledger += (await world.sandbox_call("GET", "/_sandbox/ledger"))["entries"]
        report.provider_faults.update(entry["fault"] for entry in ledger if entry["fault"])
        async with world.connection() as conn:
            await check_settled(conn, report.findings)
            await check_steps_recorded_once(conn, report.findings)
            await check_spend(conn, ledger, report.findings)
            report.runs = await conn.fetchval("SELECT count(*) FROM pipeline_runs")
            report.steps = await conn.fetchval("SELECT count(*) FROM step_results")
    report.seconds = time.monotonic() - started
    return report


async def _wait_journal_empty(world: ChaosWorld, timeout: float = 30.0) -> None:
    """The restarted dex's lease keeper settles the requests of the killed processes within a few seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with world.connection() as conn:
            if not await conn.fetchval(UNSETTLED_CALLS):
                return
        await asyncio.sleep(0.25)
