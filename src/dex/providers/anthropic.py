"""Anthropic — POST ``/v1/messages`` with ``x-api-key`` and ``anthropic-version`` headers.

The Messages API has no JSON mode, so the answer is often prose around the object; ``llm.json_answer``
extracts it."""

from __future__ import annotations

from dex.providers import llm
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter

API_VERSION = "2023-06-01"
MAX_TOKENS = 4096


@adapter("anthropic", "generate_json")
async def generate_json(call: ProviderCall, *, model: str, prompt: str) -> AdapterResult:
    response = await call.request(
        "POST",
        "/v1/messages",
        headers={"x-api-key": call.key, "anthropic-version": API_VERSION},
        json_body={
            "model": model,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": prompt}],
        },
    )
    if not response.ok:
        return call.failed_response(response)
    blocks = response.json_body.get("content")
    text = llm.text_parts(
        [block for block in blocks if isinstance(block, dict) and block.get("type") == "text"]
        if isinstance(blocks, list)
        else None
    )
    return llm.json_answer(call, response, text)


# Listing the models is free.
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/v1/models",
    lambda credentials: ProbeRequest(headers={"x-api-key": credentials[0], "anthropic-version": API_VERSION}),
)
