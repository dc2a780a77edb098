"""What the LLM adapters (Gemini, OpenAI, Anthropic) share: turning a model's text into one JSON object.

Models asked for JSON usually answer with bare JSON, but some wrap it in prose or a Markdown fence; the
object is then the first ``{`` to the last ``}`` of the text. An answer that holds no JSON object is a
failed attempt (``invalid_json_output``), never a guess.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse

OBJECT_SPAN = re.compile(r"\{.*\}", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text``: the whole text if it parses, else its outermost ``{…}`` span."""
    candidates = [text.strip()]
    span = OBJECT_SPAN.search(text)
    if span:
        candidates.append(span.group(0))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def json_answer(call: ProviderCall, response: ProviderResponse, text: str) -> AdapterResult:
    """``found`` with the parsed object, or ``failed`` when the model's text holds none."""
    answer = extract_json_object(text)
    if answer is None:
        return call.result(
            "failed", response, provider_status="invalid_json_output", error="invalid_json_output"
        )
    return call.result("found", response, mapped=answer, provider_status="ok")


def text_parts(value: Any) -> str:
    """Concatenated text of a list of ``{"text": …}`` parts (or a plain string)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    return "".join(
        part["text"] for part in value if isinstance(part, dict) and isinstance(part.get("text"), str)
    )
