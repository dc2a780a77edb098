"""The blueprint assembler: the reference's observed cases, its three failing cases now right, fan-out for
person fields, unresolvable fields, determinism, validity, and the HTTP endpoint in both modes."""

from __future__ import annotations

import random
import time

import httpx
import pytest
from sqlalchemy import text

from dex.blueprints.assembler import AssembledBlueprint, assemble
from dex.blueprints.schemas import BlueprintStepIn
from dex.blueprints.validation import validate_steps
from dex.config import Settings
from dex.db.engine import Database
from dex.errors import BadRequest
from tests.conftest import SandboxHandle, Tenant
from tests.dex_command import dex_env, run_dex


def plan(result: AssembledBlueprint) -> list[tuple[str, bool]]:
    return [(step.operation_id, step.fan_out) for step in result.steps]


def assert_valid(result: AssembledBlueprint) -> None:
    steps = [BlueprintStepIn.model_validate(step.model_dump()) for step in result.steps]
    validate_steps(steps, result.entity_type)


PROFILE = ("company.enrich.profile", False)
PEOPLE = ("person.search", True)
RESOLVE_EMAIL = ("person.contact.resolve_email", False)


@pytest.mark.parametrize(
    ("fields", "options", "expected"),
    [
        # Observed at the reference commit (and passing there).
        (["company_name", "industry_primary"], {}, [PROFILE]),
        (["company_name", "email"], {}, [PROFILE, PEOPLE, RESOLVE_EMAIL]),
        # Failing there: the profile was pruned because company_name counted as an input.
        (
            ["company_name", "g2_url", "pricing_page_url"],
            {},
            [
                PROFILE,
                ("company.research.resolve_g2_url", False),
                ("company.research.resolve_pricing_page_url", False),
            ],
        ),
        (
            ["company_name", "pricing_page_url"],
            {"include_pricing_intelligence": True},
            [
                PROFILE,
                ("company.research.resolve_pricing_page_url", False),
                ("company.derive.pricing_intelligence", False),
            ],
        ),
        # Failing there: "find VPs, get emails" ran person operations on companies, with no search.
        (["current_title", "email"], {"job_title": "VP"}, [PEOPLE, RESOLVE_EMAIL]),
    ],
    ids=["profile", "cross-entity", "research-urls", "pricing-intelligence", "vps-emails"],
)
def test_reference_cases(fields: list[str], options: dict, expected: list[tuple[str, bool]]) -> None:
    result = assemble(fields, "company", options)
    assert plan(result) == expected
    assert result.unresolvable_fields == []
    assert_valid(result)


def test_options_land_on_the_steps_that_declare_them_and_pricing_is_guarded() -> None:
    result = assemble(["pricing_model", "email"], "company", {"job_title": "VP", "max_results": 5})
    configs = {step.operation_id: step.step_config for step in result.steps}
    assert configs["person.search"] == {"job_title": "VP", "max_results": 5}
    assert configs["company.derive.pricing_intelligence"] == {
        "condition": {"field": "pricing_page_url", "op": "exists"}
    }
    # The resolver needs the company's name, which the entity may lack: its step is guarded too.
    guard = configs["company.research.resolve_pricing_page_url"]
    assert guard is not None and {"field": "company_name", "op": "exists"} in guard["condition"]["any"]


def test_person_fields_on_a_company_blueprint_fan_out_to_people() -> None:
    result = assemble(["work_email", "email_status", "competitors"], "company")
    assert plan(result) == [
        PROFILE,
        ("company.research.discover_competitors", False),
        PEOPLE,
        RESOLVE_EMAIL,
    ]
    by_position = {e.position: e for e in result.explanation}
    assert by_position[1].serves_fields == [] and by_position[1].feeds == [
        {"position": 2, "operation_id": "company.research.discover_competitors", "inputs": ["company_name"]}
    ]
    assert by_position[2].serves_fields == ["competitors"]
    # The name comes from a step that may find nothing: the competitor lookup is skipped then, not failed.
    assert "company_name" in str(result.steps[1].step_config["condition"])
    assert by_position[3].fan_out and by_position[3].fans_out_to == "person"
    assert by_position[3].feeds[0]["operation_id"] == "person.contact.resolve_email"
    assert by_position[4].entity_type == "person"
    assert by_position[4].serves_fields == ["email_status", "work_email"]
    assert_valid(result)


def test_a_persons_employer_name_is_no_company_name() -> None:
    # current_company_name of the people found would satisfy the *alias*, but not the company entity.
    result = assemble(["company_name", "mobile_phone"], "company")
    assert plan(result) == [PROFILE, PEOPLE, ("person.contact.resolve_mobile_phone", False)]


def test_shortest_then_cheapest() -> None:
    # From a LinkedIn URL one medium step gives the email; from a name and a domain one low step does.
    assert plan(assemble(["email"], "person")) == [("person.enrich.profile", False)]
    by_name = assemble(["email"], "person", inputs=["full_name", "company_domain"])
    assert plan(by_name) == [RESOLVE_EMAIL]
    # A medium profile, not a high-cost single-field lookup; StoreLeads only for store fields.
    assert plan(assemble(["employee_count"], "company")) == [PROFILE]
    assert plan(assemble(["ecommerce_platform", "employee_count"], "company")) == [
        ("company.enrich.ecommerce", False),
        PROFILE,
    ]


def test_unresolvable_and_given_fields_are_reported() -> None:
    result = assemble(["company_domain", "company_name", "no_such_field"], "company")
    assert plan(result) == [PROFILE]
    assert result.provided_by_input == ["company_domain"]
    assert result.unresolvable_fields == ["no_such_field"]
    assert result.unresolvable[0].reason == "no operation produces this field"
    nothing = assemble(["industry_primary"], "person")
    assert nothing.steps == [] and nothing.unresolvable_fields == ["industry_primary"]
    assert "company.enrich.profile" in nothing.unresolvable[0].reason


def test_inputs_must_be_what_the_entity_type_accepts() -> None:
    with pytest.raises(BadRequest, match="company inputs cannot include pricing_page_url"):
        assemble(["pricing_model"], "company", inputs=["pricing_page_url"])


def test_deterministic_whatever_the_order_of_the_request() -> None:
    fields = ["email", "competitors", "g2_url", "technologies", "company_name", "mobile_phone"]
    first = assemble(fields, "company")
    for seed in range(5):
        shuffled = fields[:]
        random.Random(seed).shuffle(shuffled)
        again = assemble(shuffled, "company")
        assert again.steps == first.steps and again.explanation == first.explanation


MANY_FIELDS = [
    "company_name",
    "industry_primary",
    "g2_url",
    "pricing_page_url",
    "competitors",
    "customers",
    "alumni",
    "technologies",
    "has_raised_vc",
    "ads",
    "email",
    "mobile_phone",
    "current_title",
    "seniority",
    "similar_companies",
    "pricing_model",
]


def test_a_large_request_is_exact_and_quick() -> None:
    started = time.monotonic()
    result = assemble(MANY_FIELDS, "company")
    assert time.monotonic() - started < 5
    assert len(result.steps) == 13 and result.unresolvable_fields == []
    assert plan(result)[-2:] == [PEOPLE, ("person.enrich.profile", False)]
    assert_valid(result)


@pytest.mark.parametrize(
    ("fields", "entity_type"),
    [
        (MANY_FIELDS, "company"),
        (["email", "email_status", "mobile_phone", "seniority"], "person"),
        (["has_raised_vc", "technologies", "ads"], "company"),
        (["alumni", "customers", "email"], "company"),
    ],
)
def test_every_assembled_blueprint_passes_validation(fields: list[str], entity_type: str) -> None:
    assert_valid(assemble(fields, entity_type))


# --- the endpoint ------------------------------------------------------------------------------------------


async def post(client: httpx.AsyncClient, tenant: Tenant, body: dict) -> httpx.Response:
    return await client.post("/api/v1/blueprints/assemble", json=body, headers=tenant.headers)


async def test_fields_mode_answers_and_the_steps_save_as_a_blueprint(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await post(client, tenant, {"desired_fields": ["company_name", "email"]})
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    assert [s["operation_id"] for s in body["steps"]] == [
        "company.enrich.profile",
        "person.search",
        "person.contact.resolve_email",
    ]
    assert body["llm_extracted"] is None
    saved = await client.post(
        "/api/blueprints/create",
        json={"name": "assembled", "entity_type": body["entity_type"], "steps": body["steps"]},
        headers=tenant.headers,
    )
    assert saved.status_code == 200, saved.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"desired_fields": [" "]}, "desired_fields is required when mode=fields"),
        ({"mode": "natural_language", "prompt": "  "}, "prompt is required when mode=natural_language"),
        ({"desired_fields": ["email"], "options": {"max_results": 0}}, None),
    ],
)
async def test_bad_requests(
    client: httpx.AsyncClient, tenant: Tenant, body: dict, message: str | None
) -> None:
    response = await post(client, tenant, body)
    assert response.status_code in (400, 422)
    if message:
        assert response.json() == {"error": message}


async def test_natural_language_mode_on_the_sandbox(client: httpx.AsyncClient, tenant: Tenant) -> None:
    prompt = "Find 5 VPs at each company,\nget their emails, and list the company's competitors"
    response = await post(client, tenant, {"mode": "natural_language", "prompt": prompt})
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    extracted = body["llm_extracted"]
    assert extracted["provider"] == "gemini"
    assert extracted["desired_fields"] == ["email", "competitors"]
    assert extracted["options"] == {"job_title": "VP", "max_results": 5}
    assert [s["operation_id"] for s in body["steps"]] == [
        "company.enrich.profile",
        "company.research.discover_competitors",
        "person.search",
        "person.contact.resolve_email",
    ]
    assert body["steps"][2]["step_config"] == {"job_title": "VP", "max_results": 5}


async def test_natural_language_options_of_the_request_win(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {"mode": "natural_language", "prompt": "emails of 5 directors", "options": {"max_results": 2}}
    response = await post(client, tenant, body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["llm_extracted"]["options"] == {"job_title": "Director", "max_results": 5}
    assert data["steps"][0]["step_config"] == {"job_title": "Director", "max_results": 2}


async def test_cli_assembles_and_saves_in_local_mode(
    database: Database, database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    env = dex_env(settings, database_url, sandbox.url)
    args = ("blueprint", "assemble", "work_email", "email_status", "--entity-type", "company")
    done = await run_dex(*args, "--option", "max_results=3", "--save", "emails", env=env)
    assert done.returncode == 0, done.stderr
    assert "person.contact.resolve_email" in done.stdout and "saved blueprint emails" in done.stdout
    async with database.transaction() as session:
        steps = (
            await session.execute(
                text(
                    "SELECT s.operation_id, s.fan_out, s.step_config FROM blueprint_steps s "
                    "JOIN blueprints b ON b.id = s.blueprint_id WHERE b.name = 'emails' ORDER BY s.position"
                )
            )
        ).all()
    assert [tuple(step) for step in steps] == [
        ("person.search", True, {"max_results": 3}),
        ("person.contact.resolve_email", False, {}),
    ]
    again = await run_dex(*args, "--save", "emails", env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
