"""The processes a benchmark measures: the dex API, the provider sandbox, ``dex submit``, PostgreSQL.

CPU time is read from the kernel (psutil ``cpu_times``: user + system). PostgreSQL's work is done by the
postmaster's child processes, so its figure is the whole process tree, including children that exited.
Peak resident memory is sampled every 50 ms, because a process's own high-water mark cannot be reset
between the phases of one workload.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from dex.errors import DexError

SAMPLE_INTERVAL_SECONDS = 0.05


class BenchError(DexError):
    """The benchmark could not run (a process did not start, a workload did not finish)."""


class WatchedProcess:
    """CPU seconds and sampled peak RSS of one process (with ``with_children``, of its whole tree)."""

    def __init__(self, name: str, pid: int, *, with_children: bool = False) -> None:
        self.name = name
        self.process = psutil.Process(pid)
        self.with_children = with_children
        self.peak_rss = 0
        self._last_cpu = 0.0

    def sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def reset_peak(self) -> None:
        self.peak_rss = 0
        self.sample()

    def cpu_seconds(self) -> float:
        """Total CPU so far; after the process exits, the last value read."""
        with contextlib.suppress(psutil.Error):
            times = self.process.cpu_times()
            total = times.user + times.system
            if self.with_children:
                # Children that exited were accounted to their parent when it reaped them.
                total += times.children_user + times.children_system
                for child in self.process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child_times = child.cpu_times()
                        total += child_times.user + child_times.system
            self._last_cpu = total
        return self._last_cpu


@dataclass
class Sampler:
    """Samples the RSS of every watched process until stopped."""

    watched: list[WatchedProcess] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Sampler]:
        task = asyncio.create_task(self._loop())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            for process in self.watched:
                process.sample()
            await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)


def machine_busy_cpu_seconds() -> float:
    """CPU time every process of the machine spent, all cores together (what was not idle)."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    # Guest time is already counted in user time.
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return sum(times) - idle - guest


class CpuWindow:
    """The CPU each measured process used between ``open`` and ``close``, and how busy the whole machine
    was meanwhile: CPU the measured processes did not use means another workload shared the machine,
    which makes every figure of the run suspect."""

    def __init__(self, processes: list[WatchedProcess]) -> None:
        self.processes = list(processes)
        self.start = {process.name: process.cpu_seconds() for process in processes}
        self.machine_start = machine_busy_cpu_seconds()
        self.started = time.monotonic()

    def add(self, process: WatchedProcess) -> None:
        """A process started inside the window: all its CPU counts."""
        self.processes.append(process)
        self.start[process.name] = 0.0

    def close(self) -> tuple[dict[str, float], dict[str, float]]:
        """(CPU seconds by process, machine load)."""
        cpu = {process.name: process.cpu_seconds() - self.start[process.name] for process in self.processes}
        seconds = time.monotonic() - self.started
        busy = machine_busy_cpu_seconds() - self.machine_start
        machine = {
            "window_seconds": round(seconds, 3),
            "cpu_capacity_seconds": round(seconds * (os.cpu_count() or 1), 3),
            "cpu_busy_seconds": round(busy, 3),
            "other_processes_cpu_seconds": round(max(0.0, busy - sum(cpu.values())), 3),
        }
        return cpu, machine


def measured_processes(*processes: WatchedProcess | None) -> list[WatchedProcess]:
    """The given processes (None: not measurable, e.g. a remote PostgreSQL) and the bench's own."""
    return [*(process for process in processes if process is not None), WatchedProcess("bench", os.getpid())]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dex_command(*args: str) -> list[str]:
    """``dex <args>`` with this interpreter (the measured pid is the Python process itself)."""
    return [sys.executable, "-m", "dex.cli", *args]


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


class Background:
    """A process of a benchmark or chaos run (a broker, a worker, a server), its output in a log file."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.popen = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.watch = WatchedProcess(name, self.popen.pid)

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait()

    async def stop(self) -> None:
        """A graceful stop (SIGTERM: uvicorn shuts the app down, dex's executor finishes its writes)."""
        if self.popen.poll() is None:
            self.watch.cpu_seconds()  # the last reading stays available once the process is gone
            self.popen.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.popen.wait, 60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                await asyncio.to_thread(self.popen.wait)

    async def wait_until(self, ready: Callable[[], Awaitable[bool]], failure: str, timeout: float) -> None:
        """Poll ``ready`` until it holds; a clear error if the process exits first or ``timeout`` passes
        (``failure``: what the process did not do)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.popen.returncode}:\n{tail(self.log_path)}")
            if await ready():
                return
            await asyncio.sleep(0.1)
        raise BenchError(f"{self.name} {failure} within {timeout:.0f} s:\n{tail(self.log_path)}")

    async def wait_for_port(self, port: int, timeout: float = 30.0) -> None:
        async def listening() -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            writer.close()
            return True

        await self.wait_until(listening, f"was not listening on {port}", timeout)


async def start_redis(port: int, log_path: Path) -> Background:
    """A Redis broker of the run's own, without persistence (a restart loses every queued message)."""
    if shutil.which("redis-server") is None:
        raise BenchError(
            "redis-server is not installed (the dramatiq executor's broker): apt install redis-server"
        )
    broker = Background(
        "broker",
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        env=dict(os.environ),
        log_path=log_path,
    )
    await broker.wait_for_port(port)
    return broker


class Service(Background):
    """A dex command serving HTTP in its own process."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], log_path: Path, port: int) -> None:
        super().__init__(name, args, env=env, log_path=log_path)
        self.url = f"http://127.0.0.1:{port}"

    async def wait_ready(self, http: aiohttp.ClientSession, path: str, timeout: float = 90.0) -> None:
        async def answers() -> bool:
            try:
                async with http.get(self.url + path) as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await self.wait_until(answers, f"did not answer {path}", timeout)


def postgres_server(backend_pid: int) -> WatchedProcess | None:
    """The postmaster of the server a connection's backend (``pg_backend_pid()``) belongs to, when that
    server runs on this machine and is visible to us; None otherwise (a remote or containerised server)."""
    try:
        backend = psutil.Process(backend_pid)
        postmaster = backend.parent()
        if postmaster is None or not backend.name().startswith("postgres"):
            return None
        return WatchedProcess("postgres", postmaster.pid, with_children=True)
    except psutil.Error:
        return None
