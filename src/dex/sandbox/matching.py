"""Matching rules every provider emulation shares, so each one searches the one synthetic world the same
way: companies matching a free text, titles matching a wanted title, people behind an email, and the
defensive readers of request JSON."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from dex.sandbox.app import sandbox_state
from dex.sandbox.world import Company, Person, company_for_domain, known_to, slug, staff

# A free-text company search finds the company of that name and these namesakes.
NAMESAKE_SUFFIXES = ("", "-labs", "-group", "-hq", "-io", "-systems", "-global", "-tech")
STOP_WORDS = frozenset({"of", "the", "and", "&", "for", "a", "an", "at", "in"})


def company_named(name: str) -> Company:
    """The sandbox company called ``name`` (its domain is the name's slug under .com)."""
    return company_for_domain(f"{slug(name) or 'unnamed'}.com")


def companies_matching(text: str) -> list[Company]:
    """Companies a free-text search for ``text`` finds: the one of that name first, then namesakes."""
    stem = slug(text) or "unnamed"
    return [company_for_domain(f"{stem}{suffix}.com") for suffix in NAMESAKE_SUFFIXES]


def _tokens(text: str) -> set[str]:
    return {token for token in re.split(r"[^a-z0-9]+", text.lower()) if token and token not in STOP_WORDS}


def title_matches(title: str, wanted: str) -> bool:
    """Every meaningful word of ``wanted`` appears in ``title`` ("vp sales" matches "VP of Sales")."""
    wanted_tokens = _tokens(wanted)
    return bool(wanted_tokens) and wanted_tokens <= _tokens(title)


def person_for_email(email: str) -> Person | None:
    """The staff member whose work address ``email`` is."""
    if "@" not in email:
        return None
    address = email.strip().lower()
    company = company_for_domain(address.rsplit("@", 1)[1])
    return next((person for person in staff(company) if person.work_email == address), None)


def known(request: Request, provider: str, key: str) -> bool:
    return known_to(provider, key, sandbox_state(request).hit_rate(provider))


def strings(value: Any) -> list[str]:
    """A request value as a list of non-blank strings (a single string counts as one)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [item.strip() for item in values if isinstance(item, str) and item.strip()]


def text(data: dict[str, Any], key: str) -> str | None:
    """``data[key]`` when it is a non-blank string."""
    value = data.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def section(data: Any, key: str) -> dict[str, Any]:
    """``data[key]`` when it is an object, else an empty one (requests may be malformed)."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}
