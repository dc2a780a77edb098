"""Who is calling: the contexts auth dependencies produce and repositories scope every query by.

Kept apart from ``dex.tenancy.auth`` (which re-exports these names) so repositories can import the contexts
without importing the FastAPI dependencies that themselves use the repositories.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dex.errors import BadRequest, Forbidden

if TYPE_CHECKING:
    from dex.providers.journal import Requester

AuthMethod = Literal["jwt", "api_token", "internal", "super_admin", "pipeline"]
COMPANY_SCOPED_ROLES = frozenset({"company_admin", "member"})


@dataclass(frozen=True)
class AuthContext:
    """A tenant caller. ``auth_method`` says which credential proved it: a session JWT, an API token, the
    internal service key, a super-admin acting inside one org (see ``tenant_scope``), or the executor running
    a pipeline step for the run's tenant."""

    org_id: uuid.UUID
    user_id: uuid.UUID | None
    company_id: uuid.UUID | None
    role: str
    auth_method: AuthMethod

    @property
    def company_scoped(self) -> bool:
        return self.role in COMPANY_SCOPED_ROLES

    @property
    def is_org_admin(self) -> bool:
        return self.role == "org_admin"

    def own_company_id(self) -> uuid.UUID | None:
        """The one company a company-scoped caller may see; None for org-wide callers."""
        if not self.company_scoped:
            return None
        if self.company_id is None:
            raise Forbidden("Company-scoped user missing company_id")
        return self.company_id

    def check_company_access(self, company_id: uuid.UUID | None) -> None:
        """403 when a company-scoped caller names a company other than its own."""
        own = self.own_company_id()
        if own is not None and company_id is not None and company_id != own:
            raise Forbidden("Forbidden company access")


@dataclass(frozen=True)
class SuperAdminContext:
    """A platform operator: not bound to any org, so every org it touches is named explicitly."""

    super_admin_id: uuid.UUID
    email: str


Caller = AuthContext | SuperAdminContext


def tenant_scope(
    auth: AuthContext | SuperAdminContext, *, org_id: uuid.UUID | None, company_id: uuid.UUID | None = None
) -> AuthContext:
    """The tenant context a request runs in.

    A super-admin becomes an org_admin of the org it names (400 without one). A tenant stays itself: naming
    another org is 403, and a company-scoped caller naming another company is 403.
    """
    if isinstance(auth, SuperAdminContext):
        if org_id is None:
            raise BadRequest("org_id is required for super-admin requests")
        return AuthContext(
            org_id=org_id, user_id=None, company_id=company_id, role="org_admin", auth_method="super_admin"
        )
    if org_id is not None and org_id != auth.org_id:
        raise Forbidden("Forbidden org access")
    auth.check_company_access(company_id)
    return auth


def requester_for(auth: AuthContext, **pipeline_links: uuid.UUID) -> Requester:
    """Who provider requests are made for, in the plain ids the provider layer records."""
    # Imported here: the journal brings the database stack, which `dex` commands importing the contexts
    # (every one of them, through `dex admin`) would otherwise load at start.
    from dex.providers.journal import Requester

    return Requester(
        role=auth.role,
        auth_method=auth.auth_method,
        company_id=auth.company_id,
        user_id=auth.user_id,
        **pipeline_links,
    )
