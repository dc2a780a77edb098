"""OpenAI emulation: ``POST /v1/chat/completions`` with ``Authorization: Bearer <key>``.

The model answers research prompts from the sandbox market (``market.research_answer``); with
``response_format: json_object`` the message content is bare JSON. Unknown models answer 404."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.world import digest, known_to

PROVIDER = "openai"
MODEL_PREFIXES = ("gpt-", "o1", "o3", "o4")
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": code}}, status
    )


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    async def answer() -> Response | dict[str, Any]:
        try:
            body = await request.json()
            model = body["model"]
            prompt = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        except (ValueError, KeyError, TypeError):
            return _error(400, "model and messages[] are required.", "invalid_request")
        if not isinstance(model, str) or not model.startswith(MODEL_PREFIXES):
            return _error(404, f"The model `{model}` does not exist.", "model_not_found")
        state = sandbox_state(request)
        reply = market.research_answer(
            prompt, lambda domain: known_to(PROVIDER, domain, state.hit_rate(PROVIDER))
        )
        return {
            "id": f"chatcmpl-{digest('openai', prompt) % 10**12:012d}",
            "object": "chat.completion",
            "created": 1767225600,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": json.dumps(reply)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": 40},
        }

    bearer = request.headers.get("Authorization", "")
    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "generate_json",
        authorized=bearer == f"Bearer {sandbox_credential(PROVIDER)}",
        answer=answer,
    )


@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    """Free: the models the sandbox answers for."""
    models = [{"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"}]
    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "list_models",
        authorized=request.headers.get("authorization", "") == f"Bearer {sandbox_credential(PROVIDER)}",
        answer=lambda: {"object": "list", "data": models},
        billable=False,
    )
