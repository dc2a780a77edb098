"""Security headers on every answer, content security policies on HTML pages, and session cookie
attributes (``dex.api.security``)."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.requests import Request

from dex.api.security import DOCS_POLICY, PAGE_POLICY, content_security_policy
from dex.config import Settings
from dex.kit.network import client_address, session_cookie_params
from tests.conftest import Tenant

EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


def assert_protected(response: httpx.Response) -> None:
    for name, value in EVERYWHERE.items():
        assert response.headers[name] == value, (response.request.url, name)


async def test_every_kind_of_answer_carries_the_headers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    answers = [
        await client.get("/health"),
        await client.post("/api/auth/me", headers=tenant.headers),
        await client.post("/api/auth/me"),  # 401
        await client.post("/api/v1/batch/status", json={}, headers=tenant.headers),  # 422
        # Refused by a middleware before any route runs.
        await client.post(
            "/api/auth/login", content=b'{"email": "\\u0000"}', headers={"content-type": "application/json"}
        ),
        await client.post("/api/v1/entities/export", json={"entity_type": "company"}, headers=tenant.headers),
        await client.get("/openapi.json"),
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 401, 422, 422, 200, 200]
    for answer in answers:
        assert_protected(answer)
        assert "content-security-policy" not in answer.headers  # not HTML


async def test_documentation_pages_get_a_policy_that_lets_them_load(client: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert_protected(page)
        policy = page.headers["content-security-policy"]
        assert policy == DOCS_POLICY and "frame-ancestors 'none'" in policy
        # Every script is one of dex's own files: the policy runs no inline script and no other site's.
        sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page.text)
        assert sources and len(sources) == page.text.count("<script")
        assert all(source.startswith(("/", "http://dex.test/")) for source in sources)
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


async def test_console_pages_load_from_dex_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/console/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_protected(page)
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert content_security_policy("/console/batches") == PAGE_POLICY
    assert "default-src 'self'" in PAGE_POLICY and "'unsafe-inline'" not in PAGE_POLICY
    assert "frame-ancestors 'none'" in PAGE_POLICY


def request(scheme: str = "http", forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-proto", forwarded.encode())] if forwarded else []
    return Request(
        {"type": "http", "scheme": scheme, "server": ("dex.test", 80), "path": "/", "headers": headers}
    )


@pytest.mark.parametrize(
    ("mode", "trusted_proxy", "req", "secure"),
    [
        ("auto", False, request("https"), True),
        ("auto", False, request("http"), False),
        # A client can send X-Forwarded-Proto itself: believed only behind a trusted proxy.
        ("auto", False, request("http", "https"), False),
        ("auto", True, request("http", "https"), True),
        ("auto", True, request("http", "https, http"), True),
        ("auto", True, request("http", "http"), False),
        ("true", False, request("http"), True),
        ("false", True, request("https", "https"), False),
    ],
)
def test_session_cookies_are_secure_over_https(
    settings: Settings, mode: str, trusted_proxy: bool, req: Request, secure: bool
) -> None:
    configured = settings.model_copy(update={"dex_cookie_secure": mode, "dex_trusted_proxy": trusted_proxy})
    params = session_cookie_params(req, configured)
    assert params == {"httponly": True, "samesite": "lax", "secure": secure, "path": "/"}


def test_cookie_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEX_COOKIE_SECURE", "true")
    monkeypatch.setenv("DEX_TRUSTED_PROXY", "1")
    loaded = Settings(_env_file=None)
    assert loaded.dex_cookie_secure == "true" and loaded.dex_trusted_proxy is True


def test_behind_a_trusted_proxy_the_address_it_saw_is_the_clients(settings: Settings) -> None:
    trusted = settings.model_copy(update={"dex_trusted_proxy": True})
    forged = Request(
        {
            "type": "http",
            "scheme": "http",
            "server": ("dex.test", 80),
            "client": ("10.0.0.2", 5000),
            "path": "/",
            "headers": [(b"x-forwarded-for", b"1.2.3.4, 203.0.113.9")],
        }
    )
    # The proxy appended the address it saw; the first one is whatever the client claimed.
    assert client_address(forged, trusted) == "203.0.113.9"
    assert client_address(forged, settings) == "10.0.0.2"  # no trusted proxy: the header means nothing
