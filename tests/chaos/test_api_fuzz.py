"""API fuzzing: schemathesis generates requests from dex's OpenAPI document and sends them to the real app,
served over HTTP on the test database, after a world of real data was built through the API (two orgs with
companies, users, tokens, a blueprint, a batch run to completion on the sandbox, entities, a webhook and a
budget: ``tests/chaos/fuzz_world.py``).

Every operation is fuzzed as org A's admin, as a super-admin, and without credentials. Ids in generated
bodies are replaced, case by case, with real ids of org A and of org B, so requests reach past "not found"
into the states where access checks matter. Every answer must be one the document declares (no 5xx, a
documented status code, a conforming content type, body and headers; errors are the ``{"error": …}``
envelope), and no answer to org A's admin (or to an anonymous caller) may mention org B's ids or names,
unless the request itself carried them.

Generation is seeded (``FUZZ_SEED``, or ``DEX_FUZZ_SEED`` to explore others; ``DEX_FUZZ_EXAMPLES`` for more
examples per operation), so a run replays exactly; a failure prints the request as a curl command and the
seed it came from.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.errors import FailureGroup

from dex.api.app import create_app
from dex.config import Settings
from dex.sandbox.app import create_sandbox_app
from dex.server import serve_in_background
from tests.chaos.fuzz_world import SeededOrg, seed_org

FUZZ_SEED = int(os.environ.get("DEX_FUZZ_SEED", "20260611"))
# Examples per operation and caller: small for `make test`; raise DEX_FUZZ_EXAMPLES to search deeper.
FUZZ_EXAMPLES = int(os.environ.get("DEX_FUZZ_EXAMPLES", "8"))

# Every fuzz test shares one seeded world: they run on one xdist worker, one after the other.
pytestmark = pytest.mark.xdist_group("api_fuzz")

# The document depends on the routes only, so an app that never starts (no database) can describe the one
# under test; it is read at import time because schemathesis makes one test per operation at collection.
DOCUMENT = create_app(
    Settings(
        _env_file=None,
        database_url="postgresql://unused.invalid/dex",
        jwt_secret="openapi-document-only-jwt-secret-0123",
        super_admin_jwt_secret="openapi-document-only-super-admin-secret",
    ),
    run_executor=False,
).openapi()


def fuzz_schema(*, boundary_values: bool) -> Any:
    return schemathesis.openapi.from_dict(
        DOCUMENT,
        config=schemathesis.Config.from_dict(
            {
                "seed": FUZZ_SEED,
                # Valid and invalid inputs; credentials are the test's to give, never generated.
                "generation": {"mode": "all", "with-security-parameters": False},
                "phases": {
                    # Every field's boundary values (beyond max_examples): the inputs that reach the
                    # database's limits. Invalid values are left to random generation: the request models
                    # refuse them all the same way, before dex's code runs.
                    "coverage": {"enabled": boundary_values, "generation": {"mode": "positive"}},
                    # The document declares no links; real ids come from the seeded world instead.
                    "stateful": {"enabled": False},
                },
            }
        ),
    )


# Boundary values are sent by the org admin. Super-admins are fuzzed on the routes that accept them (their
# own, the flexible /api/v1 ones, /metrics): elsewhere they get the 401 an anonymous caller gets. Without
# credentials, every operation that needs them answers 401 before reading its input, so a few examples
# each suffice.
schema = fuzz_schema(boundary_values=True)
super_admin_schema = fuzz_schema(boundary_values=False).include(
    path_regex="^/(api/super-admin/|api/v1/|metrics)"
)
anonymous_schema = fuzz_schema(boundary_values=False)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # The world is built once per module; the examples of every test share it on purpose. Large bodies are
    # slow to generate on a busy machine, which says nothing about the API.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANONYMOUS_SETTINGS = settings(FUZZ_SETTINGS, max_examples=max(1, FUZZ_EXAMPLES // 3))

# Request fields that name a resource, and which kind of the world's ids fits each; any other field
# ending in ``id`` gets an id of any kind.
ID_FIELDS = {
    "org_id": "org_id",
    "company_id": "company_id",
    "user_id": "user_id",
    "blueprint_id": "blueprint_id",
    "submission_id": "submission_id",
    "pipeline_run_id": "pipeline_run_id",
    "run_id": "pipeline_run_id",
    "parent_pipeline_run_id": "pipeline_run_id",
    "entity_id": "entity_id",
}


@pytest.fixture(scope="module")
def portal() -> Iterator[Any]:
    """An event loop of its own for the servers: the synchronous tests below do not run pytest's."""
    with start_blocking_portal() as blocking_portal:
        yield blocking_portal


@pytest.fixture(scope="module")
def sandbox_url(portal: Any) -> Iterator[str]:
    with portal.wrap_async_context_manager(serve_in_background(create_sandbox_app())) as url:
        yield url


@pytest.fixture(scope="module")
def fuzz_settings(settings: Settings, sandbox_url: str) -> Settings:
    return settings.model_copy(
        update={"dex_provider_mode": "sandbox", "dex_sandbox_url": sandbox_url, "database_pool_size": 5}
    )


@pytest.fixture(scope="module")
def world(portal: Any, fuzz_settings: Settings) -> tuple[SeededOrg, SeededOrg]:
    """Orgs A and B, built through the API with the embedded executor running (the batches complete)."""
    operator = {"Authorization": f"Bearer {fuzz_settings.super_admin_api_key}"}
    app = create_app(fuzz_settings, run_executor=True)
    with (
        portal.wrap_async_context_manager(serve_in_background(app)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        return seed_org(http, operator, "a"), seed_org(http, operator, "b")


@pytest.fixture(scope="module")
def api_url(portal: Any, fuzz_settings: Settings, world: tuple[SeededOrg, SeededOrg]) -> Iterator[str]:
    """The API as ``dex serve`` runs it, without the executor (fuzzed submissions stay queued), started
    once for every test of the module."""
    app = create_app(fuzz_settings, run_executor=False)
    with portal.wrap_async_context_manager(serve_in_background(app)) as url:
        yield url


def with_world_ids(body: Any, own: SeededOrg, other: SeededOrg, chooser: random.Random) -> Any:
    """``body`` with some of its id fields set to a real id of org A or of org B (or left as generated)."""
    if isinstance(body, list):
        return [with_world_ids(item, own, other, chooser) for item in body]
    if not isinstance(body, dict):
        return body
    result = {}
    for key, value in body.items():
        if isinstance(value, str) and (key == "id" or key.endswith("_id")):
            org = chooser.choice((own, other, None))
            if org is not None:
                kind = ID_FIELDS.get(key)
                candidates = org.ids.get(kind, []) if kind else org.every_id
                value = chooser.choice(candidates) if candidates else value
        result[key] = with_world_ids(value, own, other, chooser)
    return result


def leaked(response_text: str, request_text: str, org: SeededOrg) -> list[str]:
    """Org ``org``'s ids and names in an answer that the request did not carry itself."""
    return [marker for marker in org.markers if marker in response_text and marker not in request_text]


def fuzz(
    case: schemathesis.Case,
    caller: str,
    headers: dict[str, str],
    api_url: str,
    world: tuple[SeededOrg, SeededOrg],
) -> None:
    own, other = world
    if isinstance(case.body, dict | list):
        case.body = with_world_ids(case.body, own, other, random.Random(repr(case.body)))
    try:
        response = case.call(base_url=api_url, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        request_text = json.dumps(case.body) if isinstance(case.body, dict | list) else ""
        # A super-admin sees every org; a tenant sees its own; an anonymous caller sees none.
        for org in {"org_admin": [other], "super_admin": [], "anonymous": [own, other]}[caller]:
            found = leaked(response.text, request_text, org)
            assert not found, (
                f"{caller} got {org.slug}'s data {found}: {response.status_code} {response.text[:500]}"
            )
    except FailureGroup as failures:
        # The report already holds the request as a curl command; it gets who sent it and how to replay it.
        replay = f"Sent as {caller}. Fuzz seed {FUZZ_SEED} (DEX_FUZZ_SEED): rerunning the test replays it.\n"
        raise FailureGroup(list(failures.exceptions), failures.message + replay) from None


# One test per operation and caller. A parameter keeps the tests' ids apart: pytest 9 gives the per-operation
# tests of schemathesis 4 one id, and xdist (--dist loadgroup) would run only one of them.
@schema.parametrize()
@pytest.mark.parametrize("caller", ["org_admin"])
@FUZZ_SETTINGS
def test_every_operation_answers_an_org_admin_as_documented(
    case: schemathesis.Case, caller: str, api_url: str, world: tuple[SeededOrg, SeededOrg]
) -> None:
    fuzz(case, caller, {"Authorization": f"Bearer {world[0].admin_token}"}, api_url, world)


@super_admin_schema.parametrize()
@pytest.mark.parametrize("caller", ["super_admin"])
@FUZZ_SETTINGS
def test_every_operation_answers_a_super_admin_as_documented(
    case: schemathesis.Case,
    caller: str,
    api_url: str,
    world: tuple[SeededOrg, SeededOrg],
    fuzz_settings: Settings,
) -> None:
    fuzz(case, caller, {"Authorization": f"Bearer {fuzz_settings.super_admin_api_key}"}, api_url, world)


@anonymous_schema.parametrize()
@pytest.mark.parametrize("caller", ["anonymous"])
@ANONYMOUS_SETTINGS
def test_every_operation_answers_an_anonymous_caller_as_documented(
    case: schemathesis.Case, caller: str, api_url: str, world: tuple[SeededOrg, SeededOrg]
) -> None:
    fuzz(case, caller, {}, api_url, world)


def test_the_world_reaches_deep_states(api_url: str, world: tuple[SeededOrg, SeededOrg]) -> None:
    """The fuzz runs against real data: each org has finished runs, entities and a webhook endpoint."""
    for org in world:
        assert org.ids["pipeline_run_id"] and org.ids["entity_id"] and org.ids["endpoint_id"]
        headers = {"Authorization": f"Bearer {org.admin_token}"}
        companies = httpx.post(f"{api_url}/api/v1/entities/companies", json={}, headers=headers)
        assert companies.status_code == 200 and len(companies.json()["data"]["items"]) >= 2
