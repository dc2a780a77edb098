"""From `dex admin bootstrap` to commands that need no --api-url or --token: the export lines bootstrap
prints, `dex login` / `dex logout` and the file they keep, against a running API."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.providers.runtime import ProviderRuntime
from dex.server import serve_in_background
from tests.conftest import SandboxHandle
from tests.dex_command import dex_env, run_dex

EMAIL = "new.user@example.test"
PASSWORD = "a long enough password"
EXPORT_LINE = re.compile(r"^export (?P<name>DEX_API_URL|DEX_API_TOKEN)=(?P<value>\S+)$", re.MULTILINE)


@pytest.fixture
async def api_url(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime
) -> AsyncIterator[str]:
    app = create_app(sandbox_settings, database=database, providers=providers, run_executor=False)
    async with serve_in_background(app) as url:
        yield url


@pytest.fixture
def env(tmp_path: Path, settings: Settings, database_url: str, sandbox: SandboxHandle) -> dict[str, str]:
    """The user's shell: the test database for `dex admin`, and a configuration directory of its own."""
    return {**dex_env(settings, database_url, sandbox.url), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def saved_login(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "dex" / "credentials.json"


async def dex_ok(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = await run_dex(*args, env=env, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def dex_refused(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = await run_dex(*args, env=env, stdin=stdin)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dex: "), result.stderr
    return lines[0]


async def test_bootstrap_prints_what_the_next_commands_need(api_url: str, env: dict[str, str]) -> None:
    printed = await dex_ok(
        "admin", "bootstrap", "--email", EMAIL, "--password", PASSWORD, "--api-url", api_url, env=env
    )
    assert "created blueprint people-at-companies" in printed
    assert re.search(r"^org Default Org \(default\): [0-9a-f-]{36}$", printed, re.MULTILINE), printed
    assert re.search(r"^company Default Company: [0-9a-f-]{36}$", printed, re.MULTILINE), printed
    exports = {match["name"]: match["value"] for match in EXPORT_LINE.finditer(printed)}
    assert exports["DEX_API_URL"] == api_url

    # The two pasted lines are all the next command needs: the org already has the example blueprint.
    shown = await dex_ok("blueprint", "show", "people-at-companies", env={**env, **exports})
    assert "person.contact.verify_email" in shown

    again = await dex_ok("admin", "bootstrap", "--email", EMAIL, "--api-url", api_url, env=env)
    assert "kept the existing blueprint people-at-companies" in again and "export" not in again
    assert f"dex login --api-url {api_url} --email {EMAIL}" in again


async def test_login_keeps_the_session_until_logout(api_url: str, env: dict[str, str]) -> None:
    await dex_ok("admin", "bootstrap", "--email", EMAIL, "--password", PASSWORD, env=env)
    login = ("login", "--api-url", api_url, "--email", EMAIL.upper())

    wrong = await dex_refused(*login, env=env, stdin="not the password\n")
    assert wrong == "dex: /api/auth/login: Invalid credentials"
    assert not saved_login(env).exists()

    logged_in = await dex_ok(*login, env=env, stdin=f"{PASSWORD}\n")  # typed at the prompt, or piped
    assert f"logged in to {api_url} as {EMAIL} (org_admin of org " in logged_in
    saved = saved_login(env)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    session = json.loads(saved.read_text())
    assert (session["api_url"], session["email"]) == (api_url, EMAIL)

    # No flag: the saved session drives the running API (dex in-process would have no such blueprint).
    assert "people-at-companies" in await dex_ok("blueprint", "list", env=env)
    # An explicit token wins over the saved one.
    overridden = await dex_refused("blueprint", "list", env={**env, "DEX_API_TOKEN": "not-a-token"})
    assert overridden == "dex: /api/blueprints/list: Invalid authentication token"

    assert (await dex_ok("logout", env=env)).strip() == f"logged out ({saved} removed)"
    assert not saved.exists()
    assert (await dex_ok("logout", env=env)).strip() == "not logged in"


async def test_a_saved_session_that_stopped_working_says_how_to_renew_it(
    api_url: str, env: dict[str, str]
) -> None:
    saved = saved_login(env)
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps({"api_url": api_url, "token": "expired", "email": EMAIL}))
    refused = await dex_refused("blueprint", "list", env=env)
    assert refused == (
        "dex: /api/blueprints/list: Invalid authentication token — the session saved by `dex login` no "
        f"longer works: run `dex login --api-url {api_url} --email {EMAIL}` again"
    )

    saved.write_text("{not json")
    damaged = await dex_refused("blueprint", "list", env=env)
    assert damaged == f"dex: {saved} is damaged: run `dex login` again, or `dex logout` to remove it"


async def test_unreachable_api_is_one_line(env: dict[str, str]) -> None:
    refused = await dex_refused(
        "login", "--api-url", "http://127.0.0.1:9", "--email", EMAIL, "--password", "x", env=env
    )
    assert refused.startswith("dex: cannot reach the dex API at http://127.0.0.1:9 (")
    assert refused.endswith("is `dex serve` running?")
