"""API fuzzing: schemathesis generates requests from dex's OpenAPI document and sends them to the real app,
in-process, on the test database. Every operation is fuzzed as an org admin and without credentials, and
every answer must be one the document declares: no 5xx, a documented status code, and a content type, body
and headers that conform to it (errors are the ``{"error": …}`` envelope).

Generation is seeded (``FUZZ_SEED``, or ``DEX_FUZZ_SEED`` to explore others), so a run replays exactly; a
failure prints the request as a curl command and the seed it came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI
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
from tests.conftest import Tenant

FUZZ_SEED = int(os.environ.get("DEX_FUZZ_SEED", "20260611"))

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


schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": FUZZ_SEED,
            # Valid and invalid inputs; credentials are the test's to give, never generated.
            "generation": {"mode": "all", "with-security-parameters": False},
            "phases": {
                # Every field's boundary values (beyond max_examples): the inputs that reach the database's
                # limits. Invalid values are left to random generation: the request models refuse them all
                # the same way, before dex's code runs.
                "coverage": {"generation": {"mode": "positive"}},
                # The document declares no links to follow.
                "stateful": {"enabled": False},
            },
        }
    ),
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

FUZZ_SETTINGS = settings(
    max_examples=10,
    deadline=None,
    # The tenant is created once per test; the examples of one test share it on purpose. Large bodies are
    # slow to generate on a busy machine, which says nothing about the API.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """The provider sandbox on an event loop of its own. schemathesis runs the app on its own loop thread,
    and the session sandbox's loop (pytest's) does not run while a synchronous test does."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve_in_background(create_sandbox_app())) as url,
    ):
        yield url


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings, sandbox_url: str) -> FastAPI:
    """The API as ``dex serve`` runs it, without the executor. Its lifespan opens its own database pool on
    schemathesis's loop (a pool belongs to the loop that opened it); schemathesis ends it after each test."""
    return create_app(
        settings.model_copy(
            update={"dex_provider_mode": "sandbox", "dex_sandbox_url": sandbox_url, "database_pool_size": 5}
        ),
        run_executor=False,
    )


@schema.parametrize()
# One test per operation and caller. The caller parameter also keeps the tests' ids apart: pytest 9 gives the
# per-operation tests of schemathesis 4 one id, and xdist (--dist loadgroup) would run only one of them.
@pytest.mark.parametrize("caller", ["org_admin", "anonymous"])
@FUZZ_SETTINGS
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, caller: str, fuzzed_app: FastAPI, tenant: Tenant
) -> None:
    if caller == "anonymous" and case.meta is not None and case.meta.phase.name == "coverage":
        # Boundary values are sent by the org admin: without credentials, every operation that needs them
        # answers 401 before reading its input, and the others ignore the org admin's token.
        return
    headers = tenant.headers if caller == "org_admin" else {}
    try:
        case.call_and_validate(app=fuzzed_app, headers=headers, checks=CHECKS)
    except FailureGroup as failures:
        # The report already holds the request as a curl command; it gets who sent it and how to replay it.
        replay = f"Sent as {caller}. Fuzz seed {FUZZ_SEED} (DEX_FUZZ_SEED): rerunning the test replays it.\n"
        raise FailureGroup(list(failures.exceptions), failures.message + replay) from None
