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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.tenancy.world import Target

Policy = Literal["public", "tenant", "super_admin", "flexible", "internal"]

_SUPER_ADMIN_CRUD = {
    f"/api/super-admin/{resource}/{action}": "super_admin"
    for resource, actions in {
        "orgs": ("create", "list", "get", "update"),
        "companies": ("create", "list", "get"),
        "users": ("create", "list", "get", "deactivate"),
        "api-tokens": ("create", "list", "revoke"),
        "steps": ("register", "list", "get", "update", "deactivate"),
    }.items()
    for action in actions
}

ROUTE_POLICIES: dict[str, Policy] = {
    "/api/auth/login": "public",
    "/api/super-admin/login": "public",
    "/api/auth/me": "tenant",
    "/api/super-admin/me": "super_admin",
    **_SUPER_ADMIN_CRUD,
    "/api/companies/list": "tenant",
    "/api/companies/get": "tenant",
    "/api/users/list": "tenant",
    "/api/users/get": "tenant",
    "/api/steps/list": "tenant",
    "/api/steps/get": "tenant",
    "/api/v1/execute": "flexible",
    "/api/v1/registry/operations": "flexible",
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
    - "global": no tenant data behind it; every caller gets 200 and the same answer as org B's caller.
    """

    path: str
    body: Callable[[Target], dict[str, Any]] = field(default=lambda target: {})
    kind: Literal["by_id", "list", "global"] = "by_id"
    sibling_allowed_roles: frozenset[str] = frozenset({"org_admin"})
    allowed_status: int = 200


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
]
