"""The composition root of the provider layer: the process's provider runtime, pointed at the live
providers or at the sandbox (started here, in-process, when sandbox mode has no ``DEX_SANDBOX_URL``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from dex.config import Settings
from dex.db.engine import Database
from dex.providers.http import SharedLimiter
from dex.providers.runtime import ProviderRuntime, SandboxEndpoint, provider_mode
from dex.sandbox.app import create_sandbox_app
from dex.sandbox.credentials import SANDBOX_ACCOUNT_EMAIL, sandbox_credential
from dex.server import serve_in_background


def sandbox_endpoint(url: str) -> SandboxEndpoint:
    return SandboxEndpoint(url=url, credential=sandbox_credential, account_email=SANDBOX_ACCOUNT_EMAIL)


@asynccontextmanager
async def open_provider_runtime(
    settings: Settings, database: Database | None, *, shared_limiter: SharedLimiter | None = None
) -> AsyncIterator[ProviderRuntime]:
    """The process's provider runtime; embedded dex works with no provider account at all."""
    async with AsyncExitStack() as stack:
        sandbox = None
        if provider_mode(settings) == "sandbox":
            url = settings.dex_sandbox_url
            if url is None:
                url = await stack.enter_async_context(serve_in_background(create_sandbox_app()))
            sandbox = sandbox_endpoint(url)
        runtime = ProviderRuntime(settings, database, sandbox=sandbox, shared_limiter=shared_limiter)
        stack.push_async_callback(runtime.close)
        yield runtime
