from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import APIRouter
from pydantic import BaseModel

from dex.api.app import create_app
from dex.config import Settings
from dex.errors import Conflict, NotFound
from dex.kit.envelopes import JSON_INTEGER_MAX
from tests.conftest import Tenant


async def test_health_reports_database_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"]["version"].split(".")[0].isdigit()


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert "/health" in response.json()["paths"]
    assert (await client.get("/docs")).status_code == 200


def integer_inputs(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer a request can carry (parameters and bodies) in an OpenAPI document, and where it is."""
    components = document["components"]["schemas"]

    def walk(
        schema: dict[str, Any], where: str, seen: frozenset[str]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                yield from walk(components[name], where, seen | {name})
            return
        if schema.get("type") == "integer":
            yield where, schema
        for branch in (*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())):
            yield from walk(branch, where, seen)
        for name, field in schema.get("properties", {}).items():
            yield from walk(field, f"{where}.{name}", seen)
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                yield from walk(schema[key], f"{where}[]", seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield from walk(parameter["schema"], f"{label} {parameter['name']}", frozenset())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                yield from walk(content.get("schema", {}), f"{label} body", frozenset())


def test_every_integer_input_declares_a_range_json_and_postgres_hold(settings: Settings) -> None:
    """An unbounded integer reaches PostgreSQL, which fails past bigint (a 503, not a 422). A declared range
    also puts the bounds in the fuzz suite's boundary values, which checks them against the real columns."""
    document = create_app(settings, run_executor=False).openapi()

    def bounded(schema: dict[str, Any]) -> bool:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        return low is not None and high is not None and -JSON_INTEGER_MAX <= low <= high <= JSON_INTEGER_MAX

    inputs = list(integer_inputs(document))
    assert inputs
    assert [where for where, schema in inputs if not bounded(schema)] == []


async def test_offsets_past_postgres_bigint_are_invalid_requests(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    past = await client.post("/api/companies/list", json={"offset": 2**63}, headers=tenant.headers)
    assert past.status_code == 422
    assert past.json()["error"].startswith("invalid request: offset:")
    last = await client.post("/api/companies/list", json={"offset": JSON_INTEGER_MAX}, headers=tenant.headers)
    assert (last.status_code, last.json()["data"]) == (200, [])


class Body(BaseModel):
    count: int


async def test_errors_use_the_error_envelope(settings, database) -> None:  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.post("/boom/not-found")
    async def not_found() -> None:
        raise NotFound("Widget not found")

    @router.post("/boom/conflict")
    async def conflict() -> None:
        raise Conflict("already there")

    @router.post("/boom/crash")
    async def crash() -> None:
        raise RuntimeError("secret internals")

    @router.post("/boom/validate")
    async def validate(body: Body) -> dict[str, int]:
        return {"count": body.count}

    app = create_app(settings, database=database, run_executor=False)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dex.test") as http:
        missing = await http.post("/boom/not-found")
        assert (missing.status_code, missing.json()) == (404, {"error": "Widget not found"})
        assert (await http.post("/boom/conflict")).json() == {"error": "already there"}
        crash = await http.post("/boom/crash")
        assert (crash.status_code, crash.json()) == (500, {"error": "internal error"})
        assert crash.headers["x-content-type-options"] == "nosniff"  # security headers on a crash too
        invalid = await http.post("/boom/validate", json={"count": "many"})
        assert invalid.status_code == 422
        assert invalid.json()["error"].startswith("invalid request: count:")
        garbage = await http.post(
            "/boom/validate", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 422 and "error" in garbage.json()
        unknown = await http.post("/no/such/route")
        assert (unknown.status_code, unknown.json()) == (404, {"error": "Not Found"})


async def test_nul_characters_are_refused_not_stored(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = (
        '{"operation_id": "person.contact.verify_email", "entity_type": "person", '
        '"input": {"email": "a\\u0000@b.io"}}'
    )
    response = await client.post(
        "/api/v1/execute", content=body, headers={**tenant.headers, "content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (
        422,
        {"error": "invalid request: NUL characters are not allowed"},
    )
