"""A provider's routes called straight from ASGI, with FastAPI behind them for whatever they do not bind.

The sandbox shares the box with dex in every benchmark and test, and FastAPI's request machinery — its
middleware stack, routing, dependency solving and response encoding — was half of the sandbox's CPU
(py-spy). The provider routes all take the same few things: the request, a JSON body (an object, or any
value), string path parameters and query parameters with defaults. :class:`DirectRoutes` binds those
itself, calls the endpoint and encodes a plain answer with orjson. A request it cannot bind as FastAPI
would — no route, a method the route does not take, a body that is not JSON or not an object, a query
value that does not convert — goes to the provider's FastAPI app with its body replayed, which answers
exactly as before (404, 405, 422).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute
from pydantic_core import PydanticUndefined
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

# How a query value of each type the routes declare is read (a value that does not convert: FastAPI's 422).
_CONVERTERS: dict[Any, Callable[[str], Any]] = {str: str, int: int}


class _Unbound(Exception):
    """FastAPI decides: the request is not one the direct binding takes."""


@dataclass(frozen=True)
class _Query:
    name: str
    convert: Callable[[str], Any]
    default: Any


@dataclass(frozen=True)
class _Route:
    methods: frozenset[str]
    path: re.Pattern[str]
    endpoint: Callable[..., Any]
    request: str
    query: tuple[_Query, ...]
    # The body parameter's name, its default (for an empty body) and whether it must be an object.
    body: tuple[str, Any, bool] | None

    @classmethod
    def of(cls, route: APIRoute) -> _Route:
        dependant = route.dependant
        if dependant.dependencies or dependant.header_params or dependant.cookie_params:
            raise ValueError(f"{route.path}: only a request, a body, path and query parameters are bound")
        request = dependant.request_param_name
        if route.response_model is not None or request is None:
            raise ValueError(f"{route.path}: an endpoint takes the request and answers without a model")
        query = []
        for param in dependant.query_params:
            info = param.field_info
            convert = _CONVERTERS.get(info.annotation)
            if info.default is PydanticUndefined or convert is None:
                raise ValueError(
                    f"{route.path}: query parameter {param.name} is not a str or int with a default"
                )
            query.append(_Query(param.alias, convert, info.default))
        body = None
        if dependant.body_params:
            (param,) = dependant.body_params
            body = (param.name, param.field_info.default, param.field_info.annotation is not Any)
        methods = frozenset(route.methods or ())
        return cls(methods, route.path_regex, route.endpoint, request, tuple(query), body)

    def arguments(self, request: Request, params: dict[str, str], raw_body: bytes) -> dict[str, Any]:
        arguments: dict[str, Any] = {**params, self.request: request}
        given = dict(parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True))
        for query in self.query:
            value = given.get(query.name)
            try:
                arguments[query.name] = query.default if value is None else query.convert(value)
            except ValueError:
                raise _Unbound from None
        if self.body is not None:
            name, default, is_object = self.body
            if not raw_body:
                value = copy.deepcopy(default)
            elif not _json(request.headers.get("content-type")):
                raise _Unbound  # FastAPI hands such a body over as bytes
            else:
                try:
                    value = orjson.loads(raw_body)
                except orjson.JSONDecodeError:
                    raise _Unbound from None
            if is_object and not isinstance(value, dict):
                raise _Unbound
            arguments[name] = value
        return arguments


def _json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this content type as JSON (no content type at all: it tries)."""
    if content_type is None:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class DirectRoutes:
    """One provider's routes (``app``'s), bound directly; ``app`` answers the rest."""

    def __init__(self, app: FastAPI, routes: list[APIRoute]) -> None:
        self.app = app
        self._routes = [_Route.of(route) for route in routes]
        # How many requests went to ``app``: the binding's reach, for tests.
        self.handed_over = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_body = await _read_body(receive)
        replay = _replaying(raw_body)
        found = self._match(scope)
        if found is not None:
            route, params = found
            scope["app"] = self.app
            request = Request(scope, replay)
            try:
                arguments = route.arguments(request, params, raw_body)
            except _Unbound:
                pass
            else:
                answer = await route.endpoint(**arguments)
                await _response(answer)(scope, replay, send)
                return
        self.handed_over += 1
        await self.app(scope, _replaying(raw_body), send)

    def _match(self, scope: Scope) -> tuple[_Route, dict[str, str]] | None:
        path, method = scope["path"], scope["method"]
        for route in self._routes:
            if method in route.methods and (matched := route.path.match(path)) is not None:
                return route, matched.groupdict()
        return None


def _response(answer: Any) -> Response:
    if isinstance(answer, Response):
        return answer
    try:
        return Response(orjson.dumps(answer), media_type="application/json")
    except TypeError:  # what orjson does not encode, FastAPI's encoder does
        return JSONResponse(jsonable_encoder(answer))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
