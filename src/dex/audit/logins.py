"""Logins as every face performs them (the API's two login routes, the console's form): under the login
throttle, and recorded in the audit trail whether they succeed or fail."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from dex.audit.service import Actor, record_event
from dex.config import Settings
from dex.db.engine import Database
from dex.errors import Unauthorized
from dex.tenancy.repository import CredentialRepository
from dex.tenancy.service import LoginResult
from dex.tenancy.throttle import LoginKind, LoginThrottle


async def throttled_login(
    kind: LoginKind,
    authenticate: Callable[[], Awaitable[LoginResult]],
    *,
    email: str,
    session: AsyncSession,
    database: Database,
    settings: Settings,
    address: str | None,
) -> LoginResult:
    """Run ``authenticate`` unless the account or the address is locked out (429). A failure is counted
    and audited in a transaction of its own, since the request's rolls back with the 401 it answers; a
    success clears the account's count and is audited with the request's."""
    throttle = LoginThrottle(settings, kind)
    await throttle.check(session, email, address)
    try:
        result = await authenticate()
    except Unauthorized as refused:
        async with database.transaction() as failure_session:
            lockout = await throttle.record_failure(failure_session, email, address)
            await record_event(
                failure_session,
                Actor("anonymous", actor_email=email),
                "login.failed",
                org_id=await _account_org(failure_session, kind, email),
                client_address=address,
                details={"login": kind, "locked_out": lockout is not None},
            )
        raise (lockout or refused) from None
    await throttle.record_success(session, email)
    await record_event(
        session,
        Actor("super_admin" if kind == "super_admin" else "user", result.account_id, email),
        "login.succeeded",
        org_id=result.org_id,
        client_address=address,
        details={"login": kind},
    )
    return result


async def _account_org(session: AsyncSession, kind: LoginKind, email: str) -> uuid.UUID | None:
    """The org of the account a failed tenant login named, if it exists (for the org admins' trail)."""
    if kind == "super_admin":
        return None
    user = await CredentialRepository(session).user_by_email(email)
    return user.org_id if user is not None else None
