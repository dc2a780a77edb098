"""Micro-lookups: one fact about a company or a person, researched by a Parallel.ai task (seed 002's
"Modal micro-functions").

These are the last-resort fallbacks of data resolution: a Parallel task run researches the open web, so it
finds what the enrichment databases miss, but it costs more and takes seconds to minutes. Each lookup is a
row of :data:`LOOKUPS` — its inputs and the output fields, whose descriptions are the research
instructions Parallel follows. The original had nineteen endpoints, one per input combination; here each
fact is one operation whose optional inputs cover those combinations (more inputs, better disambiguation),
and each of the nineteen is also an operation of its own (:data:`ORIGINAL_LOOKUPS`), with the original's
input and output names and processor, for callers written against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, create_model

from dex.normalize import clean_text, normalize_domain, normalize_email, normalize_linkedin_url
from dex.operations.catalog.common import operation_status
from dex.operations.engine import Invocation, Outcome
from dex.operations.registry import CostTier, EntityType, OperationSpec, Requirements
from dex.providers import parallel

# What each canonical input tells Parallel (the task's input schema).
INPUT_DESCRIPTIONS = {
    "company_domain": "The company's website domain, e.g. acme.com.",
    "company_name": "The company's name.",
    "company_linkedin_url": "The company's LinkedIn page URL.",
    "full_name": "The person's full name.",
    "linkedin_url": "The person's LinkedIn profile URL.",
    "domain": "The company's website domain, e.g. acme.com.",
    "person_name": "The person's full name.",
    "person_full_name": "The person's full name.",
    "person_linkedin_url": "The person's LinkedIn profile URL.",
}
# Cost tier by Parallel processor (the deeper the research, the dearer the run).
PROCESSOR_COST_TIERS: dict[str, CostTier] = {"lite": "low", "base": "medium", "pro": "high"}


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
    # The Parallel processor this lookup always uses; None: the PARALLEL_PROCESSOR setting.
    processor: str | None = None
    # Inputs whose meaning here differs from INPUT_DESCRIPTIONS (e.g. a company's ``linkedin_url``).
    input_descriptions: tuple[tuple[str, str], ...] = ()

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
            "properties": {
                key: {
                    "type": "string",
                    "description": {**INPUT_DESCRIPTIONS, **dict(self.input_descriptions)}[key],
                }
                for key in keys
            },
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
            processor=self.processor or inv.settings.parallel_processor,
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
            cost_tier=PROCESSOR_COST_TIERS.get(self.processor or "", "high"),
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


def described(value: Any) -> str | None:
    """A description, or None when the research answered that it has none."""
    text = clean_text(value)
    return None if text is None or text.lower().rstrip(".") == "description unavailable" else text


def lookup_field(name: str, instruction: str) -> Field:
    """An output field named as the original lookups named it, normalized by what it holds."""
    if name.endswith("linkedin_url"):
        return Field(name, instruction, as_linkedin_url)
    if name == "company_domain":
        return Field(name, instruction, as_domain)
    if name in ("work_email", "work_mail", "person_email"):
        return Field(name, instruction, as_email)
    if name == "company_description":
        return Field(name, instruction, described)
    return Field(name, instruction)


def original_lookup(
    path: str,
    inputs: tuple[str, ...],
    outputs: tuple[tuple[str, str], ...],
    processor: str,
    description: str,
    input_descriptions: tuple[tuple[str, str], ...] = (),
) -> MicroLookup:
    """One of the original micro-lookup endpoints (``/company/find-…``, ``/person/find-…``) as an
    operation ``<entity>.lookup.<name>``: the same required inputs, output fields and processor."""
    entity, name = path.strip("/").split("/")
    return MicroLookup(
        f"{entity}.lookup.{name.replace('-', '_')}",
        "person" if entity == "person" else "company",
        description,
        Requirements(all_of=inputs),
        tuple(lookup_field(field, instruction) for field, instruction in outputs),
        processor=processor,
        input_descriptions=input_descriptions,
    )


COMPANY_LINKEDIN = "The URL of the company's official LinkedIn company page; null if not found."
COMPANY_DOMAIN = "The domain of the company's official website (e.g. acme.com); null if not found."
COMPANY_NAME = "The company's official name; null if not found."
DESCRIPTION = "Two to four sentences on what the company does, its products and customers; null if none."
HQ = (
    ("hq_city", "The city of the company's headquarters; null if unknown."),
    ("hq_state", "The state, province or region of the company's headquarters; null if unknown."),
    ("hq_country", "The country of the company's headquarters; null if unknown."),
)
PERSON_LINKEDIN = "The URL of this person's LinkedIn profile (linkedin.com/in/…); null if not found."
EMAIL = "The person's work email address at this company, only if published or verifiable; null otherwise."
COMPANY_LINKEDIN_INPUT = (("linkedin_url", "The company's LinkedIn page URL."),)

# The original system's nineteen micro-lookups, each with its own inputs, outputs and processor.
ORIGINAL_LOOKUPS = (
    original_lookup(
        "/company/find-linkedin-url-by-domain",
        ("company_domain",),
        (("linkedin_url", COMPANY_LINKEDIN),),
        "base",
        "The company's LinkedIn page URL, from its domain.",
    ),
    original_lookup(
        "/company/find-linkedin-url-by-name-and-domain",
        ("company_name", "company_domain"),
        (("company_linkedin_url", COMPANY_LINKEDIN),),
        "base",
        "The company's LinkedIn page URL, from its name and domain.",
    ),
    original_lookup(
        "/company/find-name-by-domain",
        ("domain",),
        (("company_name", COMPANY_NAME),),
        "lite",
        "The company's name, from its domain.",
    ),
    original_lookup(
        "/company/find-name-by-linkedin-url",
        ("company_linkedin_url",),
        (("company_name", COMPANY_NAME),),
        "lite",
        "The company's name, from its LinkedIn page URL.",
    ),
    original_lookup(
        "/company/find-domain-by-linkedin-url",
        ("linkedin_url",),
        (("company_domain", COMPANY_DOMAIN),),
        "base",
        "The company's domain, from its LinkedIn page URL (given as linkedin_url).",
        COMPANY_LINKEDIN_INPUT,
    ),
    original_lookup(
        "/company/find-domain-by-name-and-linkedin-url",
        ("company_name", "company_linkedin_url"),
        (("company_domain", COMPANY_DOMAIN),),
        "base",
        "The company's domain, from its name and LinkedIn page URL.",
    ),
    original_lookup(
        "/company/find-description-by-domain",
        ("company_domain",),
        (("company_description", DESCRIPTION),),
        "lite",
        "What the company does, from its domain.",
    ),
    original_lookup(
        "/company/find-description-by-name-and-domain",
        ("company_name", "company_domain"),
        (("company_description", DESCRIPTION),),
        "base",
        "What the company does, from its name and domain.",
    ),
    original_lookup(
        "/company/find-hq-location-by-domain",
        ("company_domain",),
        HQ,
        "lite",
        "Where the company is headquartered (city, state, country), from its domain.",
    ),
    original_lookup(
        "/company/find-hq-location-by-name-and-domain",
        ("company_name", "company_domain"),
        HQ,
        "lite",
        "Where the company is headquartered (city, state, country), from its name and domain.",
    ),
    original_lookup(
        "/company/find-employee-range-by-name-domain-and-linkedin-url",
        ("company_name", "company_domain", "company_linkedin_url"),
        (("employee_range", "The employee count as a range like '51-200'; null if not found."),),
        "base",
        "The company's employee count range, from its name, domain and LinkedIn page URL.",
    ),
    original_lookup(
        "/person/find-linkedin-url-by-full-name-company-name-and-company-domain",
        ("full_name", "company_name", "company_domain"),
        (("linkedin_url", PERSON_LINKEDIN),),
        "base",
        "The person's LinkedIn profile URL, from their name and their company's name and domain.",
    ),
    original_lookup(
        "/person/find-linkedin-url-by-name-and-company",
        ("person_name", "company_name"),
        (("linkedin_url", PERSON_LINKEDIN),),
        "base",
        "The person's LinkedIn profile URL, from their name and company name.",
    ),
    original_lookup(
        "/person/find-work-email-by-full-name-company-name-company-domain-and-linkedin-url",
        ("person_full_name", "company_name", "company_domain", "person_linkedin_url"),
        (("work_email", EMAIL),),
        "pro",
        "The person's work email, from their name, LinkedIn profile and company (name and domain).",
    ),
    original_lookup(
        "/person/find-work-email-by-full-name-company-name-and-company-domain",
        ("full_name", "company_name", "company_domain"),
        (("work_email", EMAIL),),
        "base",
        "The person's work email, from their name and company (name and domain).",
    ),
    original_lookup(
        "/person/find-email-by-name-and-company",
        ("person_full_name", "company_name"),
        (("person_email", EMAIL),),
        "base",
        "The person's email, from their name and company name.",
    ),
    original_lookup(
        "/person/find-email-and-linkedin-url-by-full-name-and-company-name",
        ("full_name", "company_name"),
        # ``work_mail`` is the original's own spelling of this lookup's email field, kept for its clients.
        (("work_mail", EMAIL), ("linkedin_url", PERSON_LINKEDIN)),
        "base",
        "The person's work email and LinkedIn profile URL, from their name and company name.",
    ),
    original_lookup(
        "/person/find-work-email-and-linkedin-url-by-full-name-company-name-and-company-domain",
        ("full_name", "company_name", "company_domain"),
        (("work_email", EMAIL), ("linkedin_url", PERSON_LINKEDIN)),
        "base",
        "The person's work email and LinkedIn profile URL, from their name and company (name and domain).",
    ),
    original_lookup(
        "/person/find-location-by-full-name-and-linkedin-url",
        ("person_full_name", "person_linkedin_url"),
        (
            ("city", "The city where the person is based; null if unknown."),
            ("state", "The state, province or region where the person is based; null if unknown."),
            ("country", "The country where the person is based; null if unknown."),
        ),
        "base",
        "Where the person is based (city, state, country), from their name and LinkedIn profile URL.",
    ),
)

OPERATIONS = [lookup.spec() for lookup in (*LOOKUPS, *ORIGINAL_LOOKUPS)]
