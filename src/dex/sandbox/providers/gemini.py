"""Gemini emulation: ``POST /v1beta/models/{model}:generateContent?key=<key>``.

The model answers research prompts from the sandbox market (``market.research_answer``) as JSON text, the
way Gemini does when ``response_mime_type`` is ``application/json``; unknown models answer 404."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.world import known_to

PROVIDER = "gemini"
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])


def _error(code: int, status: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "status": status}}, code)


@router.post("/v1beta/models/{model_method}")
async def generate_content(request: Request, model_method: str, key: str = "") -> Response:
    async def answer() -> Response | dict[str, Any]:
        model, _, method = model_method.partition(":")
        if method != "generateContent":
            return _error(404, "NOT_FOUND", f"Method {method or '(none)'} is not supported.")
        if not model.startswith("gemini-"):
            return _error(404, "NOT_FOUND", f"models/{model} is not found for API version v1beta.")
        try:
            body = await request.json()
            prompt = "".join(part["text"] for content in body["contents"] for part in content["parts"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "INVALID_ARGUMENT", "contents[].parts[].text is required.")
        state = sandbox_state(request)
        reply = market.research_answer(
            prompt, lambda domain: known_to(PROVIDER, domain, state.hit_rate(PROVIDER))
        )
        return {
            "candidates": [
                {
                    "content": {"parts": [{"text": json.dumps(reply)}], "role": "model"},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": len(prompt) // 4, "candidatesTokenCount": 40},
            "modelVersion": model,
        }

    return await sandbox_state(request).handle(
        request, PROVIDER, "generate_json", authorized=key == sandbox_credential(PROVIDER), answer=answer
    )


@router.get("/v1beta/models")
async def list_models(request: Request, key: str = "") -> Response:
    """Free: the models the sandbox answers for."""
    models = [{"name": "models/gemini-2.0-flash", "displayName": "Gemini 2.0 Flash"}]
    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "list_models",
        authorized=key == sandbox_credential(PROVIDER),
        answer=lambda: {"models": models},
        billable=False,
    )
