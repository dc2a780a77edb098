"""dex in this process: the API, the executor and (in sandbox mode) the sandbox on a free local port,
for the CLI commands run without ``--api-url`` and for the demo."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from dex.api.app import create_app
from dex.client import DexClient
from dex.config import Settings
from dex.db.engine import Database
from dex.server import serve_in_background
from dex.tenancy.auth import API_KEY_SUPER_ADMIN
from dex.tenancy.models import Company, Org
from dex.tenancy.service import ensure_org_and_company

LOCAL_ORG_SLUG = "local"
LOCAL_COMPANY = "Local"


async def ensure_local_tenant(session: AsyncSession) -> tuple[Org, Company]:
    """The default org and company of local mode, created on first use."""
    return await ensure_org_and_company(
        session,
        API_KEY_SUPER_ADMIN,
        org_name="Local",
        org_slug=LOCAL_ORG_SLUG,
        company_name=LOCAL_COMPANY,
    )


async def _local_tenant(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with database.transaction() as session:
        org, company = await ensure_local_tenant(session)
    return org.id, company.id


@asynccontextmanager
async def local_client(
    settings: Settings, database_url: str, *, console: bool = False
) -> AsyncIterator[DexClient]:
    """dex running inside this process (API, executor, and the sandbox in sandbox mode) on a free local
    port, driven over HTTP like any other client; with ``console``, its pages too (the demo shows them)."""
    database = Database(database_url, pool_size=20)
    try:
        org_id, company_id = await _local_tenant(database)
        async with (
            serve_in_background(create_app(settings, database=database, console=console)) as base_url,
            aiohttp.ClientSession() as http,
        ):
            headers = {"Authorization": f"Bearer {settings.super_admin_api_key}"}
            yield DexClient(http, base_url, headers, org_id=org_id, company_id=company_id)
    finally:
        await database.dispose()
