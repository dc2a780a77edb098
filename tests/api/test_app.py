from __future__ import annotations

import httpx
from fastapi import APIRouter
from pydantic import BaseModel

from dex.api.app import create_app
from dex.errors import Conflict, NotFound
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
