from __future__ import annotations

import pytest

from dex.config import Settings
from dex.db.engine import Database
from tests.tenancy.world import World, build_world


@pytest.fixture
def admin_headers(settings: Settings) -> dict[str, str]:
    """The static super-admin key of the test settings."""
    return {"authorization": f"Bearer {settings.super_admin_api_key}"}


@pytest.fixture
async def world(database: Database, settings: Settings) -> World:
    return await build_world(database, settings)
