"""Identity rules a client of the original system relies on: how a domain is normalized (a port stays),
which company LinkedIn key wins, an explicit entity id before natural keys — and dex's one departure:
two people with different LinkedIn profiles are never merged over an email a provider guessed for both."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from dex.db.engine import Database
from dex.entities.identity import canonical_columns, domain, resolve_identity
from tests.conftest import PipelineHarness, Tenant
from tests.entities.conftest import upsert

ORG = uuid.UUID("00000000-0000-0000-0000-00000000000a")
# A leading "www." is not part of a domain, so no host here starts with that label.
hosts = st.from_regex(r"[a-z0-9]{1,12}\.(com|io|dev)", fullmatch=True).filter(
    lambda host: not host.startswith("www.")
)
ports = st.integers(1, 65535)


@given(hosts, ports, st.sampled_from(["", "http://", "https://"]), st.sampled_from(["", "www."]))
def test_a_port_stays_part_of_the_domain(host: str, port: int, scheme: str, www: str) -> None:
    written = f"{scheme}{www}{host}:{port}/pricing".upper()
    assert domain(written) == f"{host}:{port}"
    with_port = resolve_identity(ORG, "company", {"domain": written})
    without = resolve_identity(ORG, "company", {"domain": host})
    assert with_port is not None and without is not None and with_port.entity_id != without.entity_id


@given(hosts, st.text(alphabet="abc?=&", max_size=6))
def test_without_a_scheme_everything_before_the_first_slash_is_the_domain(host: str, rest: str) -> None:
    assert domain(f"www.{host}{rest}/about") == f"{host}{rest}"


@given(st.from_regex(r"[a-z]{2,10}", fullmatch=True), st.from_regex(r"[a-z]{2,10}", fullmatch=True))
def test_company_linkedin_url_comes_before_company_linkedin_url_alias(first: str, second: str) -> None:
    one, two = f"https://linkedin.com/company/{first}", f"https://linkedin.com/company/{second}"
    columns = canonical_columns("company", {"linkedin_url": one, "company_linkedin_url": two})
    assert columns["linkedin_url"] == one
    assert canonical_columns("company", {"company_linkedin_url": two})["linkedin_url"] == two


async def test_an_explicit_entity_id_is_looked_up_before_natural_keys(
    database: Database, tenant: Tenant
) -> None:
    acme = await upsert(database, tenant.org_id, "company", {"domain": "acme.io", "company_name": "Acme"})
    globex = await upsert(database, tenant.org_id, "company", {"domain": "globex.com"})
    # Names Acme's row, though its domain is Globex's: the named row is the one updated.
    again = await upsert(
        database,
        tenant.org_id,
        "company",
        {"entity_id": str(acme.entity_id), "domain": "globex.com", "industry": "Software"},
    )
    assert again.entity_id == acme.entity_id and again.record_version == 2
    assert ("canonical_domain", "globex.com", globex.entity_id) in again.conflicts
    async with database.transaction() as session:
        rows = (
            await session.execute(
                text("SELECT entity_id, canonical_domain, industry FROM company_entities ORDER BY 2")
            )
        ).all()
    assert rows == [(acme.entity_id, "acme.io", "Software"), (globex.entity_id, "globex.com", None)]


async def test_namesakes_with_different_linkedin_profiles_stay_apart(
    database: Database, tenant: Tenant
) -> None:
    first = await upsert(
        database,
        tenant.org_id,
        "person",
        {"full_name": "Sam Lee", "linkedin_url": "https://linkedin.com/in/sam-lee-1", "email": "sam@acme.io"},
    )
    second = await upsert(
        database,
        tenant.org_id,
        "person",
        {"full_name": "Sam Lee", "linkedin_url": "https://linkedin.com/in/sam-lee-2", "email": "sam@acme.io"},
    )
    assert second.entity_id != first.entity_id and second.created
    assert second.conflicts == (("work_email", "sam@acme.io", first.entity_id),)
    async with database.transaction() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT linkedin_url, work_email, canonical_payload ? 'email' FROM person_entities "
                    "ORDER BY linkedin_url"
                )
            )
        ).all()
    assert rows == [
        ("https://linkedin.com/in/sam-lee-1", "sam@acme.io", True),
        ("https://linkedin.com/in/sam-lee-2", None, False),
    ]
    # The same person again (same profile) still merges, email or not.
    same = await upsert(
        database,
        tenant.org_id,
        "person",
        {"linkedin_url": "https://linkedin.com/in/sam-lee-1/", "title": "CTO"},
    )
    assert same.entity_id == first.entity_id and not same.conflicts
    # Without a LinkedIn profile, the email still identifies the person.
    by_email = await upsert(
        database, tenant.org_id, "person", {"email": "SAM@acme.io", "seniority": "c-level"}
    )
    assert by_email.entity_id == first.entity_id


async def test_the_conflict_is_on_both_timelines(pipeline: PipelineHarness, database: Database) -> None:
    blueprint = await pipeline.blueprint(
        "skip",
        [
            {
                "position": 1,
                "operation_id": "person.contact.verify_email",
                "step_config": {"condition": {"field": "never", "op": "exists"}},
            }
        ],
        entity_type="person",
    )
    people = [
        {
            "full_name": "Sam Lee",
            "linkedin_url": f"https://linkedin.com/in/sam-lee-{n}",
            "email": "sam@acme.io",
        }
        for n in (1, 2)
    ]
    await pipeline.submit(blueprint, people[:1], "person")
    await pipeline.run_until_idle()
    await pipeline.submit(blueprint, people[1:], "person")
    await pipeline.run_until_idle()
    async with database.transaction() as session:
        events = (
            await session.execute(
                text(
                    "SELECT p.linkedin_url, t.metadata ->> 'other_entity_id', t.summary "
                    "FROM entity_timeline t JOIN person_entities p ON p.entity_id = t.entity_id "
                    "WHERE t.metadata ->> 'event_type' = 'identity_conflict' ORDER BY 1"
                )
            )
        ).all()
        ids = dict((await session.execute(text("SELECT linkedin_url, entity_id FROM person_entities"))).all())
    first, second = (ids[f"https://linkedin.com/in/sam-lee-{n}"] for n in (1, 2))
    assert [(url, other) for url, other, _ in events] == [
        ("https://linkedin.com/in/sam-lee-1", str(second)),
        ("https://linkedin.com/in/sam-lee-2", str(first)),
    ]
    assert all("sam@acme.io" in summary for _, _, summary in events)
