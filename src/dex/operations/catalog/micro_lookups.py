"""Micro-lookups: one fact about a company or a person, researched by a Parallel.ai task (seed 002's
"Modal micro-functions").

These are the last-resort fallbacks of data resolution: a Parallel task run researches the open web, so it
finds what the enrichment databases miss, but it costs more and takes seconds to minutes. Each lookup is a
row of :data:`LOOKUPS` — its inputs and the output fields, whose descriptions are the research
instructions Parallel follows. The original had nineteen endpoints, one per input combination; here each
fact is one operation whose optional inputs cover those combinations (more inputs, better disambiguation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, create_model

from dex.normalize import clean_text, normalize_domain, normalize_email, normalize_linkedin_url
from dex.operations.catalog.common import operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import EntityType, OperationSpec, Requirements
from dex.providers import parallel

# What each canonical input tells Parallel (the task's input schema).
INPUT_DESCRIPTIONS = {
    "company_domain": "The company's website domain, e.g. acme.com.",
    "company_name": "The company's name.",
    "company_linkedin_url": "The company's LinkedIn page URL.",
    "full_name": "The person's full name.",
    "linkedin_url": "The person's LinkedIn profile URL.",
}


def as_domain(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_domain(text) if text else None


def as_linkedin_url(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_linkedin_url(text) if text and "linkedin.com/" in text.lower() else None


def as_email(value: Any) -> str | None:
    text = clean_text(value)
    return normalize_email(text) if text else None


@dataclass(frozen=True)
class Field:
    name: str
    instruction: str
    normalize: Callable[[Any], str | None] = clean_text


@dataclass(frozen=True)
class MicroLookup:
    operation_id: str
    entity_type: EntityType
    description: str
    requirements: Requirements
    fields: tuple[Field, ...]
    optional_inputs: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input the task is given when present: the required ones, then the optional ones."""
        return tuple(dict.fromkeys((*sorted(self.requirements.fields()), *self.optional_inputs)))

    def task_input(self, inv: Invocation) -> dict[str, str]:
        values = {key: inv.input.text(key) for key in self.inputs}
        return {key: value for key, value in values.items() if value}

    def input_schema(self, keys: list[str]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {key: {"type": "string", "description": INPUT_DESCRIPTIONS[key]} for key in keys},
            "required": keys,
        }

    def output_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                field.name: {"type": ["string", "null"], "description": field.instruction}
                for field in self.fields
            },
            "required": [field.name for field in self.fields],
            "additionalProperties": False,
        }

    def output_contract(self) -> type[BaseModel]:
        name = (
            "".join(part.capitalize() for part in self.operation_id.replace(".", "_").split("_")) + "Output"
        )
        fields: dict[str, Any] = {field.name: (str | None, None) for field in self.fields}
        return create_model(name, source_provider=(str, ...), **fields)

    async def run(self, inv: Invocation) -> Outcome:
        task_input = self.task_input(inv)
        result = await parallel.run_task(
            inv.providers,
            input=task_input,
            input_schema=self.input_schema(list(task_input)),
            output_schema=self.output_schema(),
            processor=inv.settings.parallel_processor,
        )
        status = operation_status(result)
        if status != "found":
            return Outcome(status)
        content = result.mapped.get("content")
        content = content if isinstance(content, dict) else {}
        values = {field.name: field.normalize(content.get(field.name)) for field in self.fields}
        if not any(values.values()):
            # Parallel answered, but nothing it answered is usable (e.g. a "LinkedIn URL" that is not one).
            return Outcome("not_found")
        return Outcome("found", {**values, "source_provider": parallel.PROVIDER})

    def spec(self) -> OperationSpec:
        return OperationSpec(
            operation_id=self.operation_id,
            entity_type=self.entity_type,
            category="lookup",
            description=f"{self.description} Parallel.ai research task; the last-resort fallback when the "
            "enrichment providers found nothing (slower and costlier than they are).",
            requirements=self.requirements,
            optional_inputs=self.optional_inputs,
            produces=(*(field.name for field in self.fields), "source_provider"),
            providers=(parallel.PROVIDER,),
            strategy="single",
            cost_tier="high",
            output_contract=self.output_contract(),
            handler=self.run,
        )


COMPANY_LINKEDIN_URL = Field(
    "company_linkedin_url",
    "The URL of the company's official LinkedIn company page (linkedin.com/company/…); null if not found.",
    as_linkedin_url,
)
PERSON_LINKEDIN_URL = Field(
    "linkedin_url",
    "The URL of this person's LinkedIn profile (linkedin.com/in/…); null if not found.",
    as_linkedin_url,
)
WORK_EMAIL = Field(
    "work_email",
    "The person's work email address at this company, only if published or verifiable; null otherwise.",
    as_email,
)
NAME_AT_COMPANY = Requirements(all_of=("full_name", "company_domain|company_name"))

LOOKUPS = (
    MicroLookup(
        "company.lookup.linkedin_url",
        "company",
        "The company's LinkedIn page URL, from its domain (and name).",
        Requirements(all_of=("company_domain",)),
        (COMPANY_LINKEDIN_URL,),
        ("company_name",),
    ),
    MicroLookup(
        "company.lookup.name",
        "company",
        "The company's name, from its domain or LinkedIn page URL.",
        Requirements(any_of=("company_domain", "company_linkedin_url")),
        (Field("company_name", "The company's commonly used name; null if not found."),),
    ),
    MicroLookup(
        "company.lookup.domain",
        "company",
        "The company's website domain, from its LinkedIn page URL (and name).",
        Requirements(all_of=("company_linkedin_url",)),
        (
            Field(
                "company_domain",
                "The domain of the company's official website; null if not found.",
                as_domain,
            ),
        ),
        ("company_name",),
    ),
    MicroLookup(
        "company.lookup.description",
        "company",
        "A short description of what the company does, from its domain (and name).",
        Requirements(all_of=("company_domain",)),
        (Field("description", "Two or three sentences on what the company does and for whom."),),
        ("company_name",),
    ),
    MicroLookup(
        "company.lookup.hq_location",
        "company",
        "The city and country of the company's headquarters, from its domain (and name).",
        Requirements(all_of=("company_domain",)),
        (Field("hq_location", "The headquarters as 'City, Country'; null if not found."),),
        ("company_name",),
    ),
    MicroLookup(
        "company.lookup.employee_range",
        "company",
        "The company's employee count range, from its domain or LinkedIn page URL (and name).",
        Requirements(any_of=("company_domain", "company_linkedin_url")),
        (Field("employee_range", "The employee count as a range like '51-200'; null if not found."),),
        ("company_name",),
    ),
    MicroLookup(
        "person.lookup.linkedin_url",
        "person",
        "The person's LinkedIn profile URL, from their name and company (name or domain).",
        NAME_AT_COMPANY,
        (PERSON_LINKEDIN_URL,),
    ),
    MicroLookup(
        "person.lookup.work_email",
        "person",
        "The person's work email, from their name and their company (domain, name or LinkedIn page) or "
        "their LinkedIn profile.",
        Requirements(
            all_of=("full_name",),
            any_of=("company_domain", "company_name", "company_linkedin_url", "linkedin_url"),
        ),
        (WORK_EMAIL,),
    ),
    MicroLookup(
        "person.lookup.email_and_linkedin_url",
        "person",
        "The person's work email and LinkedIn profile URL in one task, from their name and company.",
        NAME_AT_COMPANY,
        (WORK_EMAIL, PERSON_LINKEDIN_URL),
    ),
    MicroLookup(
        "person.lookup.location",
        "person",
        "Where the person is based, from their LinkedIn profile URL (and name).",
        Requirements(all_of=("linkedin_url",)),
        (Field("location", "Where the person is based, as 'City, Country'; null if not found."),),
        ("full_name",),
    ),
)

OPERATIONS = [lookup.spec() for lookup in LOOKUPS]
