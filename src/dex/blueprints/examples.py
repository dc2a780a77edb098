"""The example blueprint that ships with dex (``dex/examples/people_at_companies.json``): what the demo runs
and what ``dex admin bootstrap`` gives a new org, so the README's first commands work as written."""

from __future__ import annotations

from importlib import resources

from dex.blueprints.schemas import BlueprintCreate

EXAMPLES = resources.files("dex") / "examples"


def example_blueprint() -> BlueprintCreate:
    """people-at-companies: company profile → the people there (fan-out) → work email → verified."""
    return BlueprintCreate.model_validate_json((EXAMPLES / "people_at_companies.json").read_text())
