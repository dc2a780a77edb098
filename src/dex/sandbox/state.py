"""Sandbox behaviour (latency, hit rate, faults) and the ledger of every request it received.

Every provider route answers through :meth:`SandboxState.handle`, so auth rejection, latency, fault
injection and the ledger are uniform. The ledger is what chaos tests compare dex's own records against:
an entry is *billable* when the endpoint bills and the sandbox answered 2xx or a documented 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from dex import fastjson

FaultKind = Literal["429", "500", "502", "503", "timeout", "malformed", "slow"]
DEFAULT_FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "timeout", "malformed")


class ProviderBehaviour(BaseModel):
    latency_ms: float = Field(default=0, ge=0)
    latency_jitter_ms: float = Field(default=0, ge=0)
    hit_rate: float = Field(default=0.85, ge=0, le=1)
    fault_rate: float = Field(default=0, ge=0, le=1)
    fault_kinds: list[FaultKind] = Field(default_factory=lambda: list(DEFAULT_FAULT_KINDS))
    retry_after_seconds: float = Field(default=1, ge=0)
    # How long a "timeout" fault holds the connection, and how much a "slow" answer adds.
    hang_seconds: float = Field(default=60, ge=0)
    slow_seconds: float = Field(default=2, ge=0)
    # Requests per second above which the sandbox answers 429 (None = unlimited).
    rate_limit_per_second: float | None = Field(default=None, gt=0)
    # How long an asynchronous job (an Icypeas search) stays pending (None = the provider's usual).
    job_duration_ms: float | None = Field(default=None, ge=0)


class SandboxConfig(BaseModel):
    seed: int = 0
    default: ProviderBehaviour = Field(default_factory=ProviderBehaviour)
    providers: dict[str, ProviderBehaviour] = Field(default_factory=dict)

    def behaviour(self, provider: str) -> ProviderBehaviour:
        return self.providers.get(provider, self.default)


class LedgerEntry(BaseModel):
    provider: str
    action: str
    method: str
    path: str
    status: int
    fault: str | None
    billable: bool
    at: float
    # The client's ``X-Request-Id``: dex sends its journal id, so chaos tests match each entry to an attempt.
    request_id: str | None = None
    # What was asked (method, path, query and body, hashed): two entries with one signature are the same
    # question asked twice, which is how a test sees a provider paid again for an answer dex had.
    signature: str = ""


class FastJSONResponse(JSONResponse):
    """Every answer of the sandbox is encoded here: orjson keeps its CPU per request low (it shares the
    machine with dex in every bench and test)."""

    def render(self, content: Any) -> bytes:
        return fastjson.encode(content)


async def _signature(request: Request) -> str:
    asked = hashlib.blake2b(digest_size=12)
    for part in (request.method, request.url.path, request.url.query):
        asked.update(part.encode() + b"\0")
    with contextlib.suppress(ClientDisconnect):  # gone before its body arrived: signed by its URL alone
        asked.update(await request.body())
    return asked.hexdigest()


class SandboxState:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self._seen: set[str] = set()
        self.configure(config or SandboxConfig())

    def configure(self, config: SandboxConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.scripted: dict[str, list[FaultKind]] = {}
        self.ledger: list[LedgerEntry] = []
        self._windows: dict[str, list[float]] = {}

    def first_sight(self, key: str) -> bool:
        """Whether this process sees ``key`` for the first time (an async job's first poll, say)."""
        if key in self._seen:
            return False
        if len(self._seen) >= 100_000:  # a long-lived sandbox forgets old keys rather than grow forever
            self._seen.clear()
        self._seen.add(key)
        return True

    def reset_ledger(self) -> None:
        self.ledger = []

    def script_faults(self, provider: str, faults: list[FaultKind]) -> None:
        """The next requests to ``provider`` get these faults, in order (deterministic tests)."""
        self.scripted.setdefault(provider, []).extend(faults)

    def hit_rate(self, provider: str) -> float:
        return self.config.behaviour(provider).hit_rate

    def _next_fault(self, provider: str, behaviour: ProviderBehaviour) -> FaultKind | None:
        queue = self.scripted.get(provider)
        if queue:
            return queue.pop(0)
        if behaviour.rate_limit_per_second:
            window = self._windows.setdefault(provider, [])
            now = time.monotonic()
            window[:] = [t for t in window if now - t < 1.0]
            if len(window) >= behaviour.rate_limit_per_second:
                return "429"
            window.append(now)
        if behaviour.fault_rate and self.rng.random() < behaviour.fault_rate:
            return self.rng.choice(behaviour.fault_kinds)
        return None

    async def handle(
        self,
        request: Request,
        provider: str,
        action: str,
        *,
        authorized: bool,
        answer: Callable[[], Awaitable[Response | dict[str, Any]] | Response | dict[str, Any]],
        billable: bool = True,
        unauthorized: Response | None = None,
    ) -> Response:
        """``unauthorized`` is the provider's own answer to a refused key (default: a generic 401)."""
        # The ledger of the configuration the request arrived under: an answer that outlives a reset (a hang
        # ends after its client gave up) is kept with the requests of its time, not the next test's.
        ledger = self.ledger
        # Read while the client is surely there: one that gives up during a hang is gone by the answer.
        signature = await _signature(request)
        behaviour = self.config.behaviour(provider)
        fault: FaultKind | None = None
        if not authorized:
            response: Response = unauthorized or JSONResponse(
                {"error": "Invalid API key", "message": "Unauthorized"}, 401
            )
        else:
            fault = self._next_fault(provider, behaviour)
            delay = behaviour.latency_ms + self.rng.uniform(-1, 1) * behaviour.latency_jitter_ms
            if fault == "slow":
                delay += behaviour.slow_seconds * 1000
            if delay > 0:
                await asyncio.sleep(delay / 1000)
            if fault == "timeout":
                await asyncio.sleep(behaviour.hang_seconds)
                response = JSONResponse({"error": "gateway timeout"}, 504)
            elif fault == "429":
                response = JSONResponse(
                    {"error": "rate limited"},
                    429,
                    headers={"Retry-After": f"{behaviour.retry_after_seconds:g}"},
                )
            elif fault in ("500", "502", "503"):
                response = JSONResponse({"error": "upstream failure"}, int(fault))
            elif fault == "malformed":
                response = Response(b'{"truncated": tr', 200, media_type="application/json")
            else:
                produced = answer()
                if asyncio.iscoroutine(produced):
                    produced = await produced
                response = produced if isinstance(produced, Response) else FastJSONResponse(produced)
        ledger.append(
            LedgerEntry(
                provider=provider,
                action=action,
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                fault=fault,
                billable=billable and (200 <= response.status_code < 300 or response.status_code == 404),
                at=time.time(),
                request_id=request.headers.get("x-request-id"),
                signature=signature,
            )
        )
        return response
