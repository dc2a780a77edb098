"""`dex admin` against the test database, the way an operator runs it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from dex.config import Settings
from dex.db.engine import Database
from dex.tenancy.models import ApiToken, Company, Org, SuperAdmin, User
from tests.dex_command import run_dex
from tests.tenancy.world import World

TOKEN_LINE = re.compile(r"^API token (?P<id>[0-9a-f-]{36}) \(shown once\): (?P<token>dex_\S+)$", re.MULTILINE)


@pytest.fixture
def dex_env(tmp_path: Path, database_url: str, settings: Settings, database: Database) -> dict[str, str]:
    return {
        **os.environ,
        "DEX_HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "JWT_SECRET": settings.jwt_secret or "",
        "SUPER_ADMIN_JWT_SECRET": settings.super_admin_jwt_secret or "",
    }


async def admin(env: dict[str, str], *args: str) -> str:
    result = await run_dex("admin", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def refused(env: dict[str, str], *args: str) -> str:
    result = await run_dex("admin", *args, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dex: "), result.stderr
    return lines[0]


async def counts(database: Database) -> dict[str, int]:
    async with database.transaction() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (SuperAdmin, Org, Company, User, ApiToken)
        }


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/me", headers={"authorization": f"Bearer {token}"})


BOOTSTRAP = ("bootstrap", "--email", "Ops@Example.test", "--org-slug", "ops")
GENERATED_PASSWORD = re.compile(r"^generated password \(shown once\): (?P<password>\S+)$", re.MULTILINE)


async def test_bootstrap_is_idempotent(
    dex_env: dict[str, str], database: Database, client: httpx.AsyncClient
) -> None:
    first = await admin(dex_env, *BOOTSTRAP)
    assert "created super-admin ops@example.test" in first
    assert "created org_admin user ops@example.test" in first
    password, token = GENERATED_PASSWORD.search(first), TOKEN_LINE.search(first)
    assert password is not None and token is not None, first
    once = {"super_admins": 1, "orgs": 1, "companies": 1, "users": 1, "api_tokens": 1}
    assert await counts(database) == once
    response = await me(client, token["token"])
    assert (response.status_code, response.json()["data"]["role"]) == (200, "org_admin")

    second = await admin(dex_env, *BOOTSTRAP, "--password", "a different password")
    assert "dex_" not in second and "generated password" not in second
    assert "no new API token (pass --new-token to create one)" in second
    assert "org ops already exists" in second and "(password unchanged)" in second
    assert await counts(database) == once

    third = await admin(dex_env, *BOOTSTRAP, "--new-token")
    assert TOKEN_LINE.search(third) is not None and GENERATED_PASSWORD.search(third) is None
    assert await counts(database) == {**once, "api_tokens": 2}

    credentials = {"email": "ops@example.test", "password": password["password"]}
    for login in ("/api/auth/login", "/api/super-admin/login"):
        response = await client.post(login, json=credentials)
        assert response.status_code == 200, response.text


async def test_token_create_and_revoke(
    dex_env: dict[str, str], client: httpx.AsyncClient, world: World
) -> None:
    member = world.a.principals["member"]
    expiry = ("--expires-at", "2999-01-01")
    created = await admin(
        dex_env, "token", "create", "--user-email", "Member@A.test", "--name", "ci", *expiry
    )
    token = TOKEN_LINE.search(created)
    assert token is not None, created
    assert (await me(client, token["token"])).json()["data"]["user_id"] == str(member.user_id)

    revoked = await admin(dex_env, "token", "revoke", token["id"])
    assert revoked.strip() == f"revoked API token {token['id']} (ci)"
    assert (await me(client, token["token"])).json() == {"error": "API token is revoked"}

    assert await refused(
        dex_env, "token", "create", "--user-email", "nobody@example.test", "--name", "x"
    ) == ("dex: User not found")
