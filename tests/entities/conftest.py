from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from dex.config import Settings
from dex.db.engine import Database
from dex.entities.repository import EntityRepository, Lineage, UpsertResult
from tests.conftest import Tenant, add_user_with_token

Post = Callable[..., Awaitable[httpx.Response]]


async def upsert(
    database: Database,
    org_id: uuid.UUID,
    entity_type: str,
    context: dict[str, Any],
    *,
    company_id: uuid.UUID | None = None,
) -> UpsertResult:
    """One upsert in a transaction of its own, as a finished pipeline run does it."""
    async with database.transaction() as session:
        result = await EntityRepository(session, org_id).upsert(
            entity_type, context, Lineage("test.seed", None, company_id)
        )
    assert result is not None
    return result


async def add_company(database: Database, org_id: uuid.UUID, name: str) -> uuid.UUID:
    async with database.transaction() as session:
        return (
            await session.execute(
                text("INSERT INTO companies (org_id, name) VALUES (:org, :name) RETURNING id"),
                {"org": org_id, "name": name},
            )
        ).scalar_one()


async def add_token(
    database: Database, org_id: uuid.UUID, company_id: uuid.UUID, role: str
) -> dict[str, str]:
    """Headers of a new user of ``role`` in ``company_id``."""
    token = f"test-token-{role}-{uuid.uuid4().hex}"
    async with database.transaction() as session:
        await add_user_with_token(session, org_id, company_id, role, f"{uuid.uuid4().hex}@x.test", token)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def super_admin(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.super_admin_api_key}"}


@pytest.fixture
def api(client: httpx.AsyncClient, tenant: Tenant) -> Post:
    """POST to ``/api/v1/entities/<path>``, as the default tenant unless other headers are given."""

    async def post(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        return await client.post(f"/api/v1/entities/{path}", json=body, headers=headers or tenant.headers)

    return post
