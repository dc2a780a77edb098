"""`dex demo` keeps serving after its batch and prints the console's address and a login that works."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import httpx

from dex.config import Settings
from tests.conftest import SandboxHandle
from tests.console.test_http import csrf_of
from tests.dex_command import dex_env

LOGIN_LINE = re.compile(r"Console: (http://\S+?)/console/batches/\S+\s+sign in as (\S+) with password (\S+)")


async def test_demo_serves_the_console_until_interrupted(
    database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dex.cli",
        "demo",
        env=dex_env(settings, database_url, sandbox.url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    output = ""
    try:
        async with asyncio.timeout(120):
            while not (found := LOGIN_LINE.search(output)):
                line = await process.stdout.readline()
                assert line, f"dex demo ended early: {output}"
                output += line.decode()
            output += (await process.stdout.readline()).decode()
        base_url, email, password = found.groups()
        assert "Serving until Ctrl-C" in output
        async with httpx.AsyncClient(base_url=base_url) as client:
            token = csrf_of(await client.get("/console/login"))
            signed_in = await client.post(
                "/console/login", data={"email": email, "password": password, "csrf_token": token}
            )
            assert signed_in.status_code == 303
            batches = await client.get("/console/batches")
            assert batches.status_code == 200 and "completed" in batches.text
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(60):
            await process.wait()
    assert process.returncode == 0
