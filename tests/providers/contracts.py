"""Reading the provider contracts (``contracts/providers/<provider>/<endpoint>.json``) and replaying their
documented answers over real HTTP, for ``test_contracts.py``.

A contract states what a provider's documentation says of one endpoint: method, URL, where the key goes,
the required and optional parameters with an example request, and the documented answers. Each answer's
``case`` says what dex must make of it: ``found``, ``not_found`` or ``error_<name>`` (a failed attempt);
``error_invalid_request`` is what the provider answers a request missing a required parameter and
``error_unauthorized`` a refused key; an answer that is a document rather than JSON (an SEC filing's HTML)
gives its text as ``body`` and its ``content_type``. ``canonical`` lists fields the adapter must produce
from the answer (a dotted key reaches into lists and objects: ``results.0.full_name``). The optional
``adapter`` names the dex function that calls the endpoint and its inputs.
"""

from __future__ import annotations

import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from dex.providers.catalog import PROVIDERS

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts" / "providers"
CASE = re.compile(r"^(found|not_found|error_[a-z0-9_]+)$")
AUTH_PLACES = ("header", "query", "path", "body")
PARAMETER = re.compile(r"\{(\w+)\}")
REFUSALS = ("error_invalid_request", "error_unauthorized")


@dataclass(frozen=True)
class Contract:
    path: Path
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.endpoint}"

    @property
    def provider(self) -> str:
        return str(self.data["provider"])

    @property
    def endpoint(self) -> str:
        return str(self.data["endpoint"])

    @property
    def method(self) -> str:
        return str(self.data["method"]).upper()

    @property
    def auth(self) -> dict[str, Any] | None:
        return self.data.get("auth")

    @property
    def request(self) -> dict[str, Any]:
        return self.data["request"]

    @property
    def answers(self) -> list[dict[str, Any]]:
        return self.data["answers"]

    @property
    def relative_path(self) -> str:
        """The endpoint's path below the provider's base URL (``{name}`` marks a path parameter)."""
        path = urlparse(self.data["url"]).path
        base = (
            urlparse(PROVIDERS[self.provider].base_url).path.rstrip("/") if self.provider in PROVIDERS else ""
        )
        return path[len(base) :] if base and path.startswith(base) else path

    @property
    def path_parameters(self) -> set[str]:
        return set(PARAMETER.findall(self.relative_path))

    def matches(self, method: str, path: str) -> bool:
        pattern = PARAMETER.sub(
            "[^/]+", re.escape(self.relative_path).replace(r"\{", "{").replace(r"\}", "}")
        )
        return method.upper() == self.method and re.fullmatch(pattern, path) is not None

    def answer(self, case: str) -> dict[str, Any] | None:
        return next((answer for answer in self.answers if answer["case"] == case), None)


def load_contracts() -> list[Contract]:
    return [Contract(path, json.loads(path.read_text())) for path in sorted(CONTRACTS_DIR.glob("*/*.json"))]


def resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def dig(value: Any, dotted: str) -> Any:
    """``value`` followed along a dotted path (list positions are numbers); raises KeyError when absent."""
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(dotted)
    return value


def shape_mismatches(documented: Any, actual: Any, where: str = "body") -> list[str]:
    """Where ``actual`` lacks the documented shape: every documented key present (recursively, lists by
    their first item); scalar values may differ."""
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {type(actual).__name__}"]
        problems = []
        for key, value in documented.items():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += shape_mismatches(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {type(actual).__name__}"]
        if documented and actual:
            return shape_mismatches(documented[0], actual[0], f"{where}[0]")
    if documented is None and where == "body" and actual not in (None, {}, ""):
        return ["body: expected no body"]
    return []


@dataclass
class BuiltRequest:
    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, Any]
    json_body: dict[str, Any] | None


def build_request(
    contract: Contract,
    base_url: str,
    example: dict[str, Any],
    *,
    key: str,
    account_email: str,
    key_place: str | None = None,
) -> BuiltRequest:
    """``example`` sent the documented way: path parameters into the URL, the rest as the query (GET) or
    the JSON body, the key where ``auth`` says — or at ``key_place`` instead."""
    path = contract.relative_path
    rest = dict(example)
    for name in contract.path_parameters:
        path = path.replace("{" + name + "}", quote(str(rest.pop(name, "")), safe=""))
    headers = dict(contract.request.get("headers") or {})
    params: dict[str, Any] = rest if contract.method == "GET" else {}
    body: dict[str, Any] | None = None if contract.method == "GET" else rest
    auth = contract.auth
    if auth is not None:
        place = key_place or auth["in"]
        credentials = {auth["name"]: auth.get("prefix", "") + key}
        if auth.get("account_email"):
            credentials[auth["account_email"]] = account_email
        target = {"header": headers, "query": params}.get(place)
        if target is None:
            body = {**(body or {}), **credentials}
        else:
            target.update(credentials)
    return BuiltRequest(contract.method, f"{base_url}/{contract.provider}{path}", headers, params, body)


def misplaced(place: str) -> str:
    """Somewhere the provider does not look for the key."""
    return "query" if place == "header" else "header"


class Replay:
    """A small HTTP server answering one provider's endpoints with their documented answers: the answer
    under test for its endpoint, and for the provider's other endpoints (earlier or later steps of the same
    call) their answer of the same case, else their first ``found`` one."""

    def __init__(self) -> None:
        self.contracts: list[Contract] = []
        self.under_test: tuple[Contract, dict[str, Any]] | None = None
        self.app = FastAPI()
        self.app.add_api_route(
            "/{path:path}", self._answer, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        )

    def script(self, contracts: list[Contract], contract: Contract, answer: dict[str, Any]) -> None:
        self.contracts = [contract, *(other for other in contracts if other is not contract)]
        self.under_test = (contract, answer)

    def _pick(self, method: str, path: str) -> dict[str, Any] | None:
        assert self.under_test is not None
        tested, answer = self.under_test
        for contract in self.contracts:
            if not contract.matches(method, path):
                continue
            if contract is tested:
                return answer
            return contract.answer(answer["case"]) or contract.answer("found") or contract.answers[0]
        return None

    async def _answer(self, request: Request, path: str) -> Response:
        answer = self._pick(request.method, "/" + path)
        if answer is None:
            return JSONResponse({"error": f"no documented endpoint {request.method} /{path}"}, 599)
        if answer["body"] is None:
            return Response(status_code=answer["status"])
        if "content_type" in answer:
            # A document, not JSON: the body is its text.
            return Response(answer["body"], answer["status"], media_type=answer["content_type"])
        return JSONResponse(answer["body"], answer["status"])
