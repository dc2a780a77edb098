"""Anthropic emulation: ``POST /v1/messages`` with ``x-api-key`` and ``anthropic-version``.

Claude has no JSON mode, so the emulated model answers the way it tends to: a sentence, then the JSON
object in a Markdown fence. Unknown models answer 404, a missing ``anthropic-version`` 400."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.world import digest, known_to

PROVIDER = "anthropic"
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


@router.post("/v1/messages")
async def messages(request: Request) -> Response:
    async def answer() -> Response | dict[str, Any]:
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        try:
            body = await request.json()
            model = body["model"]
            prompt = "\n".join(_text(m["content"]) for m in body["messages"] if m["role"] == "user")
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_request_error", "model and messages are required")
        if not isinstance(model, str) or not model.startswith("claude-"):
            return _error(404, "not_found_error", f"model: {model}")
        state = sandbox_state(request)
        reply = market.research_answer(
            prompt, lambda domain: known_to(PROVIDER, domain, state.hit_rate(PROVIDER))
        )
        text = f"Here is what I found:\n\n```json\n{json.dumps(reply, indent=2)}\n```"
        return {
            "id": f"msg_{digest('anthropic', prompt) % 10**16:016d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": len(prompt) // 4, "output_tokens": 60},
        }

    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "generate_json",
        authorized=request.headers.get("x-api-key", "") == sandbox_credential(PROVIDER),
        answer=answer,
    )


@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    """Free: the models the sandbox answers for."""
    models = [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5"}]
    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "list_models",
        authorized=request.headers.get("x-api-key", "") == sandbox_credential(PROVIDER),
        answer=lambda: {"data": models, "has_more": False},
        billable=False,
    )
