"""OpenAI — POST ``/v1/chat/completions`` with ``Authorization: Bearer`` and a JSON-object response format."""

from __future__ import annotations

from dex.providers import llm
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, adapter


@adapter("openai", "generate_json")
async def generate_json(call: ProviderCall, *, model: str, prompt: str) -> AdapterResult:
    response = await call.request(
        "POST",
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {call.key}"},
        json_body={
            "model": model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": "Return JSON only."},
                {"role": "user", "content": prompt},
            ],
        },
    )
    if not response.ok:
        return call.failed_response(response)
    choices = response.json_body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = first.get("message")
    text = llm.text_parts(message.get("content")) if isinstance(message, dict) else ""
    return llm.json_answer(call, response, text)


# Listing the models is free.
ACCOUNT_PROBE = AccountProbe(
    "GET",
    "/v1/models",
    lambda credentials: ProbeRequest(headers={"Authorization": f"Bearer {credentials[0]}"}),
)
