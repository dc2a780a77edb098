"""The `dex` command, run as a real subprocess the way an operator runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

DEX = [sys.executable, "-m", "dex.cli"]


def run_dex(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [*DEX, *args], env={**base, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )


def closed_local_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_version() -> None:
    result = run_dex("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("dex ")


def test_unreachable_database_fails_fast_with_one_line(tmp_path: Path) -> None:
    env = {
        "DEX_HOME": str(tmp_path),
        "DATABASE_URL": f"postgresql://dex:pw@127.0.0.1:{closed_local_port()}/dex",
        "JWT_SECRET": "x",
        "SUPER_ADMIN_JWT_SECRET": "y",
    }
    result = run_dex("serve", env=env, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dex: cannot connect to the database at 127.0.0.1:")
    assert "Traceback" not in result.stderr and "pw" not in result.stderr


def test_missing_secret_with_database_url_is_named(tmp_path: Path) -> None:
    env = {"DEX_HOME": str(tmp_path), "DATABASE_URL": "postgresql://dex@127.0.0.1/dex"}
    result = run_dex("db", "status", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "dex: JWT_SECRET is not set (required when DATABASE_URL is set)"


def test_an_invalid_setting_is_named_with_what_it_must_be(tmp_path: Path) -> None:
    env = {"DEX_HOME": str(tmp_path), "DEX_STEP_TIMEOUT_SECONDS": "7200"}
    result = run_dex("db", "status", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "dex: invalid setting — DEX_STEP_TIMEOUT_SECONDS: Input should be less than or equal to 3000"
    )


def test_embedded_mode_starts_migrates_and_reuses_its_server(tmp_path: Path) -> None:
    env = {"DEX_HOME": str(tmp_path)}
    try:
        first = run_dex("db", "upgrade", env=env, timeout=120)
        assert first.returncode == 0, first.stderr
        pid = (tmp_path / "pg" / "postmaster.pid").read_text().splitlines()[0]
        second = run_dex("db", "upgrade", env=env)
        assert second.returncode == 0, second.stderr
        assert (tmp_path / "pg" / "postmaster.pid").read_text().splitlines()[0] == pid
        status = run_dex("db", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert "embedded" in status.stdout
        assert (tmp_path / "secrets.json").exists()
    finally:
        stopped = run_dex("db", "stop", env=env)
        assert stopped.returncode == 0, stopped.stderr
