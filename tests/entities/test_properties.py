"""Properties of identity and merge: normalization equivalences, same inputs → same id, null never erases,
and the order in which non-conflicting updates arrive does not change the final row."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dex.db.engine import Database
from dex.entities.identity import COMPANY_COLUMNS, canonical_columns, entity_id_of, resolve_identity
from dex.entities.models import CompanyEntity
from dex.entities.repository import EntityRepository, Lineage, merge_columns, merge_payload
from tests.conftest import Tenant

ORG = uuid.UUID("00000000-0000-0000-0000-00000000000a")
OTHER_ORG = uuid.UUID("00000000-0000-0000-0000-00000000000b")

labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True).filter(
    lambda label: label != "www"
)
domains = st.builds(lambda name, tld: f"{name}.{tld}", labels, st.sampled_from(["com", "io", "co.uk", "dev"]))
handles = st.from_regex(r"[a-z][a-z0-9-]{1,20}", fullmatch=True)
# Keys that feed no identity column: extra context never changes who an entity is.
extra_keys = st.dictionaries(
    st.from_regex(r"x_[a-z]{1,8}", fullmatch=True), st.one_of(st.none(), st.integers(), st.text(max_size=5))
)


def random_case(draw: st.DrawFn, value: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in value)


@st.composite
def domain_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A domain and one way people write it: scheme, www., any case, a path, blanks around. (A port is
    part of the domain, see ``test_a_port_stays_part_of_the_domain``.)"""
    domain = draw(domains)
    scheme = draw(st.sampled_from(["", "http://", "https://"]))
    www = draw(st.sampled_from(["", "www."]))
    suffix = draw(st.sampled_from(["", "/", "/about/team", "/?ref=x"]))
    blanks = draw(st.sampled_from(["", " ", "\t"]))
    return domain, blanks + random_case(draw, f"{scheme}{www}{domain}{suffix}") + blanks


@given(domain_spellings(), extra_keys)
def test_every_spelling_of_a_domain_is_one_company(spelling: tuple[str, str], extra: dict[str, Any]) -> None:
    domain, written = spelling
    canonical = resolve_identity(ORG, "company", {"domain": domain})
    assert canonical is not None
    assert canonical.entity_id == uuid.uuid5(uuid.NAMESPACE_URL, f"company:{ORG}:domain:{domain}")
    for key in ("domain", "company_domain", "canonical_domain"):
        same = resolve_identity(ORG, "company", {**extra, key: written})
        assert same is not None and same.entity_id == canonical.entity_id
    assert canonical_columns("company", {"company_domain": written})["canonical_domain"] == domain


def test_the_documented_equivalences() -> None:
    def company(value: str) -> uuid.UUID | None:
        found = resolve_identity(ORG, "company", {"domain": value})
        return found.entity_id if found else None

    def person(**context: str) -> uuid.UUID | None:
        found = resolve_identity(ORG, "person", context)
        return found.entity_id if found else None

    assert company("https://www.Acme.io/") == company("acme.io") == company("ACME.IO")
    alex = "https://www.linkedin.com/in/alex"
    assert (
        person(linkedin_url=alex + "/")
        == person(linkedin_url="HTTPS://www.LinkedIn.com/in/Alex")
        == (person(linkedin_url=alex))
    )
    assert person(email="Alex@Acme.io") == person(work_email="alex@acme.io")
    # LinkedIn outranks email: adding an email to a LinkedIn identity keeps the id.
    assert person(linkedin_url=alex, email="alex@acme.io") == person(linkedin_url=alex)


@given(handles, st.sampled_from(["", "/", "//"]), st.booleans(), extra_keys)
def test_linkedin_case_and_trailing_slashes_do_not_matter(
    handle: str, slashes: str, www: bool, extra: dict[str, Any]
) -> None:
    url = f"https://{'www.' if www else ''}linkedin.com/in/{handle}"
    plain = resolve_identity(ORG, "person", {"linkedin_url": url})
    decorated = resolve_identity(ORG, "person", {**extra, "linkedin_url": (url + slashes).upper()})
    assert plain is not None and decorated is not None
    assert plain.entity_id == decorated.entity_id


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "domain": domains,
            "company_linkedin_url": handles.map(lambda h: f"https://linkedin.com/company/{h}"),
            "company_name": st.text(min_size=1, max_size=10),
        },
    ),
    extra_keys,
)
def test_same_inputs_give_the_same_id_and_orgs_never_share_one(context: dict[str, Any], extra: dict) -> None:
    first = resolve_identity(ORG, "company", {**context, **extra})
    again = resolve_identity(ORG, "company", dict(reversed(list({**extra, **context}.items()))))
    elsewhere = resolve_identity(OTHER_ORG, "company", context)
    if first is None:  # no natural key: no identity (no random fallback entity)
        assert again is None and elsewhere is None
        return
    assert again is not None and elsewhere is not None
    assert first.entity_id == again.entity_id
    assert first.entity_id != elsewhere.entity_id


any_context = st.fixed_dictionaries(
    {},
    optional={
        "entity_id": st.one_of(st.uuids().map(str), st.text(max_size=5)),
        "domain": domains,
        "company_name": st.text(max_size=6),
        "linkedin_url": handles.map(lambda h: f"https://linkedin.com/in/{h}"),
        "company_linkedin_url": handles.map(lambda h: f"https://linkedin.com/company/{h}"),
        "email": st.builds(lambda h, d: f"{h}@{d}", handles, domains),
        "full_name": st.text(max_size=6),
        "industry": st.text(max_size=4),
        "employee_count": st.one_of(st.integers(), st.text(max_size=3)),
    },
)


@given(st.sampled_from(["company", "person"]), any_context)
def test_the_timelines_entity_id_is_the_merges(entity_type: str, context: dict[str, Any]) -> None:
    identity = resolve_identity(ORG, entity_type, context)
    assert entity_id_of(ORG, entity_type, context) == (identity.entity_id if identity else None)


json_values = st.one_of(
    st.integers(-1000, 1000), st.text(max_size=6), st.booleans(), st.lists(st.integers(), max_size=3)
)
payloads = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), st.one_of(st.none(), json_values))


@given(payloads, payloads)
def test_merge_overwrites_with_values_and_never_erases_with_nulls(existing: dict, incoming: dict) -> None:
    merged = merge_payload(existing, incoming)
    for key in existing.keys() | incoming.keys():
        if incoming.get(key) is not None:
            assert merged[key] == incoming[key]
        elif key in existing:
            assert merged[key] == existing[key]
        else:
            assert key not in merged


column_values = st.fixed_dictionaries(
    {
        # Lone surrogates are stored as U+FFFD (dex.db.queries.dumps), so they would not round-trip.
        "industry": st.one_of(
            st.none(), st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6)
        ),
        "employee_count": st.one_of(st.none(), st.integers(0, 10**6)),
        "source_providers": st.one_of(st.none(), st.lists(st.sampled_from(["p1", "p2", "p3"]), max_size=3)),
    }
)


@given(column_values, column_values)
def test_columns_keep_their_value_when_the_update_has_none(existing: dict, incoming: dict) -> None:
    merged = merge_columns(existing, incoming)
    for column in ("industry", "employee_count"):
        assert merged[column] == (incoming[column] if incoming[column] is not None else existing[column])
    providers = merged["source_providers"] or []
    assert providers[: len(existing["source_providers"] or [])] == list(existing["source_providers"] or [])
    assert set(providers) == set(existing["source_providers"] or []) | set(incoming["source_providers"] or [])


# PostgreSQL text and jsonb cannot hold NUL characters; lone surrogates are stored as U+FFFD.
storable_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12)
# Each field has one writer at most; the others may send it as null (null never erases).
FIELD_VALUES = {
    "industry": storable_text,
    "employee_count": st.integers(0, 10**6),
    "hq_country": st.sampled_from(["US", "DE", "FR"]),
    "description": storable_text,
    "enrichment_confidence": st.sampled_from([0.1, 0.85, 1]),
    "x_signal": st.lists(st.integers(), max_size=3),
    "x_rating": st.floats(-10, 10, allow_nan=False),
}


@st.composite
def non_conflicting_updates(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[int]]:
    count = draw(st.integers(2, 4))
    updates: list[dict[str, Any]] = [{"domain": "https://www.acme.io/"} for _ in range(count)]
    for field, values in FIELD_VALUES.items():
        writer = draw(st.one_of(st.none(), st.integers(0, count - 1)))
        for index, update in enumerate(updates):
            if index == writer:
                update[field] = draw(values)
            elif draw(st.booleans()):
                update[field] = None
    return updates, draw(st.permutations(range(count)))


COMPARED_COLUMNS = [*COMPANY_COLUMNS, "record_version", "canonical_payload", "company_id"]


async def final_row(database: Database, org_id: uuid.UUID, updates: list[dict[str, Any]]) -> dict[str, Any]:
    """The row after applying ``updates`` in order, in a transaction that is rolled back."""
    async with database.sessionmaker() as session:
        await session.begin()
        try:
            repo = EntityRepository(session, org_id)
            for update in updates:
                await repo.upsert("company", update, Lineage("test.merge", None, None))
            row = await session.scalar(select(CompanyEntity).where(CompanyEntity.org_id == org_id))
            assert row is not None
            return {column: getattr(row, column) for column in COMPARED_COLUMNS}
        finally:
            await session.rollback()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(non_conflicting_updates())
async def test_arrival_order_of_non_conflicting_updates_does_not_matter(
    database: Database, tenant: Tenant, case: tuple[list[dict[str, Any]], list[int]]
) -> None:
    updates, order = case
    in_order = await final_row(database, tenant.org_id, updates)
    shuffled = await final_row(database, tenant.org_id, [updates[i] for i in order])
    assert in_order == shuffled
    assert in_order["record_version"] == len(updates)
    written = {k: v for update in updates for k, v in update.items() if v is not None}
    assert in_order["canonical_payload"] == written
