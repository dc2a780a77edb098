"""`dex providers` and `dex providers check`, in an environment of the test's making (no keys but its own)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from dex.providers.catalog import PROVIDERS
from tests.conftest import SandboxHandle
from tests.dex_command import run_dex

KEY_SETTINGS = {name.upper() for info in PROVIDERS.values() for name in info.credential_settings}


async def dex(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in KEY_SETTINGS and not key.startswith("DEX_") and key != "DATABASE_URL"
    }
    result = await run_dex(*args, env={**base, "DEX_HOME": str(tmp_path), "COLUMNS": "200", **env})
    return result.returncode, result.stdout, result.stderr


async def test_lists_every_provider_with_its_operations(tmp_path: Path) -> None:
    code, out, err = await dex(tmp_path, "providers", "--json", PROSPEO_API_KEY="live-key")
    assert code == 0, err
    listed = {entry["provider"]: entry for entry in json.loads(out)}
    assert set(listed) == set(PROVIDERS)
    assert listed["prospeo"]["configured"] is True and listed["blitzapi"]["configured"] is False
    assert listed["revenueinfra"]["configured"] is None
    assert {entry["mode"] for entry in listed.values()} == {"live"}
    assert "company.enrich.profile" in listed["prospeo"]["operations"]
    assert listed["reoon"]["limits"]["timeout_seconds"] == 90
    assert listed["parallel"]["prices"] == {"*": 2.0, "poll": 0.0}


async def test_table_lists_providers(tmp_path: Path) -> None:
    code, out, err = await dex(tmp_path, "providers")
    assert code == 0, err
    assert "sandbox mode" in out and "millionverifier" in out and "not set" in out


async def test_nothing_to_check_without_keys(tmp_path: Path) -> None:
    code, out, err = await dex(tmp_path, "providers", "check")
    assert code == 0, err
    assert "nothing to check" in out


async def test_check_against_the_sandbox(tmp_path: Path, sandbox: SandboxHandle) -> None:
    code, out, err = await dex(
        tmp_path, "providers", "check", "--json", DEX_PROVIDER_MODE="sandbox", DEX_SANDBOX_URL=sandbox.url
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["mode"] == "sandbox"
    statuses = {result["provider"]: result["status"] for result in report["results"]}
    assert set(statuses) == {name for name, info in PROVIDERS.items() if info.credential_settings}
    assert set(statuses.values()) == {"valid"}
    credits = {result["provider"]: result["credits_remaining"] for result in report["results"]}
    assert credits["prospeo"] == 10_000 and credits["storeleads"] is None


async def test_bad_live_key_is_a_clear_failure(tmp_path: Path, sandbox: SandboxHandle) -> None:
    base_urls = json.dumps({"prospeo": f"{sandbox.url}/prospeo", "reoon": f"{sandbox.url}/reoon"})
    env = {
        "DEX_PROVIDER_MODE": "live",
        "DEX_PROVIDER_BASE_URLS": base_urls,
        "PROSPEO_API_KEY": "expired-key",
        "REOON_API_KEY": "sandbox-reoon-key",
    }
    code, out, err = await dex(tmp_path, "providers", "check", **env)
    assert code == 1
    assert "Traceback" not in out + err
    assert "invalid_key" in out and "rejected the key" in out
    code, out, err = await dex(tmp_path, "providers", "check", "--json", **env)
    assert code == 1, err
    statuses = {result["provider"]: result["status"] for result in json.loads(out)["results"]}
    assert statuses == {"prospeo": "invalid_key", "reoon": "valid"}


async def test_named_provider(tmp_path: Path, sandbox: SandboxHandle) -> None:
    code, out, err = await dex(
        tmp_path,
        "providers",
        "check",
        "icypeas",
        "--json",
        DEX_PROVIDER_MODE="sandbox",
        DEX_SANDBOX_URL=sandbox.url,
    )
    assert code == 0, err
    assert [result["provider"] for result in json.loads(out)["results"]] == ["icypeas"]


async def test_unknown_provider_is_refused(tmp_path: Path) -> None:
    code, _, err = await dex(tmp_path, "providers", "check", "nosuch")
    assert code == 1
    assert "unknown provider(s): nosuch" in err and "Traceback" not in err
