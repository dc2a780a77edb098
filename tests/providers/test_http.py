"""How the shared HTTP client reads a provider's body: what parses, what is kept when it does not, and that
nothing unstorable (a NUL) gets through either way."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from dex.providers.http import ProviderClient, parse_body

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value, *(s for item in value.values() for s in _strings(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@given(json_values)
def test_no_string_of_a_parsed_body_holds_a_nul(value: object) -> None:
    body, is_json = parse_body(json.dumps({"v": value}))
    assert is_json
    assert not any("\x00" in s for s in _strings(body))


def test_bodies_that_are_not_objects_or_not_json() -> None:
    assert parse_body("") == (None, True)
    assert parse_body("[1, 2]") == ({"value": [1, 2]}, True)
    assert parse_body('{"a": NaN}')[1] is True  # the standard library's reading of what orjson refuses
    assert parse_body('{"a": "x\\u0000y"}') == ({"a": "xy"}, True)
    assert parse_body('{"truncated": tr') == ({"raw": '{"truncated": tr'}, False)
    assert parse_body("nul\x00here") == ({"raw": "nulhere"}, False)


async def test_a_cookie_one_answer_sets_never_rides_on_the_next_request() -> None:
    """One session serves every tenant: a provider's cookie must not reach another org's request."""

    async def set_cookie(_: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        response.set_cookie("session", "org-a")
        return response

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"cookies": dict(request.cookies)})

    app = web.Application()
    app.router.add_get("/set", set_cookie)
    app.router.add_get("/echo", echo)
    # By name: a cookie jar takes no cookies from an IP address.
    async with TestServer(app, host="localhost") as server:
        client = ProviderClient()
        try:
            await client.request("sandboxed", "GET", f"http://localhost:{server.port}/set")
            echoed = await client.request("sandboxed", "GET", f"http://localhost:{server.port}/echo")
        finally:
            await client.close()
    assert echoed.body == {"cookies": {}}
