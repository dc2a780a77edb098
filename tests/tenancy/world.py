"""A populated multi-tenant world for isolation tests: orgs A and B, each with two companies, a user of
every role, and a session JWT and an API token for each user.

Callers come from org A, company A1. They aim at two kinds of ``Target``:
- ``other_org``: org B's resources (company B1 and its company_admin, a blueprint of org B, and a batch
  submitted for B1) — never reachable;
- ``sibling_company``: org A's other company A2 and its member, and a batch submitted for A2 — reachable
  org-wide only. Its blueprint belongs to org A, and blueprints are org-wide: every caller of org A may
  read it, so it is not among the sibling's ``leak_ids``.

To cover a new kind of resource, create one per target in ``build_world`` and add its id to ``Target``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dex.blueprints import service as blueprints
from dex.blueprints.schemas import BlueprintCreate
from dex.config import Settings
from dex.db.engine import Database
from dex.entities import timeline
from dex.entities.repository import EntityRepository, Lineage
from dex.pipeline import service as pipeline
from dex.pipeline.models import StepResult
from dex.pipeline.progress import PlanCache
from dex.pipeline.schemas import BatchSubmitRequest
from dex.tenancy import service
from dex.tenancy.auth import API_KEY_SUPER_ADMIN
from dex.tenancy.context import AuthContext
from dex.tenancy.models import Company, LegacyStep, Org, User
from dex.tenancy.tokens import issue_session_jwt

ROLES = ("org_admin", "company_admin", "member")


@dataclass(frozen=True)
class Principal:
    """One tenant user and both of its bearer credentials."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    company_id: uuid.UUID | None
    role: str
    jwt: str
    api_token: str
    api_token_id: uuid.UUID


@dataclass(frozen=True)
class Target:
    """Resources a caller from org A / company A1 aims at. ``leak_ids`` must never appear in a response
    that denies access."""

    name: str
    org_id: uuid.UUID
    company_id: uuid.UUID
    user_id: uuid.UUID
    api_token_id: uuid.UUID
    blueprint_id: uuid.UUID
    submission_id: uuid.UUID
    pipeline_run_id: uuid.UUID
    step_result_id: uuid.UUID
    # Entity ids are not leak ids: entity endpoints echo the id they were asked about. Their rows carry
    # the victim's company and run ids, which are.
    company_entity_id: uuid.UUID
    person_entity_id: uuid.UUID
    leak_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class Caller:
    label: str
    role: str
    headers: dict[str, str]


@dataclass
class Tenant:
    org_id: uuid.UUID
    companies: tuple[uuid.UUID, uuid.UUID]
    principals: dict[str, Principal] = field(default_factory=dict)
    # A member of the second company: what a sibling-company attack aims at.
    sibling_member: Principal | None = None


@dataclass
class World:
    a: Tenant
    b: Tenant
    targets: dict[str, Target]
    callers: list[Caller]
    internal_api_key: str

    def bearer(self, principal: Principal, method: str = "jwt") -> dict[str, str]:
        token = principal.jwt if method == "jwt" else principal.api_token
        return {"authorization": f"Bearer {token}"}


async def _add_principal(
    session, settings: Settings, *, org_id: uuid.UUID, company_id: uuid.UUID | None, role: str, email: str
) -> Principal:
    user = await session.scalar(
        insert(User)
        .values(org_id=org_id, company_id=company_id, role=role, email=email, full_name=role)
        .returning(User)
    )
    created = await service.create_api_token(
        session, API_KEY_SUPER_ADMIN, user_id=user.id, name=f"{role} token"
    )
    jwt = issue_session_jwt(
        secret=settings.jwt_secret,
        ttl_hours=1,
        user_id=user.id,
        org_id=org_id,
        company_id=company_id,
        role=role,
        generation=user.token_generation,
    )
    return Principal(user.id, org_id, company_id, role, jwt, created.token, created.row.id)


async def _add_tenant(session, settings: Settings, label: str) -> Tenant:
    org = await session.scalar(insert(Org).values(name=f"Org {label}", slug=f"org-{label}").returning(Org))
    companies = [
        await session.scalar(insert(Company).values(org_id=org.id, name=f"{label}{n}").returning(Company))
        for n in (1, 2)
    ]
    tenant = Tenant(org.id, (companies[0].id, companies[1].id))
    for role in ROLES:
        company_id = None if role == "org_admin" else companies[0].id
        tenant.principals[role] = await _add_principal(
            session, settings, org_id=org.id, company_id=company_id, role=role, email=f"{role}@{label}.test"
        )
    tenant.sibling_member = await _add_principal(
        session, settings, org_id=org.id, company_id=companies[1].id, role="member", email=f"m2@{label}.test"
    )
    return tenant


@dataclass(frozen=True)
class _Batch:
    blueprint_id: uuid.UUID
    submission_id: uuid.UUID
    pipeline_run_id: uuid.UUID
    step_result_id: uuid.UUID


def _context(principal: Principal) -> AuthContext:
    return AuthContext(
        org_id=principal.org_id,
        user_id=principal.user_id,
        company_id=principal.company_id,
        role=principal.role,
        auth_method="jwt",
    )


async def _add_batch(session: AsyncSession, tenant: Tenant, victim: Principal, name: str) -> _Batch:
    """An org-wide blueprint (created by the org_admin) and a one-entity batch the victim submitted for its
    company, through the real services; nothing executes it."""
    blueprint = await blueprints.create(
        session,
        _context(tenant.principals["org_admin"]),
        BlueprintCreate(
            name=f"verify ({name})",  # no ids in it: names show where ids must not
            entity_type="person",
            steps=[{"position": 1, "operation_id": "person.contact.verify_email"}],
        ),
    )
    submitted = await pipeline.submit(
        session,
        _context(victim),
        BatchSubmitRequest(
            blueprint_id=blueprint.id,
            company_id=victim.company_id,
            entities=[{"entity_type": "person", "input": {"email": "x@y.io"}}],
        ),
        plans=PlanCache(),
    )
    run_id = submitted.run_ids[0]
    step_id = await session.scalar(select(StepResult.id).where(StepResult.pipeline_run_id == run_id))
    assert step_id is not None
    return _Batch(blueprint.id, submitted.submission_id, run_id, step_id)


@dataclass(frozen=True)
class _Entities:
    company_entity_id: uuid.UUID
    person_entity_id: uuid.UUID


async def _add_entities(
    session: AsyncSession, tenant: Tenant, victim: Principal, batch: _Batch, name: str
) -> _Entities:
    """What the victim's batch run would have written: a company entity in its second version (so it has
    a snapshot and changes), a person entity, and a timeline event of the company."""
    repo = EntityRepository(session, tenant.org_id)
    lineage = Lineage("company.enrich.profile", batch.pipeline_run_id, victim.company_id)
    domain = f"{name.replace('_', '-')}.example"
    await repo.upsert("company", {"domain": domain, "employee_count": 10}, lineage)
    company = await repo.upsert("company", {"domain": domain, "employee_count": 12}, lineage)
    person = await repo.upsert("person", {"email": f"someone@{domain}", "full_name": "Some One"}, lineage)
    assert company is not None and person is not None
    await timeline.insert_events(
        session,
        [
            {
                "org_id": tenant.org_id,
                "company_id": victim.company_id,
                "entity_type": "company",
                "entity_id": company.entity_id,
                "operation_id": "company.enrich.profile",
                "pipeline_run_id": batch.pipeline_run_id,
                "submission_id": batch.submission_id,
                "status": "found",
                "metadata_": {"event_type": "entity_upsert"},
            }
        ],
    )
    return _Entities(company.entity_id, person.entity_id)


def _target(
    name: str, tenant: Tenant, victim: Principal, batch: _Batch, entities: _Entities, *, other_org: bool
) -> Target:
    assert victim.company_id is not None
    ids = (
        victim.company_id,
        victim.user_id,
        victim.api_token_id,
        batch.submission_id,
        batch.pipeline_run_id,
        batch.step_result_id,
    )
    return Target(
        name=name,
        org_id=tenant.org_id,
        company_id=victim.company_id,
        user_id=victim.user_id,
        api_token_id=victim.api_token_id,
        blueprint_id=batch.blueprint_id,
        submission_id=batch.submission_id,
        pipeline_run_id=batch.pipeline_run_id,
        step_result_id=batch.step_result_id,
        company_entity_id=entities.company_entity_id,
        person_entity_id=entities.person_entity_id,
        # Org-wide resources (the org, its blueprints) leak only across orgs.
        leak_ids=(tenant.org_id, batch.blueprint_id, *ids) if other_org else ids,
    )


async def build_world(database: Database, settings: Settings) -> World:
    async with database.transaction() as session:
        a = await _add_tenant(session, settings, "a")
        b = await _add_tenant(session, settings, "b")
        await session.execute(
            insert(LegacyStep),
            [
                {"slug": "active-step", "name": "Active", "step_type": "enrich"},
                {"slug": "retired-step", "name": "Retired", "step_type": "clean", "is_active": False},
            ],
        )
        assert a.sibling_member is not None
        other_victim, sibling_victim = b.principals["company_admin"], a.sibling_member
        other_batch = await _add_batch(session, b, other_victim, "other_org")
        sibling_batch = await _add_batch(session, a, sibling_victim, "sibling_company")
        other_entities = await _add_entities(session, b, other_victim, other_batch, "other_org")
        sibling_entities = await _add_entities(session, a, sibling_victim, sibling_batch, "sibling_company")
    assert settings.internal_api_key is not None
    targets = {
        "other_org": _target("other_org", b, other_victim, other_batch, other_entities, other_org=True),
        "sibling_company": _target(
            "sibling_company", a, sibling_victim, sibling_batch, sibling_entities, other_org=False
        ),
    }
    callers = [
        Caller(f"{role}/{method}", role, {"authorization": f"Bearer {getattr(a.principals[role], method)}"})
        for role in ROLES
        for method in ("jwt", "api_token")
    ]
    callers.append(
        Caller(
            "internal",
            "org_admin",
            {
                "authorization": f"Bearer {settings.internal_api_key}",
                "x-internal-org-id": str(a.org_id),
                "x-internal-company-id": str(a.companies[0]),
            },
        )
    )
    return World(a=a, b=b, targets=targets, callers=callers, internal_api_key=settings.internal_api_key)
