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
from dex.config import get_settings

# The runner swaps sys.stdin/stdout/stderr and os.environ for the whole process: one command at a time.
_ONE_COMMAND = threading.Lock()


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


async def run_dex(*args: str, env: Mapping[str, str], stdin: str | None = None) -> Outcome:
    """``dex *args`` with exactly ``env`` as its environment, in a thread: the test's event loop keeps
    serving the sandbox and the API the command talks to."""
    return await asyncio.to_thread(run_dex_blocking, *args, env=env, stdin=stdin)


def run_dex_blocking(*args: str, env: Mapping[str, str], stdin: str | None = None) -> Outcome:
    unset: dict[str, str | None] = {name: None for name in os.environ if name not in env}
    with _ONE_COMMAND, _process_state_restored():
        result = CliRunner().invoke(
            app, list(args), input=stdin or "", env={**unset, **env}, catch_exceptions=False
        )
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
