"""SEC EDGAR archive emulation: ``GET /Archives/edgar/data/{cik}/{accession}/{document}`` answers the
filing's primary HTML document; the caller must identify itself with the ``User-Agent`` EDGAR expects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import known

PROVIDER = "sec"
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])


@router.get("/Archives/edgar/data/{cik}/{accession}/{document}")
async def document(request: Request, cik: str, accession: str, document: str) -> Response:
    def answer() -> Response:
        html = market.filing_document(cik, document)
        if html is None or not known(request, PROVIDER, f"{cik}/{accession}/{document}"):
            return JSONResponse({"error": "Not Found"}, 404)
        return HTMLResponse(html)

    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "fetch_document",
        authorized=request.headers.get("User-Agent", "") == sandbox_credential(PROVIDER),
        answer=answer,
    )
