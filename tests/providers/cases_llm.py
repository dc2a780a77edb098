from __future__ import annotations

from dex.providers import anthropic, gemini, openai
from dex.providers.base import AdapterResult
from tests.providers.adapter_cases import AdapterCase

PROMPT = (
    "Find the G2 product page of this company.\n"
    "Company name: Acme\n"
    "Company domain: acme.io\n"
    'Answer with a JSON object: {"g2_url": ..., "confidence": ..., "reason": ...}'
)


def _g2_answer(result: AdapterResult) -> None:
    assert result.mapped["g2_url"] == "https://www.g2.com/products/acme/reviews"


CASES = [
    AdapterCase(
        gemini.generate_json, {"model": "gemini-2.0-flash", "prompt": PROMPT}, check_found=_g2_answer
    ),
    AdapterCase(openai.generate_json, {"model": "gpt-4", "prompt": PROMPT}, check_found=_g2_answer),
    # Claude answers in prose around a fenced JSON object; the adapter extracts it.
    AdapterCase(
        anthropic.generate_json,
        {"model": "claude-3-5-haiku-latest", "prompt": PROMPT},
        check_found=_g2_answer,
    ),
]
