"""Parallel.ai micro-lookups through ``POST /api/v1/execute``: a real task run (create, poll, fetch the
result) against the sandbox for each lookup."""

from __future__ import annotations

import httpx
import pytest

from dex.sandbox.world import company_for_domain, staff
from tests.conftest import SandboxHandle, Tenant
from tests.operations.helpers import MissingInputsCheck, run

ACME = company_for_domain("acme.io")
AVA = staff(ACME)[2]

# operation → (input, the expected output fields)
LOOKUPS = {
    "company.lookup.linkedin_url": (
        {"domain": "https://www.acme.io/", "company_name": "Acme"},
        {"company_linkedin_url": ACME.linkedin_url.lower()},
    ),
    "company.lookup.name": ({"company_linkedin_url": ACME.linkedin_url}, {"company_name": "Acme"}),
    "company.lookup.domain": (
        {"company_linkedin_url": ACME.linkedin_url + "/"},
        {"company_domain": "acme.io"},
    ),
    "company.lookup.description": ({"company_domain": "acme.io"}, {"description": ACME.description}),
    "company.lookup.hq_location": (
        {"company_domain": "acme.io"},
        {"hq_location": f"{ACME.hq_city}, {ACME.hq_country_code}"},
    ),
    "company.lookup.employee_range": ({"company_domain": "acme.io"}, {"employee_range": ACME.employee_range}),
    "person.lookup.linkedin_url": (
        {"full_name": AVA.full_name, "company_name": "Acme", "company_website": "https://acme.io"},
        {"linkedin_url": AVA.linkedin_url.lower()},
    ),
    "person.lookup.work_email": (
        {"first_name": AVA.first_name, "last_name": AVA.last_name, "company_domain": "acme.io"},
        {"work_email": AVA.work_email},
    ),
    "person.lookup.email_and_linkedin_url": (
        {"full_name": AVA.full_name, "current_company_domain": "acme.io"},
        {"work_email": AVA.work_email, "linkedin_url": AVA.linkedin_url.lower()},
    ),
    "person.lookup.location": ({"profile_url": AVA.linkedin_url}, {"location": AVA.location}),
}


def entity_type_of(operation_id: str) -> str:
    return operation_id.split(".", 1)[0]


async def lookup(client: httpx.AsyncClient, tenant: Tenant, operation_id: str, input_: dict) -> dict:
    """A lookup executed as the entity type its operation id names (a person lookup as a person)."""
    return await run(client, tenant, operation_id, input_, entity_type=entity_type_of(operation_id))


@pytest.mark.parametrize("operation_id", LOOKUPS)
async def test_lookup_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, operation_id: str
) -> None:
    input_, expected = LOOKUPS[operation_id]
    result = await lookup(client, tenant, operation_id, {**input_, "noise": [{"x": 1}], "company_size": 12})
    assert result["status"] == "found", result
    assert result["output"] == {**expected, "source_provider": "parallel"}
    # One billed task creation, then free status polls and the result fetch.
    billed = [entry.action for entry in sandbox.state.ledger if entry.billable]
    assert billed == ["create_run"] and sandbox.state.ledger[-1].action == "run_result"


@pytest.mark.parametrize("operation_id", ["company.lookup.linkedin_url", "person.lookup.work_email"])
async def test_lookup_not_found(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, operation_id: str
) -> None:
    sandbox.configure(hit_rate=0.0)
    result = await lookup(client, tenant, operation_id, LOOKUPS[operation_id][0])
    assert result["status"] == "not_found" and result["output"] is None


async def test_parallel_failure_is_failed(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle
) -> None:
    sandbox.state.script_faults("parallel", ["500", "500", "500"])
    result = await lookup(client, tenant, "company.lookup.name", {"company_domain": "acme.io"})
    assert result["status"] == "failed"


@pytest.mark.parametrize(
    ("operation_id", "input_", "missing"),
    [
        ("company.lookup.domain", {"company_domain": "acme.io"}, ["company_linkedin_url"]),
        ("person.lookup.linkedin_url", {"full_name": "Ava Patel"}, ["company_domain|company_name"]),
        (
            "person.lookup.work_email",
            {"company_domain": "acme.io"},
            ["full_name"],
        ),
        ("person.lookup.location", {"linkedin_url": "   "}, ["linkedin_url"]),
        (
            "company.lookup.name",
            {"company_linkedin_url": ["https://linkedin.com/company/x"]},
            ["company_domain|company_linkedin_url"],
        ),
    ],
)
async def test_missing_inputs_make_no_call(
    missing_inputs_make_no_call: MissingInputsCheck, operation_id: str, input_: dict, missing: list[str]
) -> None:
    await missing_inputs_make_no_call(operation_id, input_, missing, entity_type=entity_type_of(operation_id))


# The original system's nineteen lookups: operation → (input, expected output, processor).
ORIGINAL = {
    "company.lookup.find_linkedin_url_by_domain": (
        {"company_domain": "acme.io"},
        {"linkedin_url": ACME.linkedin_url.lower()},
        "base",
    ),
    "company.lookup.find_linkedin_url_by_name_and_domain": (
        {"company_name": "Acme", "company_domain": "acme.io"},
        {"company_linkedin_url": ACME.linkedin_url.lower()},
        "base",
    ),
    "company.lookup.find_name_by_domain": ({"domain": "acme.io"}, {"company_name": ACME.name}, "lite"),
    "company.lookup.find_name_by_linkedin_url": (
        {"company_linkedin_url": ACME.linkedin_url},
        {"company_name": ACME.name},
        "lite",
    ),
    "company.lookup.find_domain_by_linkedin_url": (
        {"linkedin_url": ACME.linkedin_url},
        {"company_domain": "acme.io"},
        "base",
    ),
    "company.lookup.find_domain_by_name_and_linkedin_url": (
        {"company_name": "Acme", "company_linkedin_url": ACME.linkedin_url},
        {"company_domain": "acme.io"},
        "base",
    ),
    "company.lookup.find_description_by_domain": (
        {"company_domain": "acme.io"},
        {"company_description": ACME.description},
        "lite",
    ),
    "company.lookup.find_description_by_name_and_domain": (
        {"company_name": "Acme", "company_domain": "acme.io"},
        {"company_description": ACME.description},
        "base",
    ),
    "company.lookup.find_hq_location_by_domain": (
        {"company_domain": "acme.io"},
        {"hq_city": ACME.hq_city, "hq_state": None, "hq_country": ACME.hq_country_code},
        "lite",
    ),
    "company.lookup.find_hq_location_by_name_and_domain": (
        {"company_name": "Acme", "company_domain": "acme.io"},
        {"hq_city": ACME.hq_city, "hq_state": None, "hq_country": ACME.hq_country_code},
        "lite",
    ),
    "company.lookup.find_employee_range_by_name_domain_and_linkedin_url": (
        {"company_name": "Acme", "company_domain": "acme.io", "company_linkedin_url": ACME.linkedin_url},
        {"employee_range": ACME.employee_range},
        "base",
    ),
    "person.lookup.find_linkedin_url_by_full_name_company_name_and_company_domain": (
        {"full_name": AVA.full_name, "company_name": "Acme", "company_domain": "acme.io"},
        {"linkedin_url": AVA.linkedin_url.lower()},
        "base",
    ),
    "person.lookup.find_linkedin_url_by_name_and_company": (
        {"person_name": AVA.full_name, "company_name": "acme.io"},
        {"linkedin_url": AVA.linkedin_url.lower()},
        "base",
    ),
    "person.lookup.find_work_email_by_full_name_company_name_company_domain_and_linkedin_url": (
        {
            "person_full_name": AVA.full_name,
            "company_name": "Acme",
            "company_domain": "acme.io",
            "person_linkedin_url": AVA.linkedin_url,
        },
        {"work_email": AVA.work_email},
        "pro",
    ),
    "person.lookup.find_work_email_by_full_name_company_name_and_company_domain": (
        {"full_name": AVA.full_name, "company_name": "Acme", "company_domain": "acme.io"},
        {"work_email": AVA.work_email},
        "base",
    ),
    "person.lookup.find_email_by_name_and_company": (
        {"person_full_name": AVA.full_name, "company_name": "acme.io"},
        {"person_email": AVA.work_email},
        "base",
    ),
    "person.lookup.find_email_and_linkedin_url_by_full_name_and_company_name": (
        {"full_name": AVA.full_name, "company_name": "acme.io"},
        {"work_mail": AVA.work_email, "linkedin_url": AVA.linkedin_url.lower()},
        "base",
    ),
    "person.lookup.find_work_email_and_linkedin_url_by_full_name_company_name_and_company_domain": (
        {"full_name": AVA.full_name, "company_name": "Acme", "company_domain": "acme.io"},
        {"work_email": AVA.work_email, "linkedin_url": AVA.linkedin_url.lower()},
        "base",
    ),
    "person.lookup.find_location_by_full_name_and_linkedin_url": (
        {"person_full_name": AVA.full_name, "person_linkedin_url": AVA.linkedin_url},
        {"city": ACME.hq_city, "state": None, "country": ACME.hq_country_code},
        "base",
    ),
}


def test_the_original_nineteen_are_all_there() -> None:
    assert len(ORIGINAL) == 19


@pytest.mark.parametrize("operation_id", ORIGINAL)
async def test_original_lookup_names_and_processor(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, operation_id: str
) -> None:
    input_, expected, processor = ORIGINAL[operation_id]
    result = await lookup(client, tenant, operation_id, input_)
    assert result["status"] == "found", result
    assert {key: result["output"][key] for key in expected} == expected
    assert result["output"]["source_provider"] == "parallel"
    attempt = next(a for a in result["provider_attempts"] if a["provider"] == "parallel")
    assert attempt["raw_response"]["run"]["processor"] == processor


@pytest.mark.parametrize(
    "operation_id", ["company.lookup.find_name_by_domain", "person.lookup.find_email_by_name_and_company"]
)
async def test_original_lookups_need_all_their_inputs(
    client: httpx.AsyncClient, tenant: Tenant, sandbox: SandboxHandle, operation_id: str
) -> None:
    result = await lookup(client, tenant, operation_id, {"company_name": "Acme"})
    assert result["status"] == "failed" and result["missing_inputs"] and result["provider_attempts"] == []
