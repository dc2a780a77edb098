"""Login throttling: failures counted per account and per client address in PostgreSQL, 429 with
``Retry-After`` past the thresholds, lockouts that double, the same answers for unknown accounts, a reset on
success, every lockout logged and counted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert, text

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.providers.runtime import ProviderRuntime
from dex.tenancy.models import SuperAdmin
from dex.tenancy.passwords import hash_password
from dex.tenancy.throttle import lockout_seconds
from tests.conftest import Tenant

PASSWORD = "correct horse battery"
WRONG = "wrong password!"
EMAIL = "guarded@acme.test"
THROTTLE = {
    "login_max_failures": 3,
    "login_max_failures_per_address": 8,
    "login_lockout_base_seconds": 30.0,
    "login_lockout_max_seconds": 100.0,
    "dex_trusted_proxy": True,  # so each test can speak from an address of its own
}

Login = Callable[..., Any]


@pytest.fixture
def throttled_settings(sandbox_settings: Settings) -> Settings:
    return sandbox_settings.model_copy(update=THROTTLE)


def app_client(
    settings: Settings, database: Database, providers: ProviderRuntime, base_url: str = "http://dex.test"
) -> httpx.AsyncClient:
    app = create_app(settings, database=database, providers=providers, run_executor=False)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=base_url
    )


@pytest.fixture
async def api(
    throttled_settings: Settings, database: Database, providers: ProviderRuntime
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(throttled_settings, database, providers) as http:
        yield http


@pytest.fixture
async def user(database: Database, tenant: Tenant) -> str:
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO users (org_id, company_id, email, role, password_hash) "
                "VALUES (:org, :company, :email, 'member', :hash)"
            ),
            {
                "org": tenant.org_id,
                "company": tenant.company_id,
                "email": EMAIL,
                "hash": await hash_password(PASSWORD),
            },
        )
    return EMAIL


async def login(
    http: httpx.AsyncClient,
    email: str,
    password: str,
    *,
    address: str = "203.0.113.1",
    path: str = "/api/auth/login",
) -> httpx.Response:
    return await http.post(
        path, json={"email": email, "password": password}, headers={"x-forwarded-for": address}
    )


def answer(response: httpx.Response) -> tuple[int, dict[str, Any], str | None]:
    return response.status_code, response.json(), response.headers.get("retry-after")


async def end_lockouts(database: Database) -> None:
    """As if every running lockout had just run out (tests wait on no clock)."""
    async with database.transaction() as session:
        await session.execute(text("UPDATE login_failures SET locked_until = now() - interval '1 second'"))


LOCKED = {"error": "Too many failed logins, try again later"}
INVALID = {"error": "Invalid credentials"}


def test_lockouts_double_from_the_threshold_up_to_the_cap(settings: Settings) -> None:
    configured = settings.model_copy(update=THROTTLE)
    assert [lockout_seconds(n, 3, configured) for n in range(1, 8)] == [0, 0, 30, 60, 100, 100, 100]
    assert lockout_seconds(10**9, 3, configured) == 100  # no overflow however long the guessing goes on


async def test_an_account_is_locked_after_too_many_failures(api: httpx.AsyncClient, user: str) -> None:
    assert [answer(await login(api, user, WRONG)) for _ in range(2)] == [(401, INVALID, None)] * 2
    # The failure that reaches the threshold starts the lockout.
    assert answer(await login(api, user, WRONG)) == (429, LOCKED, "30")
    # While locked, even the right password is refused: no password is checked, guessing stops.
    assert answer(await login(api, user, PASSWORD)) == (429, LOCKED, "30")
    # Another account from the same address is not locked by this one.
    assert (await login(api, "other@acme.test", WRONG)).status_code == 401


async def test_unknown_accounts_get_exactly_the_same_answers(api: httpx.AsyncClient, user: str) -> None:
    known = [answer(await login(api, user, WRONG, address="203.0.113.2")) for _ in range(4)]
    unknown = [answer(await login(api, "nobody@acme.test", WRONG, address="203.0.113.3")) for _ in range(4)]
    assert known == unknown == [(401, INVALID, None)] * 2 + [(429, LOCKED, "30")] * 2


async def test_lockouts_grow_with_each_failure_after_one(
    api: httpx.AsyncClient, user: str, database: Database
) -> None:
    for _ in range(3):
        await login(api, user, WRONG)
    retry_afters = []
    for _ in range(3):
        await end_lockouts(database)
        refused = await login(api, user, WRONG)
        assert refused.status_code == 429
        retry_afters.append(int(refused.headers["retry-after"]))
    assert retry_afters == [60, 100, 100]
    await end_lockouts(database)
    assert (await login(api, user, PASSWORD)).status_code == 200


async def test_a_successful_login_resets_the_account_count(api: httpx.AsyncClient, user: str) -> None:
    for _ in range(2):
        assert (await login(api, user, WRONG)).status_code == 401
    assert (await login(api, user, PASSWORD)).status_code == 200
    # Two more failures: below the threshold again, because the earlier ones were forgotten.
    for _ in range(2):
        assert (await login(api, user, WRONG)).status_code == 401
    assert (await login(api, user, PASSWORD)).status_code == 200


async def test_an_address_guessing_at_many_accounts_is_locked(api: httpx.AsyncClient, user: str) -> None:
    guesses = [await login(api, f"victim{n}@acme.test", WRONG, address="198.51.100.7") for n in range(8)]
    assert [response.status_code for response in guesses] == [401] * 7 + [429]
    # Every account is refused from that address, a real user's included; other addresses are not.
    assert (await login(api, user, PASSWORD, address="198.51.100.7")).status_code == 429
    assert (await login(api, user, PASSWORD, address="198.51.100.8")).status_code == 200


async def test_the_count_is_shared_by_every_process(
    throttled_settings: Settings, database: Database, providers: ProviderRuntime, user: str
) -> None:
    """Two API instances on one database: failures on either count toward one lockout."""
    async with (
        app_client(throttled_settings, database, providers) as first,
        app_client(throttled_settings, database, providers) as second,
    ):
        assert (await login(first, user, WRONG)).status_code == 401
        assert (await login(second, user, WRONG)).status_code == 401
        assert (await login(first, user, WRONG)).status_code == 429
        assert (await login(second, user, PASSWORD)).status_code == 429


async def test_super_admin_logins_are_throttled_too(api: httpx.AsyncClient, database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(
            insert(SuperAdmin).values(email="root@dex.test", password_hash=await hash_password(PASSWORD))
        )
    path = "/api/super-admin/login"
    statuses = [(await login(api, "root@dex.test", WRONG, path=path)).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert (await login(api, "root@dex.test", PASSWORD, path=path)).status_code == 429
    # A tenant account with the same email is counted apart.
    assert (await login(api, "root@dex.test", WRONG)).status_code == 401


async def test_every_lockout_is_logged_without_the_password_and_counted(
    api: httpx.AsyncClient, user: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def lockouts() -> float:
        return (
            REGISTRY.get_sample_value("dex_login_lockouts_total", {"login": "tenant", "subject": "account"})
            or 0
        )

    before = lockouts()
    with caplog.at_level(logging.WARNING, logger="dex.tenancy.throttle"):
        for _ in range(3):
            await login(api, user, WRONG)
    assert lockouts() == before + 1
    (record,) = [r for r in caplog.records if "login lockout" in r.getMessage()]
    assert f"account tenant:{user} locked for 30 s after 3 failures" in record.getMessage()
    assert WRONG not in caplog.text and PASSWORD not in caplog.text
    metrics = await api.get("/metrics", headers={"Authorization": f"Bearer {settings.super_admin_api_key}"})
    assert 'dex_login_lockouts_total{login="tenant",subject="account"}' in metrics.text


async def test_forwarded_addresses_are_ignored_without_a_trusted_proxy(
    sandbox_settings: Settings, database: Database, providers: ProviderRuntime, user: str
) -> None:
    """Without DEX_TRUSTED_PROXY a client cannot dodge the address count by inventing X-Forwarded-For."""
    untrusted = sandbox_settings.model_copy(update={**THROTTLE, "dex_trusted_proxy": False})
    async with app_client(untrusted, database, providers) as http:
        statuses = [
            (await login(http, f"v{n}@acme.test", WRONG, address=f"192.0.2.{n}")).status_code
            for n in range(8)
        ]
    assert statuses == [401] * 7 + [429]


async def test_counts_that_ran_out_are_pruned(api: httpx.AsyncClient, database: Database) -> None:
    """A spray of logins with ever new emails cannot grow the table without bound."""
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO login_failures (subject, key, failures, last_failed_at, locked_until) VALUES "
                "('account', 'tenant:old@x.test', 9, now() - interval '2 hours', now() - interval '1 hour'), "
                "('address', '192.0.2.50', 1, now() - interval '2 hours', NULL), "
                "('account', 'tenant:held@x.test', 9, now() - interval '2 hours', now() + interval '1 h'), "
                "('account', 'tenant:recent@x.test', 1, now() - interval '1 minute', NULL)"
            )
        )
    assert (await login(api, "new@acme.test", WRONG, address="203.0.113.60")).status_code == 401
    async with database.transaction() as session:
        keys = (await session.execute(text("SELECT key FROM login_failures ORDER BY key"))).scalars().all()
    assert keys == ["203.0.113.60", "tenant:held@x.test", "tenant:new@acme.test", "tenant:recent@x.test"]
