"""The names provider attempts carry where clients read them (an operation result's ``provider_attempts``
and the stored attempt history): the original system's action names, so a client that filters or counts
attempts by action keeps working. Adapters keep their own names internally (prices, the call journal and
the cache are keyed by them)."""

from __future__ import annotations

from typing import Any

# (provider, adapter action) → the original's action name, where the two differ.
REFERENCE_ACTIONS: dict[tuple[str, str], str] = {
    ("prospeo", "enrich_company"): "company_enrich",
    ("prospeo", "search_company"): "company_search",
    ("prospeo", "search_person"): "person_search",
    ("prospeo", "enrich_person"): "person_enrich_profile",
    ("blitzapi", "enrich_company"): "company_enrich",
    ("companyenrich", "enrich_company"): "company_enrich",
    ("companyenrich", "search_company"): "company_search",
    ("companyenrich", "search_person"): "person_search",
    ("leadmagic", "enrich_company"): "company_enrich",
    ("leadmagic", "technographics"): "company_technographics",
    ("leadmagic", "enrich_person"): "person_enrich_profile",
    ("icypeas", "find_email"): "resolve_email",
    ("parallel", "find_email"): "findability_email",
}
LLM_PROVIDERS = frozenset({"gemini", "openai", "anthropic"})


def reference_action(operation_id: str, provider: str, action: str, extra: dict[str, Any]) -> str:
    """The original's name for an attempt of ``operation_id``: an LLM call is named after the research
    operation it serves, a pricing question after its field (``infer_<field>``)."""
    if provider in LLM_PROVIDERS and operation_id.startswith("company.research."):
        return operation_id.rsplit(".", 1)[1]
    if (provider, action) == ("revenueinfra", "infer_pricing_field") and extra.get("question"):
        return f"infer_{extra['question']}"
    return REFERENCE_ACTIONS.get((provider, action), action)
