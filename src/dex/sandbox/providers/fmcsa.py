"""FMCSA QCMobile emulation: ``GET /carriers/name/{name}``, ``/carriers/{dot}``, ``/carriers/{dot}/basics``
and ``/carriers/{dot}/authority``, the key as the ``webKey`` query parameter. Answers wrap records the
way QCMobile does (``content`` holding ``{"carrier": …}`` objects); an unknown carrier answers
``content: null``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dex.sandbox import carriers
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import known

PROVIDER = "fmcsa"
MAX_PAGE_SIZE = 50
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])


def _authorized(request: Request) -> bool:
    return request.query_params.get("webKey", "") == sandbox_credential(PROVIDER)


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


async def _answer(request: Request, action: str, answer: Callable[[], dict[str, Any]]) -> Response:
    return await sandbox_state(request).handle(
        request, PROVIDER, action, authorized=_authorized(request), answer=answer
    )


@router.get("/carriers/name/{name}")
async def search(request: Request, name: str) -> Response:
    def answer() -> dict[str, Any]:
        if not known(request, PROVIDER, f"name:{name.lower()}"):
            return {"content": []}
        start = max(_int(request.query_params.get("start"), 1), 1)
        size = min(_int(request.query_params.get("size"), MAX_PAGE_SIZE), MAX_PAGE_SIZE)
        found = carriers.carriers_named(name)[start - 1 : start - 1 + size]
        return {"content": [{"carrier": c.record(), "_links": {}} for c in found]}

    return await _answer(request, "search_carriers", answer)


def _carrier(request: Request, dot: str) -> carriers.Carrier | None:
    return carriers.carrier(int(dot)) if dot.isdigit() and known(request, PROVIDER, f"dot:{dot}") else None


@router.get("/carriers/{dot}")
async def carrier(request: Request, dot: str) -> Response:
    def answer() -> dict[str, Any]:
        found = _carrier(request, dot)
        return {"content": {"carrier": found.record()} if found else None, "retrievalDate": "2026-01-01"}

    return await _answer(request, "enrich_carrier", answer)


@router.get("/carriers/{dot}/basics")
async def basics(request: Request, dot: str) -> Response:
    def answer() -> dict[str, Any]:
        found = _carrier(request, dot)
        return {"content": [{"basic": basic} for basic in found.basics()] if found else []}

    return await _answer(request, "carrier_basics", answer)


@router.get("/carriers/{dot}/authority")
async def authority(request: Request, dot: str) -> Response:
    def answer() -> dict[str, Any]:
        found = _carrier(request, dot)
        return {"content": [{"carrierAuthority": found.authority()}] if found else []}

    return await _answer(request, "carrier_authority", answer)
