"""Fixtures of the scale-out suite: real brokers started here (Redis and RabbitMQ on free ports, data in a
temp dir — never the machine's own services), ``dex worker`` subprocesses, and the API in-process with the
outbox publisher instead of the embedded executor."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import pytest

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.pipeline import repository as repo
from dex.providers.catalog import PROVIDERS
from dex.providers.runtime import ProviderRuntime
from dex.scaleout.outbox import OutboxPublisher, PublisherConfig, enable_outbox
from tests.conftest import TEST_PROVIDER_LIMITS, PipelineHarness, SandboxHandle, Tenant
from tests.dex_command import dex_env

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
EPMD = "epmd"
# Long, as in production: a dead worker's steps must come back through its stopped heartbeat (or its
# pid on this host), never by waiting for their leases to run out.
LEASE_SECONDS = 600
# The providers the rate-limit test drives (email verification), limited for every worker of the session.
RATE_LIMITED_PROVIDERS = ("millionverifier", "reoon")
RATE_PER_SECOND = 10
# Fast enough for tests, the same mechanism as production: a message not consumed within 3 s is resent.
TEST_PUBLISHER_CONFIG = PublisherConfig(
    window=200, batch=100, poll_interval_seconds=0.05, sweep_interval_seconds=0.5, stale_seconds=3
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server not listening on {port} after {timeout:g}s:\n{log.read_text()[-3000:]}")


def require_installed(executable: str | Path, package: str) -> None:
    """Install ``package`` with apt when ``executable`` is missing (possible as root), else skip."""
    if Path(executable).exists() or shutil.which(str(executable)):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{executable} is not installed and this user cannot apt-get install {package}")
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
    installed = subprocess.run(["apt-get", "install", "-y", "-qq", package], capture_output=True, text=True)
    if installed.returncode != 0:
        pytest.skip(f"apt-get install {package} failed: {installed.stderr[-500:]}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_installed("redis-server", "redis-server")
    home = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = home / "redis.log"
    # No persistence: the suite's broker and limits live and die with the session.
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(home)]
    command += ["--save", "", "--appendonly", "no"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log, timeout=60)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class RabbitmqServer:
    process: subprocess.Popen[bytes]
    port: int
    epmd_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def stop(self) -> None:
        # A throwaway node: no graceful shutdown needed. Its port mapper goes once the node is gone.
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for _ in range(50):
            killed = subprocess.run([EPMD, "-port", str(self.epmd_port), "-kill"], capture_output=True)
            if b"Killed" in killed.stdout + killed.stderr:
                return
            time.sleep(0.1)


@pytest.fixture(scope="session")
def rabbitmq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitmqServer]:
    """A RabbitMQ node of its own, booting (about 8 s) while other tests run: see ``rabbitmq_url``."""
    require_installed(RABBITMQ_SERVER, "rabbitmq-server")
    home = tmp_path_factory.mktemp("rabbitmq")
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    (home / "enabled_plugins").write_text("[].\n")
    env = {
        **os.environ,
        "HOME": str(home),  # the Erlang cookie
        "RABBITMQ_NODENAME": f"dex{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_PORT": str(epmd_port),  # its own port mapper, not the machine's
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
        "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
    }
    log = home / "rabbitmq.log"
    with log.open("wb") as out:
        # Started in its home: a node that crashes writes its dump (MnesiaCore.*) there, not in the checkout.
        process = subprocess.Popen(
            [str(RABBITMQ_SERVER)],
            env=env,
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RabbitmqServer(process, port, epmd_port, log)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq_url(rabbitmq_server: RabbitmqServer) -> str:
    wait_for_port(rabbitmq_server.port, rabbitmq_server.process, rabbitmq_server.log, timeout=90)
    return rabbitmq_server.url


@pytest.fixture(scope="session", params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    request.getfixturevalue("rabbitmq_server")  # boot it now, ready by the time its runs come
    return request.getfixturevalue(f"{request.param}_url")


# --- workers -------------------------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def wait_started(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.output()}")
            if "started" in self.output():
                return
            time.sleep(0.05)
        raise RuntimeError(f"worker did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no cleanup at all. Reaped at once, so its pid is gone (how live workers see it died)."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def provider_limits_env() -> str:
    limits = {name: asdict(TEST_PROVIDER_LIMITS) for name in PROVIDERS}
    for name in RATE_LIMITED_PROVIDERS:
        limits[name]["rate_per_second"] = RATE_PER_SECOND
    return json.dumps(limits)


@dataclass
class WorkerPool:
    """Two ``dex worker`` processes on the broker under test, kept while its tests run (a worker a test
    killed is replaced); the previous broker's stop when the next broker's tests begin."""

    env: dict[str, str]
    redis_url: str
    directory: Path
    running: dict[str, list[WorkerProcess]]

    def ensure(self, broker_url: str, count: int = 2) -> list[WorkerProcess]:
        self.stop_all(except_for=broker_url)
        alive = [worker for worker in self.running.get(broker_url, []) if worker.process.poll() is None]
        fresh = [self._spawn(broker_url) for _ in range(count - len(alive))]
        for worker in fresh:
            worker.wait_started()
        self.running[broker_url] = alive + fresh
        return self.running[broker_url]

    def _spawn(self, broker_url: str) -> WorkerProcess:
        log = self.directory / f"worker-{len(list(self.directory.iterdir()))}.log"
        command = [sys.executable, "-m", "dex.cli", "worker", "--broker", broker_url, "--concurrency", "8"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--limits-redis", self.redis_url],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return WorkerProcess(process, log)

    def stop_all(self, except_for: str | None = None) -> None:
        workers = [
            worker for url in list(self.running) if url != except_for for worker in self.running.pop(url)
        ]
        for worker in workers:
            worker.process.terminate()
        for worker in workers:
            worker.stop()


@pytest.fixture(scope="session")
def worker_pool(
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
    database_url: str,
    sandbox_server: SandboxHandle,
    redis_url: str,
) -> Iterator[WorkerPool]:
    env = {
        **dex_env(settings, database_url, sandbox_server.url),
        "DEX_PROVIDER_LIMITS": provider_limits_env(),
        "DEX_STEP_MAX_ATTEMPTS": "2",
        "DEX_STEP_RETRY_BASE_SECONDS": "0.05",
        "DEX_EXECUTOR_LEASE_SECONDS": str(LEASE_SECONDS),
        "DATABASE_POOL_SIZE": "5",
        # Longer than any scenario: the steps a worker's fan-out makes ready beyond its slots must be
        # claimed by that worker, or the scenario never ends.
        "DEX_WORKER_FIRST_CLAIM_SECONDS": "600",
    }
    pool = WorkerPool(env, redis_url, tmp_path_factory.mktemp("workers"), {})
    yield pool
    pool.stop_all()


@pytest.fixture
def workers(worker_pool: WorkerPool, broker_url: str) -> list[WorkerProcess]:
    return worker_pool.ensure(broker_url)


# --- the API and the publisher -------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def outbox_database(database_url: str) -> AsyncIterator[Database]:
    """The API's connections, with the outbox on (as `dex serve --executor dramatiq` has them)."""
    db = Database(database_url, pool_size=5)
    enable_outbox(db)
    yield db
    await db.dispose()


class ScaleoutExecutor:
    """What the pipeline scenarios ask of an executor, for the publisher and the worker processes."""

    def __init__(self, publisher: OutboxPublisher) -> None:
        self.publisher = publisher

    async def stop(self) -> None:
        await self.publisher.stop()

    async def wait_idle(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with self.publisher.database.transaction() as session:
                if not await repo.has_unfinished_steps(session):
                    return
            await asyncio.sleep(0.05)
        raise TimeoutError("the workers did not finish the pipeline")


@pytest.fixture
async def publisher(outbox_database: Database, broker_url: str) -> AsyncIterator[OutboxPublisher]:
    started = OutboxPublisher(outbox_database, broker_url, TEST_PUBLISHER_CONFIG)
    await started.start()
    yield started
    await started.close()


@pytest.fixture
async def pipeline(
    workers: list[WorkerProcess],
    publisher: OutboxPublisher,
    outbox_database: Database,
    sandbox_settings: Settings,
    providers: ProviderRuntime,
    tenant: Tenant,
) -> AsyncIterator[PipelineHarness]:
    """The scenarios' harness (tests/conftest.py) with the API in-process and two `dex worker`s."""
    app = create_app(sandbox_settings, database=outbox_database, providers=providers, run_executor=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        yield PipelineHarness(http, ScaleoutExecutor(publisher), tenant)  # type: ignore[arg-type]
