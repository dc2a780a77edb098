"""Gemini — POST ``/v1beta/models/{model}:generateContent?key=<key>`` with JSON output requested."""

from __future__ import annotations

from typing import Any

from dex.providers import llm
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

# LLM_PRIMARY_MODEL accepts the family names operators wrote in the original configuration.
MODEL_ALIASES = {"gemini": "gemini-2.0-flash", "gemini-2": "gemini-2.0-flash", "gemini-3": "gemini-2.0-flash"}


def resolve_model(name: str) -> str:
    name = name.strip()
    return MODEL_ALIASES.get(name.lower(), name)


@adapter("gemini", "generate_json")
async def generate_json(call: ProviderCall, *, model: str, prompt: str) -> AdapterResult:
    response = await call.request(
        "POST",
        f"/v1beta/models/{model}:generateContent",
        params={"key": call.key},
        json_body={
            "contents": [{"parts": [{"text": prompt}]}],
            "generationConfig": {"temperature": 0, "response_mime_type": "application/json"},
        },
    )
    if not response.ok:
        return call.failed_response(response)
    candidates: list[Any] = response.json_body.get("candidates") or []
    text = "".join(
        llm.text_parts((candidate.get("content") or {}).get("parts"))
        for candidate in candidates
        if isinstance(candidate, dict)
    )
    return llm.json_answer(call, response, text)


# Listing the models is free.
ACCOUNT_PROBE = AccountProbe(
    "GET", "/v1beta/models", lambda credentials: ProbeRequest(params={"key": credentials[0]})
)
