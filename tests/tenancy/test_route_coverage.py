"""Every route is classified in ``ROUTE_POLICIES``, tenant-facing routes have an isolation case, and every
route that needs credentials refuses requests without them (or with the wrong kind)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from tests.tenancy.route_policies import ISOLATION_CASES, ROUTE_POLICIES
from tests.tenancy.world import World

# Documentation and liveness: served to anyone, outside the API proper.
UNCLASSIFIED_PATHS = {"/health", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc"}
TENANT_FACING = {"tenant", "flexible"}
# The web console signs in with a session cookie rather than bearer credentials, and the docs' assets are
# public files: tests/console covers the console's access rules.
OUTSIDE_THE_API = ("/console", "/docs-assets")


def _routes(app: FastAPI) -> dict[str, str]:
    """path → one HTTP method it answers (HEAD only when it is the sole one)."""
    routes: dict[str, str] = {}
    for route in iter_route_contexts(app.routes):
        methods = sorted(route.methods or {"GET"}, key=lambda method: method == "HEAD")
        if route.path not in UNCLASSIFIED_PATHS and not route.path.startswith(OUTSIDE_THE_API):
            routes.setdefault(route.path, methods[0])
    return routes


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database, run_executor=False)


def _callable(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def test_every_route_has_a_policy(app: FastAPI) -> None:
    unclassified = sorted(set(_routes(app)) - set(ROUTE_POLICIES))
    assert not unclassified, f"classify these routes in tests/tenancy/route_policies.py: {unclassified}"


def test_every_policy_names_a_route(app: FastAPI) -> None:
    stale = sorted(set(ROUTE_POLICIES) - set(_routes(app)))
    assert not stale, f"ROUTE_POLICIES lists routes the app does not have: {stale}"


def test_tenant_facing_routes_have_isolation_cases() -> None:
    covered = {case.path for case in ISOLATION_CASES}
    missing = sorted(
        path for path, policy in ROUTE_POLICIES.items() if policy in TENANT_FACING and path not in covered
    )
    assert not missing, f"add IsolationCase entries in tests/tenancy/route_policies.py for: {missing}"


async def _refusals(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], policies: set[str]
) -> list[str]:
    problems = []
    for path, method in sorted(_routes(app).items()):
        if ROUTE_POLICIES.get(path) not in policies:
            continue
        response = await client.request(method, _callable(path), json={}, headers=headers)
        body = response.json()
        if response.status_code != 401 or set(body) != {"error"}:
            problems.append(f"{method} {path}: {response.status_code} {body}")
    return problems


async def test_routes_refuse_requests_without_credentials(app: FastAPI, client: httpx.AsyncClient) -> None:
    problems = await _refusals(app, client, {}, {"tenant", "super_admin", "flexible", "internal"})
    assert not problems, "\n".join(problems)
    response = await client.post("/api/companies/list", json={})
    assert response.json() == {"error": "Missing authorization token"}


async def test_routes_refuse_the_wrong_kind_of_credentials(
    app: FastAPI, client: httpx.AsyncClient, world: World, admin_headers: dict[str, str]
) -> None:
    org_admin = world.a.principals["org_admin"]
    problems = []
    for method in ("jwt", "api_token"):
        problems += await _refusals(app, client, world.bearer(org_admin, method), {"super_admin", "internal"})
    problems += await _refusals(app, client, admin_headers, {"tenant", "internal"})
    assert not problems, "\n".join(problems)
