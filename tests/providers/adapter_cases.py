"""Conformance cases for provider adapters. Each ``tests/providers/cases_<provider>.py`` module exports
``CASES: list[AdapterCase]``; ``test_adapter_conformance.py`` runs every case through the same scenarios
against the sandbox over real HTTP: found, not found, wrong key, 429 then success, 5xx, timeout and
malformed JSON."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dex.providers.base import AdapterResult


@dataclass(frozen=True)
class AdapterCase:
    adapter: Callable[..., Any]
    found_inputs: dict[str, Any]
    # Inputs for which the provider answers "nothing" when it knows no entity (hit rate 0).
    not_found_inputs: dict[str, Any] | None = None
    found_status: str = "found"
    not_found_status: str = "not_found"
    # Extra assertions on a found result (mapping checks).
    check_found: Callable[[AdapterResult], None] | None = None
    name: str = field(default="")

    @property
    def id(self) -> str:
        return self.name or f"{self.adapter.provider}.{self.adapter.action}"  # type: ignore[attr-defined]


def all_cases() -> list[AdapterCase]:
    cases: list[AdapterCase] = []
    here = Path(__file__).parent
    for module_info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if module_info.name.startswith("cases_"):
            module = importlib.import_module(f"tests.providers.{module_info.name}")
            cases.extend(module.CASES)
    return cases
