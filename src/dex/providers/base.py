"""The adapter contract shared by every provider module.

An adapter is an ``async def`` decorated with ``@adapter(provider, action)``. It receives a
:class:`ProviderCall` (credentials, base URL, and an HTTP method that accounts for cost) plus keyword
inputs, and returns an :class:`AdapterResult` — one provider *attempt* plus the mapped data. The decorator
owns everything that must be uniform: a missing key is a ``skipped`` attempt without any HTTP call, the
enrichment cache is consulted and filled, cost is attributed, and an adapter bug becomes a ``failed``
attempt instead of an exception.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from dex import fastjson
from dex.observability import PROVIDER_CACHE_LOOKUPS, PROVIDER_CREDITS_SAVED, PROVIDER_CREDITS_SPENT
from dex.providers.catalog import PROVIDERS, price_of
from dex.providers.groupcommit import Answer, CachedAnswer, KeyFields
from dex.providers.http import ProviderClient, ProviderResponse
from dex.providers.journal import BudgetRefused, CallJournal, CallOrigin, JournalUnavailable, Requester

log = logging.getLogger(__name__)

RAW_RESPONSE_CAP_BYTES = 64 * 1024
FOUND_TTL = timedelta(days=30)
NOT_FOUND_TTL = timedelta(days=3)
CACHEABLE_STATUSES = {"found": FOUND_TTL, "verified": FOUND_TTL, "not_found": NOT_FOUND_TTL}
SANDBOX_ACCOUNT_EMAIL = "sandbox@dex.invalid"
# The error of a request that was not sent because its price did not fit the budget.
BUDGET_EXHAUSTED = "budget_exhausted"


def sandbox_credential(provider: str) -> str:
    """The key the sandbox accepts for ``provider`` (any other key is rejected like a real provider would)."""
    return f"sandbox-{provider}-key"


def cap_raw(value: Any) -> Any:
    """Raw provider payloads are kept for lineage, but never more than 64 KiB of them per attempt."""
    if value is None:
        return None
    text = fastjson.dumps(value, default=str)
    if len(text) <= RAW_RESPONSE_CAP_BYTES:
        return value
    return {"truncated": True, "size_bytes": len(text), "preview": text[:RAW_RESPONSE_CAP_BYTES]}


def with_raw(mapped: dict[str, Any], item: Any) -> dict[str, Any]:
    """A mapped search item with the provider's own item beside it as ``raw`` (size-capped), so a client
    sees what the provider said about that one entity."""
    return {**mapped, "raw": cap_raw(item)}


@dataclass
class Attempt:
    provider: str
    action: str
    status: str
    skip_reason: str | None = None
    http_status: int | None = None
    provider_status: str | None = None
    duration_ms: int | None = None
    raw_response: Any = None
    error: str | None = None
    http_attempts: int = 0
    cached: bool = False
    sandbox: bool = False
    cost_credits: Decimal = Decimal("0")
    saved_credits: Decimal = Decimal("0")
    extra: dict[str, Any] = field(default_factory=dict)
    call_ids: list[uuid.UUID] = field(default_factory=list)
    call_costs: list[Decimal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The attempt as the API shows it: the seed system's keys, None-valued ones left out."""
        data: dict[str, Any] = {"provider": self.provider, "action": self.action, "status": self.status}
        for key in ("skip_reason", "http_status", "provider_status", "duration_ms", "raw_response", "error"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        data["cached"] = self.cached
        data["cost_credits"] = float(self.cost_credits)
        if self.sandbox:
            data["sandbox"] = True
        data.update(self.extra)
        return data


@dataclass
class AdapterResult:
    attempt: Attempt
    mapped: Any = None

    @property
    def status(self) -> str:
        return self.attempt.status


class CacheBackend(Protocol):
    async def get(self, org_id: uuid.UUID, provider: str, action: str, key: str) -> dict[str, Any] | None: ...

    def put(
        self,
        org_id: uuid.UUID,
        provider: str,
        action: str,
        key: str,
        entry: dict[str, Any],
        *,
        cost: Decimal,
        sandbox: bool,
        ttl: timedelta,
        answers_of: Sequence[uuid.UUID] = (),
    ) -> Awaitable[None]:
        """Queues the entry before returning (so it joins the answers noted in the same moment)."""
        ...


@dataclass
class ProviderContext:
    """Everything adapters need from the outside world for one operation execution."""

    org_id: uuid.UUID
    client: ProviderClient
    credentials: Callable[[str], tuple[str, ...] | None]
    base_urls: Callable[[str], str]
    sandbox: bool = False
    cache: CacheBackend | None = None
    use_cache: bool = True
    attempts: list[Attempt] = field(default_factory=list)
    # With a journal and a requester, every request is journaled before it is sent (dex.providers.journal);
    # ``origin`` names the operation run it belongs to and is set when the operation starts.
    journal: CallJournal | None = None
    requester: Requester | None = None
    origin: CallOrigin | None = None
    # The org or submission has a budget: each priced request reserves its price before it is sent.
    budgeted: bool = False
    # The price of the first request the budget refused. From then on the execution sends no priced
    # request (free ones, like polls of a search already paid for, go on), so its step waits for budget
    # whole instead of answering with what the budget happened to allow.
    budget_refused: Decimal | None = None
    # The writes of finished adapter calls — their answers' journal notes and cache entries — not yet
    # known to be committed (:meth:`settle`).
    unsettled: list[Awaitable[None]] = field(default_factory=list)

    async def settle(self) -> None:
        """Waits until the answers of the adapter calls made so far are kept. An adapter call returns as
        soon as its answer is mapped, so the operation's next call looks the cache up and journals its
        request in the same group commit as these writes (or a later one: batches commit in order, so a
        request is never sent before the answers it may follow from are kept). Whoever runs adapters
        settles before using their results anywhere else (``dex.operations.engine``). A write that fails
        is logged: the answer is used all the same, as :meth:`CallJournal.kept` says."""
        while self.unsettled:
            try:
                await self.unsettled.pop(0)
            except Exception:
                log.exception("a provider answer's journal note or cache entry could not be written")


def count_lookup(provider: str, *, hit: bool) -> None:
    PROVIDER_CACHE_LOOKUPS.labels(provider, "hit" if hit else "miss").inc()


class AnsweredFromCache(BaseException):
    """The cache holds the answer to the adapter call whose first request was about to be sent: the call
    ends there (the decorator returns the cached answer). A ``BaseException``, like a cancellation, so that
    an adapter's own error handling never mistakes it for a failure."""

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__()
        self.entry = entry


class ProviderCall:
    """An adapter's handle on one attempt: its credentials, base URL, and accounted HTTP requests."""

    def __init__(
        self,
        ctx: ProviderContext,
        provider: str,
        action: str,
        credentials: tuple[str, ...],
        cache_key: str | None = None,
    ) -> None:
        """``cache_key``: the call's key in the enrichment cache, looked up with its first request (so a
        call that sends nothing looks nothing up)."""
        self.ctx = ctx
        self.provider = provider
        self.action = action
        self.credentials = credentials
        self._unlooked: KeyFields | None = (
            {"org_id": ctx.org_id, "provider": provider, "action": action, "request_hash": cache_key}
            if cache_key is not None
            else None
        )
        self.base_url = ctx.base_urls(provider)
        self.cost = Decimal("0")
        self.http_attempts = 0
        self.http_status: int | None = None
        self.call_ids: list[uuid.UUID] = []
        self.call_costs: list[Decimal] = []
        # The journal's notes of paid answers, which must be committed before the attempt is used.
        self.answer_notes: list[asyncio.Future[Answer]] = []
        self.started = time.monotonic()

    @property
    def key(self) -> str:
        return self.credentials[0]

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        timeout_seconds: float | None = None,
        billable: bool = True,
        price_action: str | None = None,
        accept_text: bool = False,
    ) -> ProviderResponse:
        """``path`` is joined to the provider's base URL unless it is absolute. A billable call that the
        provider answered (2xx or a documented 404) costs the price of ``price_action`` (default: the
        adapter's action)."""
        url = path if path.startswith(("http://", "https://")) else self.base_url.rstrip("/") + path
        price = price_of(self.provider, price_action or self.action) if billable else Decimal("0")
        call_id = uuid.uuid4()
        journal, origin = self.ctx.journal, self.ctx.origin
        refused = self.ctx.budget_refused is not None and price > 0
        lookup, self._unlooked = self._unlooked, None
        if lookup is not None and (refused or journal is None or origin is None):
            await self._answer_from_cache(lookup)
            lookup = None
        if refused:
            return ProviderResponse(None, None, 0, 0, error=BUDGET_EXHAUSTED)
        if journal is not None and origin is not None:
            if self.ctx.budgeted and price > 0:
                # A reservation commits in a transaction of its own, not in the group commit after the
                # answers queued before it: they must be kept first.
                await self.ctx.settle()
            try:
                answered = await journal.before_send(
                    origin,
                    call_id,
                    self.provider,
                    self.action,
                    price=price,
                    sandbox=self.ctx.sandbox,
                    request_hash=request_hash(method, path, params, json_body, price_action or self.action)
                    if price > 0
                    else None,
                    reserve=self.ctx.budgeted,
                    unless_cached=lookup,
                )
            except JournalUnavailable:
                return ProviderResponse(None, None, 0, 0, error="journal_unavailable")
            except BudgetRefused:
                self.ctx.budget_refused = price
                return ProviderResponse(None, None, 0, 0, error=BUDGET_EXHAUSTED)
            if lookup is not None:
                count_lookup(self.provider, hit=isinstance(answered, CachedAnswer))
            if isinstance(answered, CachedAnswer):
                raise AnsweredFromCache(answered.entry())
            if answered is not None:
                # Answered to a process that died before recording it: paid once, used here.
                self.http_status = answered.http_status
                self.cost += answered.cost
                self.call_ids.append(answered.call_id)
                self.call_costs.append(answered.cost)
                return ProviderResponse(answered.http_status, answered.body, 0, 0, error=answered.error)
        response = await self.ctx.client.request(
            self.provider,
            method,
            url,
            headers={**(headers or {}), "X-Request-Id": str(call_id)},
            params=params,
            json_body=json_body,
            timeout_seconds=timeout_seconds,
            accept_text=accept_text,
        )
        self.http_attempts += response.http_attempts
        self.http_status = response.http_status
        cost = price if response.answered else Decimal("0")
        self.cost += cost
        if journal is not None and origin is not None:
            self.call_ids.append(call_id)
            self.call_costs.append(cost)
            note = journal.note_answer(call_id, response.http_status, cost, response.body, response.error)
            if note is not None:
                self.answer_notes.append(note)
        return response

    async def _answer_from_cache(self, lookup: KeyFields) -> None:
        """Ends the call with the cache's answer, if it has one (the call's first request, unjournaled)."""
        cache = self.ctx.cache
        if cache is None:
            return
        hit = await cache.get(lookup["org_id"], lookup["provider"], lookup["action"], lookup["request_hash"])
        count_lookup(self.provider, hit=hit is not None)
        if hit is not None:
            raise AnsweredFromCache(hit)

    def result(
        self,
        status: str,
        response: ProviderResponse | None = None,
        *,
        mapped: Any = None,
        provider_status: str | None = None,
        error: str | None = None,
        skip_reason: str | None = None,
        **extra: Any,
    ) -> AdapterResult:
        attempt = Attempt(
            provider=self.provider,
            action=self.action,
            status=status,
            skip_reason=skip_reason,
            http_status=response.http_status if response is not None else self.http_status,
            provider_status=provider_status,
            duration_ms=int((time.monotonic() - self.started) * 1000),
            raw_response=cap_raw(response.body) if response is not None else None,
            error=error or (response.error if response is not None else None),
            http_attempts=self.http_attempts,
            sandbox=self.ctx.sandbox,
            cost_credits=self.cost,
            extra=extra,
            call_ids=self.call_ids,
            call_costs=self.call_costs,
        )
        return AdapterResult(attempt, mapped)

    def failed_response(
        self, response: ProviderResponse, *, provider_status: str | None = None
    ) -> AdapterResult:
        """The common 'the provider did not give a usable answer' attempt."""
        return self.result(
            "failed",
            response,
            provider_status=provider_status
            or (f"http_{response.http_status}" if response.http_status else None),
            error=response.error or (f"http_status_{response.http_status}" if response.http_status else None),
        )


AdapterFn = Callable[..., Awaitable[AdapterResult]]


def _cache_key(inputs: dict[str, Any]) -> str:
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_hash(method: str, path: str, params: Any, json_body: Any, price_action: str) -> str:
    """What identifies a paid request across executions: what it asks, not who sent it (no headers, so
    neither the key nor the request id) nor where the provider is reached (the base URL)."""
    return _cache_key(
        {"method": method, "path": path, "params": params, "body": json_body, "priced": price_action}
    )


def skipped(ctx: ProviderContext, provider: str, action: str, reason: str) -> AdapterResult:
    attempt = Attempt(
        provider=provider, action=action, status="skipped", skip_reason=reason, sandbox=ctx.sandbox
    )
    ctx.attempts.append(attempt)
    return AdapterResult(attempt)


def adapter(
    provider: str, action: str, *, cacheable: bool = True, unkeyed: tuple[str, ...] = ()
) -> Callable[[AdapterFn], Callable[..., Awaitable[AdapterResult]]]:
    """``unkeyed`` names keyword inputs that tune *how* the call is made (poll timing) rather than what is
    asked, so they stay out of the cache key."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}: add it to dex.providers.catalog")

    def decorate(fn: AdapterFn) -> Callable[..., Awaitable[AdapterResult]]:
        @functools.wraps(fn)
        async def run(ctx: ProviderContext, **inputs: Any) -> AdapterResult:
            credentials = ctx.credentials(provider)
            if credentials is None:
                reason = "missing_provider_email" if provider == "adyntel" else "missing_provider_api_key"
                return skipped(ctx, provider, action, reason)
            key = _cache_key({name: value for name, value in inputs.items() if name not in unkeyed})
            cache = ctx.cache if cacheable and ctx.use_cache else None
            call = ProviderCall(ctx, provider, action, credentials, key if cache is not None else None)
            try:
                result = await fn(call, **inputs)
            except AnsweredFromCache as answered:
                result = _from_cache(ctx, provider, action, answered.entry)
                PROVIDER_CREDITS_SAVED.labels(provider).inc(float(result.attempt.saved_credits))
                ctx.attempts.append(result.attempt)
                return result
            except Exception as exc:
                log.exception("adapter %s.%s raised", provider, action)
                result = call.result("failed", error=f"unhandled_exception:{type(exc).__name__}")
            if result.attempt.error == BUDGET_EXHAUSTED and not call.call_ids:
                # Nothing was sent: no call was made, as with a missing key.
                return skipped(ctx, provider, action, BUDGET_EXHAUSTED)
            PROVIDER_CREDITS_SPENT.labels(provider).inc(float(result.attempt.cost_credits))
            ttl = CACHEABLE_STATUSES.get(result.status)
            if call.answer_notes:
                ctx.unsettled.append(CallJournal.kept(call.answer_notes))
            if cache is not None and ttl is not None:
                # Queued at once, the entry joins the answers' notes in one statement, and holds their
                # answers in their place (``dex.providers.groupcommit``).
                ctx.unsettled.append(
                    cache.put(
                        ctx.org_id,
                        provider,
                        action,
                        key,
                        _cache_entry(result),
                        cost=result.attempt.cost_credits,
                        sandbox=ctx.sandbox,
                        ttl=ttl,
                        answers_of=call.call_ids,
                    )
                )
            ctx.attempts.append(result.attempt)
            return result

        run.provider = provider  # type: ignore[attr-defined]
        run.action = action  # type: ignore[attr-defined]
        return run

    return decorate


def _cache_entry(result: AdapterResult) -> dict[str, Any]:
    attempt = result.attempt
    return {
        "status": attempt.status,
        "http_status": attempt.http_status,
        "provider_status": attempt.provider_status,
        "raw_response": attempt.raw_response,
        "extra": attempt.extra,
        "mapped": result.mapped,
    }


def _from_cache(ctx: ProviderContext, provider: str, action: str, hit: dict[str, Any]) -> AdapterResult:
    attempt = Attempt(
        provider=provider,
        action=action,
        status=hit["status"],
        http_status=hit.get("http_status"),
        provider_status=hit.get("provider_status"),
        duration_ms=0,
        raw_response=hit.get("raw_response"),
        cached=True,
        sandbox=ctx.sandbox,
        saved_credits=Decimal(str(hit.get("cost_credits", 0))),
        extra=hit.get("extra") or {},
    )
    return AdapterResult(attempt, hit.get("mapped"))
