"""The blueprint assembler: from the fields a user wants to the shortest blueprint that
produces them, computed from the registry's declared inputs and outputs.

The search is exact, not greedy: a uniform-cost search over sets of steps, cheapest first by
(number of steps, sum of cost tiers), so the answer is the shortest blueprint and, among equally short ones,
the cheapest; ties fall to operation ids, so the same request always gets the same blueprint. It models what
a run really carries, which is where the seed system's greedy assembler went wrong:

- a wanted field is served by a step that produces it, never assumed present because the entity *might*
  carry it: only the declared ``inputs`` (default: the entity's primary identifier) are given;
- a run carries one entity type: person fields on a company blueprint need a fan-out step that turns each
  company into its people (``person.search``), and only the steps after it run on persons;
- a fan-out operation used without fan-out only adds its list to the context; its items' fields exist only
  in the children.

Natural-language mode asks an LLM (the ``LLM_PROVIDER_ORDER`` adapters) to turn a sentence into wanted fields
and options, then assembles those; no model is involved in choosing the steps.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dex.blueprints.schemas import EntityType
from dex.blueprints.validation import ENTITY_INPUT_FIELDS, with_aliases
from dex.config import Settings
from dex.errors import BadRequest, DexError
from dex.operations.catalog.research import llm_models
from dex.operations.inputs import ALIASES
from dex.operations.registry import COST_RANK, OperationSpec, expression_satisfied, registry
from dex.providers.base import ProviderContext

# What each entity's input is assumed to carry when the request does not say.
DEFAULT_INPUTS: dict[str, tuple[str, ...]] = {"company": ("company_domain",), "person": ("linkedin_url",)}

# Operations that answer only for some entities (StoreLeads knows online stores, not companies in general):
# chosen for their specialty fields, or for a field no other operation produces.
SPECIALISTS: dict[str, frozenset[str]] = {
    "company.enrich.ecommerce": frozenset(
        {
            "ecommerce_platform",
            "ecommerce_plan",
            "estimated_monthly_sales_cents",
            "installed_apps",
            "product_count",
            "platform_rank",
            "global_rank",
            "monthly_app_spend_cents",
            "store_created_at",
            "shipping_carriers",
            "sales_carriers",
            "domain_state",
            "merchant_name",
            "contact_info",
        }
    )
}

# Options that make the blueprint include an operation whatever the wanted fields.
PINNING_OPTIONS = {"include_pricing_intelligence": "company.derive.pricing_intelligence"}

# A safety net for absurd requests; real ones settle in a few hundred expansions.
MAX_EXPANSIONS = 50_000


class AssemblyOptions(BaseModel):
    """Options of an assembly. Any other key is delivered as ``step_config`` to the steps whose operation
    declares that option (``job_level``, ``location``…)."""

    model_config = ConfigDict(extra="allow")

    include_work_history: bool | None = None
    include_pricing_intelligence: bool = False
    max_results: int | None = Field(default=None, ge=1)
    job_title: str | None = None
    # The fan-out that turns entities into entities of another type; default: that type's search.
    fan_out_operation: str | None = None

    @classmethod
    def parse(cls, options: dict[str, Any]) -> AssemblyOptions:
        try:
            return cls.model_validate(options)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise BadRequest(f"invalid option {'.'.join(map(str, error['loc']))}: {error['msg']}") from exc

    def step_options(self) -> dict[str, Any]:
        control = {"include_pricing_intelligence", "fan_out_operation"}
        return {
            key: value
            for key, value in self.model_dump(exclude_none=True).items()
            if key not in control and value != ""
        }


class AssembleRequest(BaseModel):
    mode: Literal["fields", "natural_language"] = "fields"
    entity_type: EntityType = "company"
    desired_fields: list[str] = Field(default_factory=list)
    # The fields every entity's input carries (a subset of what the entity type accepts).
    inputs: list[str] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    prompt: str | None = None
    name: str = "auto-generated"


class AssembledStep(BaseModel):
    position: int
    operation_id: str
    fan_out: bool = False
    step_config: dict[str, Any] | None = None


class StepExplanation(BaseModel):
    position: int
    operation_id: str
    entity_type: str
    category: str
    cost_tier: str
    fan_out: bool
    fans_out_to: str | None
    serves_fields: list[str]
    feeds: list[dict[str, Any]]
    reason: str


class UnresolvableField(BaseModel):
    field: str
    reason: str


class LlmExtraction(BaseModel):
    desired_fields: list[str]
    options: dict[str, Any]
    provider: str
    ignored_fields: list[str]
    provider_attempts: list[dict[str, Any]]


class AssembledBlueprint(BaseModel):
    name: str
    entity_type: str
    desired_fields: list[str]
    inputs: list[str]
    steps: list[AssembledStep]
    explanation: list[StepExplanation]
    provided_by_input: list[str]
    unresolvable_fields: list[str]
    unresolvable: list[UnresolvableField]
    llm_extracted: LlmExtraction | None = None


# --- the registry seen as field flows -------------------------------------------------------------------


class _Fields:
    """A set of field names seen through the registry's requirement check (``Requirements.missing``)."""

    def __init__(self, fields: frozenset[str]) -> None:
        self.fields = fields

    def has(self, key: str) -> bool:
        return key in self.fields


@functools.cache
def expand(fields: frozenset[str]) -> frozenset[str]:
    """Fields plus the canonical names they satisfy (``current_company_domain`` → ``company_domain``)."""
    return frozenset(with_aliases(set(fields)))


@dataclass(frozen=True, eq=False)
class Flow:
    """One operation as the assembler sees it: what it needs, what it adds to its run's context and, when it
    fans out, what each child receives. Compared by identity: there is one per operation."""

    spec: OperationSpec
    # What the operation adds to its run's context (for a fan-out operation: its list, not the items).
    context: frozenset[str]
    # What a fan-out child receives from its item: the item's fields and their canonical names.
    item: frozenset[str]
    # What it can make available on its run, and to its run or its children, with canonical names.
    run_outputs: frozenset[str]
    outputs: frozenset[str]

    @classmethod
    def of(cls, spec: OperationSpec) -> Flow:
        item: frozenset[str] = frozenset()
        if spec.fan_out is not None:
            # The declared outputs beyond the output contract are the list items' fields.
            item = frozenset(spec.produces) - frozenset(spec.output_contract.model_fields)
            item |= {target for _, target in spec.fan_out.item_aliases}
        context = frozenset(spec.produces) - item
        return cls(spec, context, item, expand(context), expand(context | item))

    @property
    def operation_id(self) -> str:
        return self.spec.operation_id

    @property
    def cost(self) -> int:
        return COST_RANK[self.spec.cost_tier]

    @property
    def child_type(self) -> str | None:
        return self.spec.fan_out.child_entity_type if self.spec.fan_out else None

    def runs_on(self, entity_type: str) -> bool:
        # Searches find *other* entities, so they run on any entity type (as blueprint validation allows).
        return self.spec.entity_type == entity_type or self.spec.category == "search"

    def after(self, available: frozenset[str]) -> frozenset[str]:
        """The run's fields once this step ran without fanning out."""
        return expand(available | self.context)

    def child_start(self, available: frozenset[str]) -> frozenset[str]:
        """What a fan-out child starts with: its parent's context without the list, plus its item."""
        assert self.spec.fan_out is not None
        return expand((available | self.context) - {self.spec.fan_out.list_key} | self.item)


@functools.cache
def flows() -> tuple[Flow, ...]:
    return tuple(Flow.of(spec) for spec in registry().values())


@functools.cache
def runnable(flow: Flow, available: frozenset[str]) -> bool:
    return not flow.spec.requirements.missing(_Fields(available))


# --- the search ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    flow: Flow
    fan_out: bool
    entity_type: str  # the entity type the step runs on


@dataclass(frozen=True)
class _State:
    steps: tuple[_Step, ...]
    entity_type: str
    available: frozenset[str]
    covered: frozenset[str]
    used: frozenset[Flow]

    @property
    def key(self) -> tuple[str, frozenset[tuple[Flow, bool]]]:
        return self.entity_type, frozenset((s.flow, s.fan_out) for s in self.steps)

    def then(
        self, step: _Step, entity_type: str, available: frozenset[str], delivered: frozenset[str]
    ) -> _State:
        return _State(
            (*self.steps, step), entity_type, available, self.covered | delivered, self.used | {step.flow}
        )


@dataclass(frozen=True)
class _Problem:
    root: str
    goal: frozenset[str]
    pinned: frozenset[Flow]
    fan_outs: tuple[Flow, ...]
    # Fields operations on the blueprint's own entities produce: they count only when they land there
    # (a person's current_company_name is no company name for the company entity).
    root_fields: frozenset[str]
    # Wanted fields only a specialist produces (so it may be chosen for them).
    specialist_only: frozenset[str]

    def credited(self, flow: Flow, gained: frozenset[str], entity_type: str) -> frozenset[str]:
        """The wanted fields a step delivers when it makes ``gained`` available on ``entity_type``."""
        fields = gained & self.goal
        if entity_type != self.root:
            fields -= self.root_fields
        if flow.operation_id in SPECIALISTS:
            fields &= SPECIALISTS[flow.operation_id] | self.specialist_only
        return fields

    def can_deliver(self, flow: Flow, field: str, state: _State) -> bool:
        """Whether ``flow``, added now or later, could deliver the wanted ``field`` (see ``credited``)."""
        specialty = SPECIALISTS.get(flow.operation_id)
        if specialty is not None and field not in specialty | self.specialist_only:
            return False
        if field in self.root_fields:
            return state.entity_type == self.root and flow.runs_on(self.root) and field in flow.run_outputs
        return field in flow.outputs

    def needs_children(self, state: _State) -> bool:
        return state.entity_type == self.root and bool(self.goal - state.covered - self.root_fields)

    def needed(self, state: _State) -> frozenset[str]:
        """Fields worth producing although nobody asked for them: inputs, direct or transitive, of unused
        operations that would deliver something wanted."""
        targets = set(self.goal - state.covered)
        relevant: set[Flow] = set()
        grown = True
        while grown:
            grown = False
            for flow in flows():
                if flow in state.used or flow in relevant:
                    continue
                if (
                    flow in self.pinned
                    or flow.outputs & targets
                    or (flow in self.fan_outs and self.needs_children(state))
                ):
                    relevant.add(flow)
                    targets |= flow.spec.requirements.fields() - state.available
                    grown = True
        return frozenset(targets)

    def lower_bound(self, state: _State) -> tuple[int, int]:
        """Steps and cost still needed at least (A*'s heuristic, never an overestimate).

        Each wanted field demands a step among its producers and, when none of them can run yet, another
        among the operations providing their inputs. Demands whose candidate steps do not overlap need
        distinct steps, so a greedy packing of them (fewest candidates first) adds up, each costing at least
        its cheapest candidate; a fan-out is added when what is left must land on other entities."""
        unused = [flow for flow in flows() if flow not in state.used]
        demands: list[frozenset[Flow]] = []
        for field in self.goal - state.covered:
            producers = frozenset(flow for flow in unused if self.can_deliver(flow, field, state))
            if not producers:
                return MAX_EXPANSIONS, 0  # a dead end: something wanted can no longer be produced
            demands.append(producers)
            if all(p.runs_on(state.entity_type) and not runnable(p, state.available) for p in producers):
                missing = set().union(*(p.spec.requirements.fields() for p in producers)) - state.available
                # A search may also get its inputs from a fan-out's items; other operations from the run.
                reach = "outputs" if any(p.spec.category == "search" for p in producers) else "run_outputs"
                enablers = (f for f in unused if getattr(f, reach) & missing and f not in producers)
                demands.append(frozenset(enablers))
        if self.needs_children(state):
            demands.append(frozenset(self.fan_outs))
        taken: set[Flow] = set()
        steps = spent = 0
        for candidates in sorted(demands, key=lambda d: (len(d), sorted(f.operation_id for f in d))):
            if not candidates:
                return MAX_EXPANSIONS, 0
            if taken.isdisjoint(candidates):
                taken |= candidates
                steps, spent = steps + 1, spent + min(flow.cost for flow in candidates)
        pinned = self.pinned - state.used
        if len(pinned) > steps:
            return len(pinned), sum(flow.cost for flow in pinned)
        return steps, spent

    def done(self, state: _State) -> bool:
        return self.goal <= state.covered and self.pinned <= state.used


def _successors(problem: _Problem, state: _State) -> Iterable[_State]:
    needed = problem.needed(state)
    for flow in flows():
        if flow in state.used or not flow.runs_on(state.entity_type) or not runnable(flow, state.available):
            continue
        after = flow.after(state.available)
        gained = after - state.available
        delivered = problem.credited(flow, gained, state.entity_type)
        if delivered or gained & needed or flow in problem.pinned:
            yield state.then(_Step(flow, False, state.entity_type), state.entity_type, after, delivered)
        child = flow.child_type
        if flow in problem.fan_outs and child != state.entity_type and problem.needs_children(state):
            assert child is not None
            start = flow.child_start(state.available)
            delivered |= problem.credited(flow, start - state.available, child)
            yield state.then(_Step(flow, True, state.entity_type), child, start, delivered)


def _priority(problem: _Problem, state: _State) -> tuple[int, int, int, tuple[str, ...]]:
    """A*: shortest first (steps taken plus a lower bound of those to come), then cheapest (likewise);
    among equals the deepest (it is closest to done), then by operation ids."""
    steps, spent = problem.lower_bound(state)
    taken = len(state.steps)
    ids = tuple(sorted(flow.operation_id for flow in state.used))
    return taken + steps, sum(s.flow.cost for s in state.steps) + spent, -taken, ids


def _search(problem: _Problem, start: _State) -> _State:
    tie = itertools.count()
    frontier = [(_priority(problem, start), next(tie), start)]
    seen: set[Any] = set()
    while frontier and len(seen) < MAX_EXPANSIONS:
        _, _, state = heapq.heappop(frontier)
        if state.key in seen:
            continue
        seen.add(state.key)
        if problem.done(state):
            return state
        for successor in _successors(problem, state):
            if successor.key not in seen:
                heapq.heappush(frontier, (_priority(problem, successor), next(tie), successor))
    raise BadRequest("too many fields to assemble into one blueprint; ask for fewer at a time")


def _reachable(
    entity_type: str, available: frozenset[str], fan_outs: tuple[Flow, ...]
) -> dict[str, set[str]]:
    """Per entity type, every field some blueprint could make available on it from ``available``."""
    fields = available
    grown = True
    while grown:
        grown = False
        for flow in flows():
            if flow.runs_on(entity_type) and runnable(flow, fields):
                more = flow.after(fields)
                grown |= more != fields
                fields = more
    reached = {entity_type: set(fields)}
    for flow in fan_outs:
        child = flow.child_type
        if child is not None and child != entity_type and runnable(flow, fields):
            rest = tuple(other for other in fan_outs if other is not flow)
            for kind, found in _reachable(child, flow.child_start(fields), rest).items():
                reached.setdefault(kind, set()).update(found)
    return reached


def _unresolvable_reason(field: str) -> str:
    producers = sorted(flow.operation_id for flow in flows() if field in flow.outputs)
    if not producers:
        return "no operation produces this field"
    return (
        f"produced only by {', '.join(producers)}, which cannot run on what this blueprint's entities "
        "carry (wrong entity type or inputs nothing upstream provides)"
    )


def _fan_out_choices(options: AssemblyOptions) -> tuple[Flow, ...]:
    """The operations allowed to switch the run's entity type: the one named by ``fan_out_operation``,
    else the child type's own search (a company's people come from ``person.search``, not from its alumni;
    a person's employer is not found by searching motor carriers or job posts)."""
    if options.fan_out_operation:
        chosen = [f for f in flows() if f.operation_id == options.fan_out_operation and f.child_type]
        if not chosen:
            raise BadRequest(f"fan_out_operation {options.fan_out_operation} is not a fan-out operation")
        return tuple(chosen)
    return tuple(
        f
        for f in flows()
        if f.child_type and f.spec.category == "search" and f.operation_id == f"{f.child_type}.search"
    )


# --- ordering, conditions and explanations ---------------------------------------------------------------


def _ordered(state: _State, start: frozenset[str]) -> list[_Step]:
    """Each entity phase's steps in dependency order (alphabetical among ready ones), its fan-out last."""
    ordered: list[_Step] = []
    available = start
    remaining = list(state.steps)
    while remaining:
        phase = remaining[0].entity_type
        in_phase = [s for s in remaining if s.entity_type == phase and not s.fan_out]
        while in_phase:
            ready = (s for s in in_phase if runnable(s.flow, available))
            step = min(ready, key=lambda s: s.flow.operation_id)
            ordered.append(step)
            in_phase.remove(step)
            available = step.flow.after(available)
        remaining = [s for s in remaining if s.entity_type != phase or s.fan_out]
        if remaining:
            fan_out = remaining.pop(0)
            ordered.append(fan_out)
            available = fan_out.flow.child_start(available)
    return ordered


def _exists(field: str) -> dict[str, Any]:
    sources = ALIASES[field][0] if field in ALIASES else (field,)
    tests = [{"field": source, "op": "exists"} for source in sources]
    return tests[0] if len(tests) == 1 else {"any": tests}


def _combine(kind: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {kind: parts}


def _guard(spec: OperationSpec, phase_start: frozenset[str]) -> dict[str, Any] | None:
    """A condition skipping the step when an input an earlier step was to produce is missing (that step
    found nothing), instead of failing the run on missing inputs. Inputs the entity carries need none."""

    def expression(text: str) -> dict[str, Any]:
        return _combine(
            "any",
            [_combine("all", [_exists(part) for part in alt.split("+")]) for alt in text.split("|")],
        )

    given = _Fields(phase_start)
    requirements = spec.requirements
    checks = [expression(e) for e in requirements.all_of if not expression_satisfied(e, given)]
    if requirements.any_of and not any(expression_satisfied(e, given) for e in requirements.any_of):
        checks.append(_combine("any", [expression(e) for e in requirements.any_of]))
    return _combine("all", checks) if checks else None


def _plan_steps(
    ordered: list[_Step], problem: _Problem, start: frozenset[str], options: AssemblyOptions
) -> tuple[list[AssembledStep], list[StepExplanation]]:
    step_options = options.step_options()
    befores, gains, phase_starts, delivered = [], [], [], []
    available = phase_start = start
    for step in ordered:
        befores.append(available)
        phase_starts.append(phase_start)
        after = step.flow.after(available)
        served = problem.credited(step.flow, after - available, step.entity_type)
        if step.fan_out:
            after = phase_start = step.flow.child_start(available)
            served |= problem.credited(step.flow, after - available, step.flow.child_type or "")
        gains.append(after - available)
        delivered.append(served)
        available = after
    steps, explanations = [], []
    served_before: set[str] = set()
    for index, step in enumerate(ordered):
        spec, position = step.flow.spec, index + 1
        config = {key: value for key, value in step_options.items() if key in spec.options}
        guard = None if step.fan_out else _guard(spec, phase_starts[index])
        if guard is not None:
            config["condition"] = guard
        steps.append(
            AssembledStep(
                position=position,
                operation_id=spec.operation_id,
                fan_out=step.fan_out,
                step_config=config or None,
            )
        )
        serves = sorted(delivered[index] - served_before)
        served_before.update(serves)
        feeds = []
        for later_index in range(index + 1, len(ordered)):
            later = ordered[later_index].flow
            # Only the steps that could not run without this one's outputs.
            if runnable(later, befores[later_index] - gains[index]):
                continue
            inputs = sorted(later.spec.requirements.fields() & gains[index] & befores[later_index])
            if inputs:
                feeds.append(
                    {"position": later_index + 1, "operation_id": later.operation_id, "inputs": inputs}
                )
        explanations.append(
            StepExplanation(
                position=position,
                operation_id=spec.operation_id,
                entity_type=step.entity_type,
                category=spec.category,
                cost_tier=spec.cost_tier,
                fan_out=step.fan_out,
                fans_out_to=step.flow.child_type if step.fan_out else None,
                serves_fields=serves,
                feeds=feeds,
                reason=_reason(step, serves, feeds),
            )
        )
    return steps, explanations


def _reason(step: _Step, serves: list[str], feeds: list[dict[str, Any]]) -> str:
    parts = []
    if step.fan_out:
        child = step.flow.child_type
        parts.append(
            f"turns each {step.entity_type} into its {child} entities; later steps run once per {child}"
        )
    if serves:
        parts.append(f"produces {', '.join(serves)}")
    for feed in feeds:
        parts.append(f"gives step {feed['position']} ({feed['operation_id']}) {', '.join(feed['inputs'])}")
    if not parts:
        parts.append("required by the request's options")
    return "; ".join(parts)


# --- the entry points ------------------------------------------------------------------------------------


def _inputs(entity_type: str, requested: list[str] | None) -> tuple[str, ...]:
    inputs = tuple(dict.fromkeys(f.strip() for f in requested or DEFAULT_INPUTS[entity_type] if f.strip()))
    unknown = sorted(set(inputs) - ENTITY_INPUT_FIELDS[entity_type])
    if unknown:
        allowed = ", ".join(sorted(ENTITY_INPUT_FIELDS[entity_type]))
        raise BadRequest(f"{entity_type} inputs cannot include {', '.join(unknown)} (allowed: {allowed})")
    if not inputs:
        raise BadRequest("inputs must name at least one field")
    return inputs


def assemble(
    desired_fields: list[str],
    entity_type: str = "company",
    options: dict[str, Any] | AssemblyOptions | None = None,
    *,
    inputs: list[str] | None = None,
    name: str = "auto-generated",
) -> AssembledBlueprint:
    """The shortest, then cheapest, blueprint producing ``desired_fields`` for ``entity_type`` entities
    whose input carries ``inputs``. Pure and deterministic."""
    parsed = options if isinstance(options, AssemblyOptions) else AssemblyOptions.parse(options or {})
    wanted = list(dict.fromkeys(f.strip() for f in desired_fields if f and f.strip()))
    given = _inputs(entity_type, inputs)
    start = expand(frozenset(given))
    by_id = {flow.operation_id: flow for flow in flows()}
    pinned = frozenset(by_id[op] for option, op in PINNING_OPTIONS.items() if getattr(parsed, option, False))
    fan_outs = _fan_out_choices(parsed)
    own = [f for f in flows() if f.spec.entity_type == entity_type and f.spec.category != "search"]
    root_fields = expand(frozenset().union(*(flow.context for flow in own)))
    reachable = _reachable(entity_type, start, fan_outs)
    elsewhere = set().union(*(found for kind, found in reachable.items() if kind != entity_type))
    provided = [f for f in wanted if f in start]
    unresolvable = sorted(
        f for f in wanted if f not in reachable[entity_type] and (f in root_fields or f not in elsewhere)
    )
    goal = frozenset(wanted) - start - set(unresolvable)
    generalists = [flow for flow in flows() if flow.operation_id not in SPECIALISTS]
    problem = _Problem(
        root=entity_type,
        goal=goal,
        pinned=pinned,
        fan_outs=fan_outs,
        root_fields=root_fields,
        specialist_only=frozenset(f for f in goal if not any(f in flow.outputs for flow in generalists)),
    )
    found = _search(problem, _State((), entity_type, start, frozenset(), frozenset()))
    steps, explanation = _plan_steps(_ordered(found, start), problem, start, parsed)
    return AssembledBlueprint(
        name=name,
        entity_type=entity_type,
        desired_fields=wanted,
        inputs=list(given),
        steps=steps,
        explanation=explanation,
        provided_by_input=provided,
        unresolvable_fields=unresolvable,
        unresolvable=[UnresolvableField(field=f, reason=_unresolvable_reason(f)) for f in unresolvable],
    )


# --- natural-language mode -------------------------------------------------------------------------------


class LanguageModelUnavailable(DexError):
    status_code = 502


# keyword → (fields, options): what a request mentioning the keyword asks for.
KEYWORD_RULES: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    ("email", ("email",), {}),
    ("phone", ("mobile_phone",), {}),
    ("mobile", ("mobile_phone",), {}),
    ("people", ("email",), {}),
    ("contact", ("email",), {}),
    ("VP", ("email",), {"job_title": "VP"}),
    ("director", ("email",), {"job_title": "Director"}),
    ("CEO", ("email",), {"job_title": "CEO"}),
    ("founder", ("email",), {"job_title": "Founder"}),
    ("work history", ("current_title", "seniority", "work_history"), {"include_work_history": True}),
    ("pricing", ("pricing_page_url",), {}),
    ("competitor", ("competitors",), {}),
    ("customer", ("customers",), {}),
    ("alumni", ("alumni",), {}),
    ("technology", ("technologies",), {}),
    ("technologies", ("technologies",), {}),
    ("tech stack", ("technologies",), {}),
    ("VC", ("has_raised_vc",), {}),
    ("funding", ("has_raised_vc",), {}),
    ("investor", ("has_raised_vc",), {}),
    ("similar", ("similar_companies",), {}),
    ("lookalike", ("similar_companies",), {}),
    ("ads", ("ads",), {}),
    ("ecommerce", ("ecommerce_platform",), {}),
    ("Shopify", ("ecommerce_platform",), {}),
    ("store", ("ecommerce_platform",), {}),
)
CONTACT_FIELDS = frozenset(
    {"email", "email_status", "mobile_phone", "mobile_status", "verification", "contact_info", "work_email"}
)
OPTION_TYPES = {
    "include_work_history": "boolean",
    "include_pricing_intelligence": "boolean",
    "max_results": "integer",
    "job_title": "string",
}


def valid_fields(entity_type: str) -> list[str]:
    """Every field an assembly for ``entity_type`` could be asked for."""
    fan_outs = _fan_out_choices(AssemblyOptions())
    reachable = _reachable(entity_type, expand(frozenset(ENTITY_INPUT_FIELDS[entity_type])), fan_outs)
    return sorted(set().union(*reachable.values()))


def _rule_text(keyword: str, fields: tuple[str, ...], options: dict[str, Any]) -> str:
    settings = ", ".join(
        f"{key}={str(value).lower() if isinstance(value, bool) else value}" for key, value in options.items()
    )
    return f'- "{keyword}" -> {", ".join(fields)}' + (f"; {settings}" if settings else "")


def interpretation_prompt(request: str, entity_type: str) -> str:
    # One line for the request: a sentence spanning lines must not smuggle text into the instructions.
    sentence = " ".join(request.split())
    return "\n".join(
        [
            f"Turn a request for data into the fields a pipeline on {entity_type} entities must collect.",
            f"Valid fields: {', '.join(valid_fields(entity_type))}",
            "Options: " + ", ".join(f"{name} ({kind})" for name, kind in OPTION_TYPES.items()),
            "Rules (apply every rule whose keyword the request mentions, plurals included):",
            *(_rule_text(keyword, fields, options) for keyword, fields, options in KEYWORD_RULES),
            "Name only valid fields. A number of people asked for is max_results.",
            f"Request: {sentence}",
            'Answer with one JSON object: {"desired_fields": ["<valid field>", ...], '
            '"options": {"<option>": <value>}}.',
        ]
    )


def llm_order(settings: Settings) -> list[str]:
    known = llm_models(settings)
    chosen = [name.strip().lower() for name in settings.llm_provider_order.split(",")]
    return list(dict.fromkeys(name for name in chosen if name in known)) or list(known)


async def interpret(
    request: str, entity_type: str, providers: ProviderContext, settings: Settings
) -> LlmExtraction:
    """Wanted fields and options from a sentence: the first LLM (in ``LLM_PROVIDER_ORDER``) that answers
    with a JSON object wins; fields outside the registry's vocabulary are dropped and reported."""
    prompt = interpretation_prompt(request, entity_type)
    models = llm_models(settings)
    order = llm_order(settings)
    for provider in order:
        generate, model = models[provider]
        result = await generate(providers, model=model, prompt=prompt)
        if result.status != "found" or not isinstance(result.mapped, dict):
            continue
        answer = result.mapped
        named = answer.get("desired_fields")
        fields = (
            [f.strip() for f in named if isinstance(f, str) and f.strip()] if isinstance(named, list) else []
        )
        vocabulary = set(valid_fields(entity_type))
        options = answer.get("options")
        options = options if isinstance(options, dict) else {}
        options = {key: value for key, value in options.items() if key in OPTION_TYPES and value is not None}
        kept = [f for f in dict.fromkeys(fields) if f in vocabulary]
        if options.get("job_title") and not CONTACT_FIELDS.intersection(kept):
            kept.append("email")
        return LlmExtraction(
            desired_fields=kept,
            options=options,
            provider=provider,
            ignored_fields=[f for f in dict.fromkeys(fields) if f not in vocabulary],
            provider_attempts=[attempt.to_dict() for attempt in providers.attempts],
        )
    raise LanguageModelUnavailable(f"no language model could interpret the prompt (asked {', '.join(order)})")
