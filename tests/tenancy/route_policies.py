"""Who may call each route, and how tenant isolation is tested on it.

Adding an endpoint? Classify its path in ``ROUTE_POLICIES``; if tenants can call it ("tenant" or
"flexible"), add an ``IsolationCase`` too. ``test_route_coverage`` fails until both are done.

Policies:
- "public": no credentials (logins);
- "tenant": tenant credentials (session JWT, API token, internal key with org headers);
- "super_admin": super-admin key or JWT only;
- "flexible": super-admin first, then tenant (reference §3.3);
- "internal": the internal service key only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.tenancy.world import ROLES, Target

Policy = Literal["public", "tenant", "super_admin", "flexible", "internal"]

_SUPER_ADMIN_CRUD = {
    f"/api/super-admin/{resource}/{action}": "super_admin"
    for resource, actions in {
        "orgs": ("create", "list", "get", "update"),
        "companies": ("create", "list", "get"),
        "users": ("create", "list", "get", "deactivate"),
        "api-tokens": ("create", "list", "revoke"),
        "steps": ("register", "list", "get", "update", "deactivate"),
        "blueprints": ("create", "list", "get", "update"),
        "submissions": ("create", "list", "get"),
        "pipeline-runs": ("list", "get", "retry"),
        "step-results": ("list",),
    }.items()
    for action in actions
}

ROUTE_POLICIES: dict[str, Policy] = {
    "/api/auth/login": "public",
    "/api/super-admin/login": "public",
    "/api/auth/me": "tenant",
    "/api/super-admin/me": "super_admin",
    "/api/super-admin/providers/check": "super_admin",
    **_SUPER_ADMIN_CRUD,
    "/api/companies/list": "tenant",
    "/api/companies/get": "tenant",
    "/api/users/list": "tenant",
    "/api/users/get": "tenant",
    "/api/steps/list": "tenant",
    "/api/steps/get": "tenant",
    "/api/blueprints/create": "tenant",
    "/api/blueprints/list": "tenant",
    "/api/blueprints/get": "tenant",
    "/api/blueprints/update": "tenant",
    "/api/submissions/create": "tenant",
    "/api/submissions/list": "tenant",
    "/api/submissions/get": "tenant",
    "/api/pipeline-runs/list": "tenant",
    "/api/pipeline-runs/get": "tenant",
    "/api/step-results/list": "tenant",
    "/api/v1/execute": "flexible",
    "/api/v1/registry/operations": "flexible",
    "/api/v1/batch/submit": "flexible",
    "/api/v1/batch/estimate": "flexible",
    "/api/v1/batch/status": "flexible",
    "/api/v1/batch/cancel": "flexible",
    "/api/v1/batch/resume": "flexible",
    "/api/v1/batch/events": "flexible",
    "/api/v1/batch/submit-csv": "flexible",
    "/api/v1/batch/rejections": "flexible",
    "/api/v1/usage": "flexible",
    "/api/v1/budgets/get": "flexible",
    "/api/v1/budgets/set": "flexible",
    **{
        f"/api/v1/webhooks/{action}": "flexible"
        for action in ("create", "list", "delete", "deliveries", "redeliver")
    },
    "/metrics": "super_admin",
    **{
        f"/api/v1/entities/{action}": "flexible"
        for action in ("companies", "persons", "timeline", "snapshots", "changes", "export")
    },
    "/api/v1/blueprints/assemble": "flexible",
    "/api/v1/audit/list": "flexible",
    "/api/v1/coverage/check": "flexible",
    **{
        f"/api/internal/{path}": "internal"
        for path in (
            "pipeline-runs/get",
            "pipeline-runs/update-status",
            "pipeline-runs/fan-out",
            "step-results/update",
            "step-results/mark-remaining-skipped",
            "submissions/update-status",
            "submissions/sync-status",
            "entity-state/upsert",
            "entity-state/check-freshness",
            "entity-timeline/record-step-event",
        )
    },
}


@dataclass(frozen=True)
class IsolationCase:
    """One request a caller of org A / company A1 sends, aimed at a ``Target``.

    kind:
    - "by_id": the body names the target's resources. Denied (403/404, error envelope only) for every
      caller and target, except the sibling company for ``sibling_allowed_roles``, which gets
      ``allowed_status`` (the org-wide view; a body may make it fail harmlessly later, e.g. with a 400).
    - "list": the response may be 200 or 403 but never mentions a target id — except, again, the sibling
      company for ``sibling_allowed_roles``, whose ids must appear (proof the check can see them).
      With ``visible_ids``, those ids must appear instead, and the other leak ids still must not (an
      org-wide resource shown to company-scoped callers, e.g. blueprints).
    - "global": no tenant data behind it; every caller gets 200 and the same answer as org B's caller.
    - "own_scope": a write that acts only in the caller's own org/company, whatever the body names. Any
      2xx or 4xx is acceptable (4xx as an error envelope), but the response never mentions a target id.

    ``label`` tells apart several cases of one path in test ids.
    """

    path: str
    body: Callable[[Target], dict[str, Any]] = field(default=lambda target: {})
    kind: Literal["by_id", "list", "global", "own_scope"] = "by_id"
    sibling_allowed_roles: frozenset[str] = frozenset({"org_admin"})
    allowed_status: int = 200
    visible_ids: Callable[[Target], tuple[uuid.UUID, ...]] | None = None
    label: str = ""


EVERY_ROLE = frozenset(ROLES)
NO_ROLE: frozenset[str] = frozenset()


def _blueprint_probe(target: Target) -> dict[str, Any]:
    # org_id/company_id are not fields of the create body: a blueprint always lands in the caller's org.
    return {
        "name": f"probe {uuid.uuid4()}",
        "entity_type": "person",
        "steps": [{"position": 1, "operation_id": "person.contact.verify_email"}],
        "org_id": str(target.org_id),
        "company_id": str(target.company_id),
    }


def _batch_submit(target: Target, **extra: Any) -> dict[str, Any]:
    # Access is decided first (company, then blueprint); an allowed call queues the entity.
    return {
        "blueprint_id": str(target.blueprint_id),
        "company_id": str(target.company_id),
        "entities": [{"entity_type": "company", "input": {"domain": "acme.io"}}],
        **extra,
    }


def _entity_cases() -> list[IsolationCase]:
    def company(target: Target) -> dict[str, Any]:
        return {"entity_type": "company", "entity_id": str(target.company_entity_id)}

    def person(target: Target) -> dict[str, Any]:
        return {"entity_type": "person", "entity_id": str(target.person_entity_id)}

    cases = []
    for path in ("/api/v1/entities/companies", "/api/v1/entities/persons"):
        cases += [
            IsolationCase(path, kind="list"),
            IsolationCase(
                path,
                lambda target: {"company_id": str(target.company_id)},
                kind="list",
                label="company filter",
            ),
            IsolationCase(
                path, lambda target: {"org_id": str(target.org_id)}, kind="list", label="with org_id"
            ),
        ]
    for path in ("/api/v1/entities/timeline", "/api/v1/entities/snapshots"):
        cases += [
            IsolationCase(path, company, kind="list"),
            IsolationCase(
                path,
                lambda target: {**company(target), "org_id": str(target.org_id)},
                kind="list",
                label="with org_id",
            ),
        ]
    return [
        *cases,
        IsolationCase("/api/v1/entities/changes", company),
        IsolationCase("/api/v1/entities/changes", person, label="person"),
        IsolationCase(
            "/api/v1/entities/changes",
            lambda target: {**company(target), "org_id": str(target.org_id)},
            label="with org_id",
        ),
        # The export is a CSV stream, not JSON: a leak would show as an id in it all the same.
        IsolationCase("/api/v1/entities/export", lambda target: {"entity_type": "company"}, kind="list"),
        IsolationCase(
            "/api/v1/entities/export",
            lambda target: {"entity_type": "person", "format": "jsonl", "org_id": str(target.org_id)},
            kind="list",
            label="with org_id",
        ),
    ]


def _csv_submit(target: Target, **extra: Any) -> dict[str, Any]:
    # A CSV as JSON text: access is decided first (company, then blueprint); an allowed call submits it.
    return {
        "blueprint_id": str(target.blueprint_id),
        "company_id": str(target.company_id),
        "csv": "email\nx@y.io\n",
        **extra,
    }


def _operator_cases() -> list[IsolationCase]:
    """Live progress, CSV ingestion, the cost ledger, budgets and webhooks."""
    submission = lambda target: {"submission_id": str(target.submission_id)}  # noqa: E731
    return [
        # Also a GET (for EventSource); max_seconds 0 answers with the snapshot and closes.
        IsolationCase("/api/v1/batch/events", lambda target: {**submission(target), "max_seconds": 0}),
        IsolationCase("/api/v1/batch/submit-csv", _csv_submit),
        IsolationCase(
            "/api/v1/batch/submit-csv",
            lambda target: _csv_submit(target, org_id=str(target.org_id)),
            label="with org_id",
        ),
        IsolationCase("/api/v1/batch/rejections", submission),
        # Nothing was spent in the world, so org-wide views of the ledger show no sibling ids either.
        IsolationCase("/api/v1/usage", kind="list", sibling_allowed_roles=NO_ROLE),
        IsolationCase(
            "/api/v1/usage",
            lambda target: {"company_id": str(target.company_id), "group_by": ["company", "submission"]},
            kind="list",
            sibling_allowed_roles=NO_ROLE,
            label="company filter",
        ),
        IsolationCase("/api/v1/usage", submission, label="submission"),
        # Budgets and webhooks are org settings: org_admin only, always in the caller's own org.
        IsolationCase("/api/v1/budgets/get", submission),
        IsolationCase(
            "/api/v1/budgets/get",
            lambda target: {"org_id": str(target.org_id)},
            kind="own_scope",
            label="org",
        ),
        IsolationCase("/api/v1/budgets/set", lambda target: {**submission(target), "budget_credits": 100}),
        IsolationCase(
            "/api/v1/budgets/set",
            lambda target: {"org_id": str(target.org_id), "budget_credits": 100},
            kind="own_scope",
            label="org",
        ),
        # A public address literal, so no DNS lookup.
        IsolationCase(
            "/api/v1/webhooks/create",
            lambda target: {
                "url": "https://93.184.216.34/hook",
                "events": ["run.failed"],
                "org_id": str(target.org_id),
            },
            kind="own_scope",
        ),
        IsolationCase("/api/v1/webhooks/list", kind="list", sibling_allowed_roles=NO_ROLE),
        IsolationCase("/api/v1/webhooks/deliveries", kind="list", sibling_allowed_roles=NO_ROLE),
        # The world has no endpoints or deliveries: whatever these name, they act in the caller's org.
        IsolationCase(
            "/api/v1/webhooks/delete",
            lambda target: {"id": str(target.submission_id), "org_id": str(target.org_id)},
            kind="own_scope",
        ),
        IsolationCase(
            "/api/v1/webhooks/redeliver",
            lambda target: {"delivery_id": str(target.submission_id), "org_id": str(target.org_id)},
            kind="own_scope",
        ),
        # The audit trail: org admins read their own org's; naming another org is refused.
        IsolationCase("/api/v1/audit/list", kind="list", sibling_allowed_roles=NO_ROLE),
        IsolationCase(
            "/api/v1/audit/list",
            lambda target: {"org_id": str(target.org_id)},
            sibling_allowed_roles=frozenset({"org_admin"}),
            label="with org_id",
        ),
    ]


ISOLATION_CASES: list[IsolationCase] = [
    IsolationCase("/api/auth/me", kind="list", sibling_allowed_roles=frozenset()),
    IsolationCase("/api/companies/list", kind="list"),
    IsolationCase("/api/companies/get", lambda target: {"id": str(target.company_id)}),
    IsolationCase("/api/users/list", kind="list"),
    IsolationCase("/api/users/get", lambda target: {"id": str(target.user_id)}),
    IsolationCase("/api/steps/list", kind="global"),
    IsolationCase("/api/steps/get", lambda target: {"slug": "active-step"}, kind="global"),
    IsolationCase(
        "/api/v1/execute",
        # An unknown operation: access is decided first, and an allowed call stops at 400 before any spend.
        lambda target: {
            "operation_id": "no.such.operation",
            "entity_type": "person",
            "org_id": str(target.org_id),
            "company_id": str(target.company_id),
        },
        allowed_status=400,
    ),
    IsolationCase("/api/v1/registry/operations", kind="global"),
    # Blueprints are org-wide: every role reads them, only org_admin changes them.
    IsolationCase("/api/blueprints/create", _blueprint_probe, kind="own_scope"),
    IsolationCase(
        "/api/blueprints/list",
        kind="list",
        sibling_allowed_roles=EVERY_ROLE,
        visible_ids=lambda target: (target.blueprint_id,),
    ),
    IsolationCase(
        "/api/blueprints/get",
        lambda target: {"id": str(target.blueprint_id)},
        sibling_allowed_roles=EVERY_ROLE,
    ),
    # No changes: an allowed org_admin stops at 400 "No fields provided for update".
    IsolationCase(
        "/api/blueprints/update", lambda target: {"id": str(target.blueprint_id)}, allowed_status=400
    ),
    # Batches (flexible auth; tenant callers here).
    IsolationCase("/api/v1/batch/submit", _batch_submit),
    IsolationCase(
        "/api/v1/batch/submit",
        lambda target: _batch_submit(target, org_id=str(target.org_id)),
        label="with org_id",
    ),
    IsolationCase("/api/v1/batch/estimate", _batch_submit),
    IsolationCase(
        "/api/v1/batch/estimate",
        lambda target: _batch_submit(target, org_id=str(target.org_id)),
        label="with org_id",
    ),
    IsolationCase(
        "/api/submissions/create",
        lambda target: {
            "blueprint_id": str(target.blueprint_id),
            "company_id": str(target.company_id),
            "input_payload": {"domain": "acme.io"},
        },
    ),
    IsolationCase("/api/v1/batch/status", lambda target: {"submission_id": str(target.submission_id)}),
    IsolationCase(
        "/api/v1/batch/status",
        lambda target: {"submission_id": str(target.submission_id), "org_id": str(target.org_id)},
        label="with org_id",
    ),
    # Nothing executes in the world: an allowed cancel skips the queued step, and repeats answer 200 too.
    IsolationCase("/api/v1/batch/cancel", lambda target: {"submission_id": str(target.submission_id)}),
    # No failed runs: resuming a submission answers 200 with nothing resumed, a queued run 400.
    IsolationCase("/api/v1/batch/resume", lambda target: {"submission_id": str(target.submission_id)}),
    IsolationCase(
        "/api/v1/batch/resume",
        lambda target: {"pipeline_run_id": str(target.pipeline_run_id)},
        allowed_status=400,
        label="run",
    ),
    # Tenant reads of submissions, runs and step results: company-scoped roles see their own company only.
    IsolationCase("/api/submissions/list", kind="list"),
    IsolationCase(
        "/api/submissions/list",
        lambda target: {"company_id": str(target.company_id)},
        kind="list",
        label="company filter",
    ),
    IsolationCase("/api/submissions/get", lambda target: {"id": str(target.submission_id)}),
    IsolationCase("/api/pipeline-runs/list", kind="list"),
    IsolationCase(
        "/api/pipeline-runs/list",
        lambda target: {"submission_id": str(target.submission_id)},
        kind="list",
        label="submission filter",
    ),
    IsolationCase("/api/pipeline-runs/get", lambda target: {"id": str(target.pipeline_run_id)}),
    IsolationCase("/api/step-results/list", lambda target: {"pipeline_run_id": str(target.pipeline_run_id)}),
    # Entities: company-scoped roles see their own company's entities (and their snapshots and events) only.
    *_entity_cases(),
    *_operator_cases(),
    # The assembler reads only the registry: the same answer for everyone.
    IsolationCase(
        "/api/v1/blueprints/assemble", lambda target: {"desired_fields": ["company_name"]}, kind="global"
    ),
    # Coverage answers from the caller's own org (and company) whatever domain it names; naming another org
    # is refused.
    IsolationCase("/api/v1/coverage/check", lambda target: {"domain": "acme.io"}, kind="own_scope"),
    IsolationCase(
        "/api/v1/coverage/check",
        lambda target: {"domain": "acme.io", "org_id": str(target.org_id)},
        kind="own_scope",
        label="with org_id",
    ),
]
