"""Every tenancy query. Repositories are built with the caller and filter by it: a tenant sees its org and,
when company-scoped, only its own company; a super-admin is platform-wide. Unscoped are only
``CredentialRepository``, which resolves credentials before any caller exists, and
``SuperAdminRepository``, whose accounts belong to no tenant."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, case, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from dex.db.queries import conflict_for
from dex.errors import Forbidden
from dex.kit.envelopes import PageRequest
from dex.kit.paging import Page, paginate
from dex.tenancy.context import Caller, SuperAdminContext
from dex.tenancy.models import ApiToken, Company, LegacyStep, LoginFailure, Org, SuperAdmin, User

RowT = TypeVar("RowT", Org, Company, User, ApiToken, LegacyStep)

# How stale `api_tokens.last_used_at` may get: one write per token per minute, not one per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

UNIQUE_VIOLATIONS = {
    "uq_orgs_slug": "An org with this slug already exists",
    "uq_companies_org_id_name": "A company with this name already exists in the org",
    "uq_companies_org_id_external_ref": "A company with this external_ref already exists in the org",
    "uq_users_email": "A user with this email already exists",
    "uq_super_admins_email": "A super admin with this email already exists",
    "uq_steps_slug": "A step with this slug already exists",
}


async def _write_returning(session: AsyncSession, statement: Any) -> Any:
    """Run an INSERT/UPDATE … RETURNING of one mapped row; a known unique violation becomes a 409."""
    try:
        result = await session.scalars(statement.execution_options(populate_existing=True))
    except IntegrityError as exc:
        conflict = conflict_for(exc, UNIQUE_VIOLATIONS)
        if conflict is None:
            raise
        raise conflict from exc
    return result.one_or_none()


async def _page(
    session: AsyncSession, statement: Select[RowT], page: PageRequest, model: type[RowT]
) -> Page[RowT]:
    """One page, newest first (ties broken by id so pages never overlap), and the size of the whole set."""
    return await paginate(session, statement, page, model.created_at.desc(), model.id)


class ScopedRepository:
    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def _tenant_clauses(
        self,
        org_column: InstrumentedAttribute[uuid.UUID],
        company_column: InstrumentedAttribute[uuid.UUID] | InstrumentedAttribute[uuid.UUID | None] | None,
    ) -> list[ColumnElement[bool]]:
        if isinstance(self.caller, SuperAdminContext):
            return []
        clauses = [org_column == self.caller.org_id]
        own_company = self.caller.own_company_id()
        if own_company is not None and company_column is not None:
            clauses.append(company_column == own_company)
        return clauses

    def _require_super_admin(self) -> None:
        """Platform-level writes; the routes already demand super-admin credentials, this keeps it so."""
        if not isinstance(self.caller, SuperAdminContext):
            raise Forbidden("Super admin required")


def _filters(*column_values: tuple[InstrumentedAttribute[Any], Any]) -> list[ColumnElement[bool]]:
    """Equality filters for the optional request filters that were given."""
    return [column == value for column, value in column_values if value is not None]


class OrgRepository(ScopedRepository):
    def _visible(self) -> Select[Org]:
        return select(Org).where(*self._tenant_clauses(Org.id, None))

    async def get(self, org_id: uuid.UUID) -> Org | None:
        return await self.session.scalar(self._visible().where(Org.id == org_id))

    async def get_by_slug(self, slug: str) -> Org | None:
        return await self.session.scalar(self._visible().where(Org.slug == slug))

    async def list(self, page: PageRequest) -> Page[Org]:
        return await _page(self.session, self._visible(), page, Org)

    async def create(self, *, name: str, slug: str) -> Org:
        self._require_super_admin()
        return await _write_returning(self.session, insert(Org).values(name=name, slug=slug).returning(Org))

    async def update(self, org_id: uuid.UUID, values: dict[str, Any]) -> Org | None:
        self._require_super_admin()
        return await _write_returning(
            self.session, update(Org).where(Org.id == org_id).values(**values).returning(Org)
        )


class CompanyRepository(ScopedRepository):
    def _visible(self) -> Select[Company]:
        return select(Company).where(*self._tenant_clauses(Company.org_id, Company.id))

    async def get(self, company_id: uuid.UUID) -> Company | None:
        return await self.session.scalar(self._visible().where(Company.id == company_id))

    async def get_by_name(self, org_id: uuid.UUID, name: str) -> Company | None:
        return await self.session.scalar(
            self._visible().where(Company.org_id == org_id, Company.name == name)
        )

    async def list(self, page: PageRequest, *, org_id: uuid.UUID | None = None) -> Page[Company]:
        return await _page(
            self.session, self._visible().where(*_filters((Company.org_id, org_id))), page, Company
        )

    async def create(self, values: dict[str, Any]) -> Company:
        self._require_super_admin()
        return await _write_returning(self.session, insert(Company).values(**values).returning(Company))


class UserRepository(ScopedRepository):
    def _visible(self) -> Select[User]:
        return select(User).where(*self._tenant_clauses(User.org_id, User.company_id))

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.scalar(self._visible().where(User.id == user_id))

    async def get_by_email(self, email: str) -> User | None:
        return await self.session.scalar(self._visible().where(User.email == email))

    async def list(
        self, page: PageRequest, *, org_id: uuid.UUID | None = None, company_id: uuid.UUID | None = None
    ) -> Page[User]:
        filters = _filters((User.org_id, org_id), (User.company_id, company_id))
        return await _page(self.session, self._visible().where(*filters), page, User)

    async def create(self, values: dict[str, Any]) -> User:
        self._require_super_admin()
        return await _write_returning(self.session, insert(User).values(**values).returning(User))

    async def deactivate(self, user_id: uuid.UUID) -> User | None:
        """Deactivate and bump the token generation, which voids every session JWT issued so far."""
        return await self._update_ending_sessions(user_id, is_active=False)

    async def set_password(self, user_id: uuid.UUID, password_hash: str) -> User | None:
        """A new password; the token generation moves on, so sessions signed in with the old one end."""
        return await self._update_ending_sessions(user_id, password_hash=password_hash)

    async def _update_ending_sessions(self, user_id: uuid.UUID, **values: object) -> User | None:
        """``values`` written with the next token generation: every session JWT issued so far stops
        working."""
        self._require_super_admin()
        statement = (
            update(User)
            .where(User.id == user_id)
            .values(**values, token_generation=User.token_generation + 1)
            .returning(User)
        )
        return await _write_returning(self.session, statement)


class ApiTokenRepository(ScopedRepository):
    def _visible(self) -> Select[ApiToken]:
        return select(ApiToken).where(*self._tenant_clauses(ApiToken.org_id, ApiToken.company_id))

    async def list(
        self, page: PageRequest, *, org_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> Page[ApiToken]:
        filters = _filters((ApiToken.org_id, org_id), (ApiToken.user_id, user_id))
        return await _page(self.session, self._visible().where(*filters), page, ApiToken)

    async def create(self, values: dict[str, Any]) -> ApiToken:
        self._require_super_admin()
        return await _write_returning(self.session, insert(ApiToken).values(**values).returning(ApiToken))

    async def revoke(self, token_id: uuid.UUID) -> ApiToken | None:
        """Idempotent: revoking twice keeps the first revocation time."""
        self._require_super_admin()
        statement = (
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .values(revoked_at=func.coalesce(ApiToken.revoked_at, func.now()))
            .returning(ApiToken)
        )
        return await _write_returning(self.session, statement)


class StepRepository(ScopedRepository):
    """The legacy step registry is global; tenants only ever see active steps."""

    def _visible(self) -> Select[LegacyStep]:
        statement = select(LegacyStep)
        if not isinstance(self.caller, SuperAdminContext):
            statement = statement.where(LegacyStep.is_active.is_(True))
        return statement

    async def get(self, *, step_id: uuid.UUID | None = None, slug: str | None = None) -> LegacyStep | None:
        filters = _filters((LegacyStep.id, step_id), (LegacyStep.slug, slug))
        return await self.session.scalar(self._visible().where(*filters))

    async def list(
        self, page: PageRequest, *, step_type: str | None = None, is_active: bool | None = None
    ) -> Page[LegacyStep]:
        filters = _filters((LegacyStep.step_type, step_type), (LegacyStep.is_active, is_active))
        return await _page(self.session, self._visible().where(*filters), page, LegacyStep)

    async def create(self, values: dict[str, Any]) -> LegacyStep:
        self._require_super_admin()
        return await _write_returning(self.session, insert(LegacyStep).values(**values).returning(LegacyStep))

    async def update(self, step_id: uuid.UUID, values: dict[str, Any]) -> LegacyStep | None:
        self._require_super_admin()
        return await _write_returning(
            self.session,
            update(LegacyStep).where(LegacyStep.id == step_id).values(**values).returning(LegacyStep),
        )


class SuperAdminRepository:
    """Super-admin accounts; only the CLI bootstrap creates them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, *, email: str, password_hash: str) -> SuperAdmin:
        return await _write_returning(
            self.session,
            insert(SuperAdmin).values(email=email, password_hash=password_hash).returning(SuperAdmin),
        )


class CredentialRepository:
    """Lookups that turn a presented credential into a caller. Each is one indexed query."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email))

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return await self.session.scalar(select(User).where(User.id == user_id))

    async def super_admin_by_email(self, email: str) -> SuperAdmin | None:
        return await self.session.scalar(select(SuperAdmin).where(SuperAdmin.email == email))

    async def super_admin_by_id(self, super_admin_id: uuid.UUID) -> SuperAdmin | None:
        return await self.session.scalar(select(SuperAdmin).where(SuperAdmin.id == super_admin_id))

    async def api_token_by_hash(self, token_hash: str) -> tuple[ApiToken, bool | None] | None:
        """The token and whether its owner is active (None for a token without an owner)."""
        row = (
            await self.session.execute(
                select(ApiToken, User.is_active)
                .outerjoin(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == token_hash)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def touch_api_token(self, token_id: uuid.UUID) -> None:
        """Record use, at most once per ``LAST_USED_RESOLUTION``. SKIP LOCKED: a request never waits on
        another request that is recording the same token's use."""
        stale = (
            select(ApiToken.id)
            .where(
                ApiToken.id == token_id,
                ApiToken.last_used_at.is_(None) | (ApiToken.last_used_at < func.now() - LAST_USED_RESOLUTION),
            )
            .with_for_update(skip_locked=True)
        )
        await self.session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_(stale.scalar_subquery()))
            .values(last_used_at=func.now())
            .execution_options(synchronize_session=False)
        )

    async def org_exists(self, org_id: uuid.UUID) -> bool:
        return await self.session.scalar(select(select(Org.id).where(Org.id == org_id).exists())) or False

    async def company_in_org(self, company_id: uuid.UUID, org_id: uuid.UUID) -> bool:
        statement = select(Company.id).where(Company.id == company_id, Company.org_id == org_id)
        return await self.session.scalar(select(statement.exists())) or False


class LoginFailureRepository:
    """Failed-login counts by account and by client address (``(subject, key)`` pairs). Unscoped: they
    are counted before anyone is authenticated."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def locked_until(self, subjects: list[tuple[str, str]]) -> datetime | None:
        """The latest end of a lockout still running for any of ``subjects``."""
        return await self.session.scalar(
            select(func.max(LoginFailure.locked_until)).where(
                tuple_(LoginFailure.subject, LoginFailure.key).in_(subjects),
                LoginFailure.locked_until > func.now(),
            )
        )

    async def add_failure(self, subject: str, key: str, *, window: timedelta) -> int:
        """Count one more failure and return the count. Counts start over once ``window`` has passed since
        the last failure and the end of the last lockout. One statement, so concurrent failures add up."""
        row = LoginFailure.__table__.c
        first = pg_insert(LoginFailure).values(
            subject=subject, key=key, failures=1, last_failed_at=func.now()
        )
        quiet_since = func.greatest(row.last_failed_at, func.coalesce(row.locked_until, row.last_failed_at))
        statement = first.on_conflict_do_update(
            index_elements=[row.subject, row.key],
            set_={
                "failures": case((quiet_since < func.now() - window, 1), else_=row.failures + 1),
                "last_failed_at": func.now(),
            },
        ).returning(row.failures)
        return (await self.session.execute(statement)).scalar_one()

    async def lock(self, subject: str, key: str, *, seconds: float) -> datetime:
        """Lock ``subject`` out for ``seconds`` from now; returns when the lockout ends."""
        statement = (
            update(LoginFailure)
            .where(LoginFailure.subject == subject, LoginFailure.key == key)
            .values(locked_until=func.now() + timedelta(seconds=seconds))
            .returning(LoginFailure.locked_until)
        )
        # The column is nullable, but this statement has just set it.
        return cast(datetime, (await self.session.execute(statement)).scalar_one())

    async def prune(self, *, window: timedelta, limit: int) -> None:
        """Delete up to ``limit`` counts that have run out (quiet for ``window``, no lockout running), so a
        spray of logins with ever new emails or addresses cannot grow the table without bound."""
        stale = (
            select(LoginFailure.subject, LoginFailure.key)
            .where(
                LoginFailure.last_failed_at < func.now() - window,
                LoginFailure.locked_until.is_(None) | (LoginFailure.locked_until < func.now() - window),
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        await self.session.execute(
            delete(LoginFailure).where(tuple_(LoginFailure.subject, LoginFailure.key).in_(stale))
        )

    async def clear(self, subject: str, key: str) -> None:
        await self.session.execute(
            delete(LoginFailure).where(LoginFailure.subject == subject, LoginFailure.key == key)
        )
