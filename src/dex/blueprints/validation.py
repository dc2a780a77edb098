"""Save-time validation of a blueprint against the operation registry.

Walks the steps in position order tracking which entity type the run carries and which fields the
context can hold (the entity's identifiers, everything earlier steps produce, and the step's own configured
options), and rejects, naming
the step and the field: unknown operations, an operation on the wrong entity type, and a required input
nothing upstream can produce. Search operations find *other* entities, so they may run on any entity
type; after a fan-out step the children carry the fan-out's child entity type.
"""

from __future__ import annotations

from collections.abc import Sequence

from dex.blueprints.schemas import BlueprintStepIn
from dex.errors import BadRequest
from dex.operations.inputs import ALIASES
from dex.operations.registry import OperationSpec, get_operation

# What an entity's own input may carry: its identifiers and the search
# parameters a batch may give each entity (a search step's query, filters, platform…).
SEARCH_INPUTS = {"query", "provider_filters", "platform", "category", "app_installed", "job_title", "cascade"}
# Identifiers a company-type entity may come with for the record-level operations: a carrier's USDOT number,
# a docket, a contractor, a geography or address (Shovels geo id), a filing document.
RECORD_INPUTS = {"dot_number", "carrier_name", "docket_id", "contractor_id", "geo_id", "document_url"}
ENTITY_INPUT_FIELDS = {
    "company": {
        "company_domain",
        "company_name",
        "company_website",
        "company_linkedin_url",
        "source_company_id",
        *SEARCH_INPUTS,
        *RECORD_INPUTS,
    },
    "person": {
        "first_name",
        "last_name",
        "full_name",
        "linkedin_url",
        "email",
        "company_domain",
        "company_name",
        "company_linkedin_url",
        "profile_url",
        "work_email",
        "personal_email",
        "person_id",
        *SEARCH_INPUTS,
    },
}


def with_aliases(fields: set[str]) -> set[str]:
    """Fields plus the canonical keys they satisfy (``current_company_domain`` → ``company_domain``)."""
    canonical = {key for key, (sources, _) in ALIASES.items() if fields.intersection(sources)}
    return fields | canonical


def default_entity_type(steps: Sequence[BlueprintStepIn]) -> str:
    """The entity type of the first operation that works on the run's own entity; "company" (the
    seed system's default) when a search fans out before any such step."""
    for step in sorted(steps, key=lambda s: s.position):
        spec = get_operation(step.operation_id or "")
        if not step.is_enabled or spec is None:
            continue
        if spec.category != "search":
            return spec.entity_type
        if fans_out(step):
            break
    return "company"


def fans_out(step: BlueprintStepIn) -> bool:
    return step.fan_out or bool((step.step_config or {}).get("fan_out") is True)


def _unsatisfied(spec: OperationSpec, available: set[str]) -> str | None:
    """The first required expression nothing available satisfies (shown with its alternatives)."""

    def holds(expression: str) -> bool:
        return any(all(part in available for part in alt.split("+")) for alt in expression.split("|"))

    for expression in spec.requirements.all_of:
        if not holds(expression):
            return expression
    if spec.requirements.any_of and not any(holds(expr) for expr in spec.requirements.any_of):
        return "|".join(spec.requirements.any_of)
    return None


def validate_steps(steps: Sequence[BlueprintStepIn], entity_type: str) -> None:
    positions = [step.position for step in steps]
    if len(positions) != len(set(positions)):
        raise BadRequest("Blueprint step positions must be unique")
    unknown = sorted(
        {s.operation_id or "<missing>" for s in steps if get_operation(s.operation_id or "") is None}
    )
    if unknown:
        raise BadRequest(f"Unsupported operation_id values: {', '.join(unknown)}")
    current = entity_type
    available = with_aliases(set(ENTITY_INPUT_FIELDS[current]))
    for step in sorted(steps, key=lambda s: s.position):
        if not step.is_enabled:
            continue
        spec = get_operation(step.operation_id or "")
        assert spec is not None
        label = f"step {step.position} ({spec.operation_id})"
        if spec.category != "search" and spec.entity_type != current:
            raise BadRequest(
                f"{label} operates on {spec.entity_type} entities, "
                f"but runs carry {current} entities at that point"
            )
        # A declared option the step itself configures satisfies the requirement it names.
        configured = set(step.step_config or {}) & set(spec.options)
        missing = _unsatisfied(spec, available | configured)
        if missing is not None:
            raise BadRequest(
                f"{label} requires {missing}, which neither the entity input nor an earlier step produces"
            )
        if fans_out(step):
            if spec.fan_out is None:
                raise BadRequest(f"{label} cannot fan out: the operation returns no list of entities")
            current = spec.fan_out.child_entity_type
            available |= set(ENTITY_INPUT_FIELDS[current])
        available = with_aliases(available | set(spec.produces))
