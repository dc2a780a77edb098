"""The demo behind `make demo`: dex on the embedded database, answering over HTTP."""

from __future__ import annotations

import aiohttp
from rich.console import Console

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.server import serve_in_background


async def run_demo(settings: Settings, database_url: str, console: Console) -> None:
    database = Database(database_url, pool_size=5)
    try:
        async with serve_in_background(create_app(settings, database=database)) as base_url:
            console.print(f"dex is serving at {base_url} (API docs: {base_url}/docs)")
            async with aiohttp.ClientSession() as http, http.get(f"{base_url}/health") as response:
                body = await response.json()
            console.print(f"GET /health → {response.status} {body}")
    finally:
        await database.dispose()
