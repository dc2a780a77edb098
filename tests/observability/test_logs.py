"""Structured logs: JSON lines with the ids of the work in progress, secrets redacted in every format, and
``dex serve`` logging JSON by default."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import aiohttp
import pytest

from dex.config import Settings
from dex.observability import JsonFormatter, RedactSecrets, configure_logging, log_context, secret_values
from tests.conftest import SandboxHandle


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """A JSON handler on a buffer, as configure_logging builds it, on a logger of its own."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets(["s3cr3t-provider-key"]))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("dex.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream, handler
    finally:
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_ids_of_the_work(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, _ = captured
    logger = logging.getLogger("dex.test.logs")
    with log_context(submission_id="sub-1", pipeline_run_id="run-1"):
        with log_context(step_result_id="step-1"):
            logger.info("step %s done", 3, extra={"provider": "prospeo"})
        logger.warning("after the step")
    logger.info("outside")
    first, second, third = _lines(stream)
    assert (
        first["message"] == "step 3 done" and first["level"] == "info" and first["logger"] == "dex.test.logs"
    )
    assert (first["submission_id"], first["pipeline_run_id"], first["step_result_id"]) == (
        "sub-1",
        "run-1",
        "step-1",
    )
    assert first["provider"] == "prospeo" and first["time"].endswith("+00:00")
    assert "step_result_id" not in second and second["pipeline_run_id"] == "run-1"
    assert "submission_id" not in third


def test_secrets_are_redacted_in_messages_and_tracebacks(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    stream, _ = captured
    logger = logging.getLogger("dex.test.logs")
    logger.info("calling with key s3cr3t-provider-key and Authorization: Bearer abc.def-123")
    try:
        raise RuntimeError("signing with whsec_AbC123-xyz failed")
    except RuntimeError:
        logger.exception("webhook failed")
    text = stream.getvalue()
    for secret in ("s3cr3t-provider-key", "abc.def-123", "whsec_AbC123-xyz"):
        assert secret not in text
    message, failure = _lines(stream)
    assert message["message"] == "calling with key [redacted] and Authorization: Bearer [redacted]"
    assert "RuntimeError: signing with [redacted] failed" in failure["exception"]


def test_secret_values_come_from_the_settings(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"prospeo_api_key": "prospeo-live-key", "database_url": "postgresql://dex:db-pass-9@db/dex"}
    )
    values = secret_values(configured)
    for expected in ("prospeo-live-key", "db-pass-9", settings.jwt_secret, settings.super_admin_api_key):
        assert expected in values
    assert "dex" not in values


def test_text_logs_are_redacted_too() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("text", secrets=["hunter2-password"])
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("dex.test").warning("password is hunter2-password")
        assert stream.getvalue().rstrip().endswith("WARNING dex.test password is [redacted]")
        with pytest.raises(ValueError):
            configure_logging("xml")
    finally:
        root.handlers, root.level = saved[0], saved[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_dex_serve_logs_json_lines(
    database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": settings.jwt_secret or "",
        "SUPER_ADMIN_JWT_SECRET": settings.super_admin_jwt_secret or "",
        "SUPER_ADMIN_API_KEY": settings.super_admin_api_key or "",
        "DEX_PROVIDER_MODE": "sandbox",
        "DEX_SANDBOX_URL": sandbox.url,
    }
    env.pop("DEX_LOG_FORMAT", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dex.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Until the server answers, however slow its start on a loaded machine; a dead process ends it.
        async with asyncio.timeout(300), aiohttp.ClientSession() as http:
            healthy = False
            while not healthy and process.returncode is None:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/health") as response:
                        healthy = response.status == 200
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        assert healthy, "dex serve exited before it answered"
    finally:
        process.terminate()
        _, stderr = await process.communicate()
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert any(line["logger"].startswith("dex") for line in lines)
    assert settings.super_admin_api_key not in stderr.decode()
