from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from dex.config import Settings
from dex.db.engine import Database
from dex.webhooks.delivery import DeliveryConfig, WebhookDispatcher


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request. ``script`` answers the next requests
    in order ("ok", an HTTP status like "500", or "hang"); once it is used up, every answer is 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    script: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read(), time.monotonic()))
        answer = self.script.pop(0) if self.script else "ok"
        if answer == "hang":
            await asyncio.sleep(6)  # past the tests' 3 s delivery timeout
        if answer.isdigit():
            return web.Response(status=int(answer), text=f"receiver says {answer}")
        return web.Response(text="thanks")

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"received {len(self.received)} of {count} requests"
            await asyncio.sleep(0.02)
        return self.received


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(url="")
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listening).start()
    receiver.url = f"http://127.0.0.1:{listening.getsockname()[1]}/hooks"
    try:
        yield receiver
    finally:
        await runner.cleanup()


@pytest.fixture
def sandbox_settings(settings: Settings) -> Settings:
    """The tests' receiver runs on loopback, which dex refuses unless told otherwise."""
    return settings.model_copy(
        update={"dex_provider_mode": "sandbox", "dex_webhook_allow_private_urls": True}
    )


# Fast retries: 0.2 s, then 0.4 s (the cap), at most 3 attempts.
TEST_DELIVERY_CONFIG = DeliveryConfig(
    timeout_seconds=3.0,
    max_attempts=3,
    backoff_base_seconds=0.2,
    backoff_cap_seconds=0.4,
    poll_interval_seconds=0.05,
    allow_private_urls=True,
)


@pytest.fixture
async def dispatcher(database: Database) -> AsyncIterator[WebhookDispatcher]:
    dispatcher = WebhookDispatcher(database, TEST_DELIVERY_CONFIG)
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()
