"""The sandbox's direct binding answers every request exactly as the provider's FastAPI app does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dex.sandbox.app import create_sandbox_app
from dex.sandbox.binding import DirectRoutes
from dex.sandbox.credentials import sandbox_credential

LEADMAGIC = {"X-API-Key": sandbox_credential("leadmagic")}
ICYPEAS = {"Authorization": sandbox_credential("icypeas")}
VERIFY = {"email": "a@b.io", "api": sandbox_credential("millionverifier")}

# (method, path, keyword arguments of the request), each asked of the direct binding and of FastAPI.
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/leadmagic/v1/people/email-finder", {"json": {"domain": "x.io"}, "headers": LEADMAGIC}),
    ("POST", "/leadmagic/v1/people/email-finder", {"headers": LEADMAGIC}),  # no body: the default
    ("POST", "/leadmagic/v1/people/email-finder", {"json": [1, 2], "headers": LEADMAGIC}),  # not an object
    ("POST", "/leadmagic/v1/people/email-finder", {"content": b"{oops", "headers": LEADMAGIC}),  # not JSON
    (
        "POST",
        "/leadmagic/v1/people/email-finder",
        {"content": b'{"domain": "x.io"}', "headers": {**LEADMAGIC, "Content-Type": "text/plain"}},
    ),
    ("POST", "/leadmagic/v1/people/email-finder", {"json": {"domain": "x.io"}}),  # no key
    ("GET", "/leadmagic/v1/people/email-finder", {"headers": LEADMAGIC}),  # a method it does not take
    ("POST", "/leadmagic/v1/nothing-here", {"json": {}, "headers": LEADMAGIC}),  # no such route
    ("GET", "/millionverifier/api/v3", {"params": VERIFY}),
    ("GET", "/millionverifier/api/v3", {"params": {**VERIFY, "timeout": "5"}}),
    ("GET", "/millionverifier/api/v3", {"params": {**VERIFY, "timeout": "x"}}),  # no number: a 422
    ("GET", "/millionverifier/api/v3", {"params": {**VERIFY, "api": "wrong"}}),
    ("POST", "/icypeas/email-search", {"json": "just a string", "headers": ICYPEAS}),  # any value
    ("GET", "/fmcsa/carriers/12345", {"params": {"webKey": sandbox_credential("fmcsa")}}),  # a path parameter
]


async def _answer(app: Any, method: str, path: str, arguments: dict[str, Any]) -> tuple[int, str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        response = await client.request(method, path, **arguments)
    kind = response.headers.get("content-type", "")
    body = response.json() if kind.startswith("application/json") else response.text
    return response.status_code, kind, body


@pytest.mark.parametrize(("method", "path", "arguments"), REQUESTS)
async def test_a_request_is_answered_as_fastapi_answers_it(
    method: str, path: str, arguments: dict[str, Any]
) -> None:
    direct, plain = create_sandbox_app(), create_sandbox_app()
    provider = path.split("/")[1]
    routes = plain.providers[provider]
    assert isinstance(routes, DirectRoutes)
    assert await _answer(direct, method, path, arguments) == await _answer(
        routes.app, method, path, arguments
    )


async def test_the_direct_binding_keeps_the_ledger_as_fastapi_does() -> None:
    direct, plain = create_sandbox_app(), create_sandbox_app()
    routes = plain.providers["millionverifier"]
    assert isinstance(routes, DirectRoutes)
    for method, path, arguments in REQUESTS:
        if path.startswith("/millionverifier"):
            await _answer(direct, method, path, arguments)
            await _answer(routes.app, method, path, arguments)

    def entries(app: Any) -> list[tuple[str, str, int, str | None]]:
        return [(e.action, e.path, e.status, e.signature) for e in app.state.sandbox.ledger]

    assert entries(direct) == entries(plain)
    assert (
        len(entries(direct)) == 3
    )  # the request with a timeout that is no number never reached the provider
