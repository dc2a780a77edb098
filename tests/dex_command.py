"""The ``dex`` command run inside the test process: the same argument parsing, output, exit codes and
environment as ``python -m dex.cli``, without the two seconds of CPU a new process spends importing the app
before its first line (the suite runs a hundred commands). tests/test_cli.py, tests/test_readme.py and the
crash tests run real processes."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from typer.testing import CliRunner

from dex.cli import app
from dex.config import Settings, get_settings

# The runner swaps sys.stdin/stdout/stderr and os.environ for the whole process: one command at a time.
_ONE_COMMAND = threading.Lock()
# A bound against a hung command (the test fails instead of waiting forever), not a speed target.
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def dex_env(settings: Settings, database_url: str, sandbox_url: str) -> dict[str, str]:
    """What an operator's shell holds for a dex command on the test database and sandbox (in this process
    or in a ``dex`` process of its own)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": settings.jwt_secret or "",
        "SUPER_ADMIN_JWT_SECRET": settings.super_admin_jwt_secret or "",
        "SUPER_ADMIN_API_KEY": settings.super_admin_api_key or "",
        "DEX_PROVIDER_MODE": "sandbox",
        "DEX_SANDBOX_URL": sandbox_url,
        "COLUMNS": "200",
    }


async def run_dex(*args: str, env: Mapping[str, str], stdin: str | None = None) -> Outcome:
    """``dex *args`` with exactly ``env`` as its environment, in a thread: the test's event loop keeps
    serving the sandbox and the API the command talks to."""
    return await asyncio.wait_for(asyncio.to_thread(_invoke, args, env, stdin), COMMAND_TIMEOUT)


def _invoke(args: tuple[str, ...], env: Mapping[str, str], stdin: str | None) -> Outcome:
    if not _ONE_COMMAND.acquire(timeout=COMMAND_TIMEOUT):
        raise TimeoutError("an earlier dex command of this test process never finished")
    unset: dict[str, str | None] = {name: None for name in os.environ if name not in env}
    try:
        with _process_state_restored():
            result = CliRunner().invoke(
                app, list(args), input=stdin or "", env={**unset, **env}, catch_exceptions=False
            )
    finally:
        _ONE_COMMAND.release()
    return Outcome(result.exit_code, result.stdout, result.stderr)


@contextmanager
def _process_state_restored() -> Iterator[None]:
    """A process reads its settings once and configures logging for itself; the test process runs many
    commands, each with its own environment, and keeps its own logging."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
        root.handlers[:] = handlers
        root.setLevel(level)
