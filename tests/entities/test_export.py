"""Export per the contract v1: CSV and JSONL through HTTP, in chunks, and ``dex export`` in local mode and
against a running API."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from dex.api.app import create_app
from dex.config import Settings
from dex.db.engine import Database
from dex.entities.export import CHUNK_ROWS, DATASETS, export_chunks, export_statement
from dex.entities.models import CompanyEntity
from dex.local import ensure_local_tenant
from dex.providers.runtime import ProviderRuntime
from dex.server import serve_in_background
from dex.tenancy.auth import API_KEY_SUPER_ADMIN, tenant_scope
from tests.conftest import SandboxHandle, Tenant, create_tenant
from tests.dex_command import dex_env, run_dex
from tests.entities.conftest import Post, add_company, add_token, upsert

COMPANY_HEADER = [
    "export_schema_version",
    "org_id",
    "company_id",
    "entity_id",
    "canonical_name",
    "canonical_domain",
    "linkedin_url",
    "linkedin_page_id",
    "industry",
    "employee_count",
    "revenue_band",
    "hq_country",
    "enrichment_confidence",
    "last_enriched_at",
    "last_operation_id",
    "last_run_id",
    "source_priority",
    "record_version",
    "updated_at",
    "employee_range",
    "description",
]
PERSON_HEADER = [
    "export_schema_version",
    "org_id",
    "company_id",
    "entity_id",
    "full_name",
    "first_name",
    "last_name",
    "linkedin_url",
    "title",
    "seniority",
    "department",
    "work_email",
    "email_status",
    "phone_e164",
    "contact_confidence",
    "last_enriched_at",
    "last_operation_id",
    "last_run_id",
    "record_version",
    "updated_at",
    "company_domain",
]
ACME = {
    "domain": "acme.io",
    "company_name": "Acme",
    "company_linkedin_id": "12345678",
    "source_providers": ["prospeo", "blitzapi"],
    "employee_count": 120,
    "confidence": 0.85,
    "description": 'Makes "anvils",\nrockets',
    "api_key": "sk-not-for-export",
}


async def seed(database: Database, org_id: uuid.UUID, company_id: uuid.UUID) -> None:
    await upsert(database, org_id, "company", ACME, company_id=company_id)
    await upsert(
        database, org_id, "company", {"domain": "acme.io", "industry": "Tools"}, company_id=company_id
    )
    await upsert(database, org_id, "company", {"domain": "globex.com"}, company_id=company_id)
    for email in ("ava@acme.io", "ben@acme.io"):
        await upsert(
            database, org_id, "person", {"email": email, "full_name": email[:3]}, company_id=company_id
        )


def parse_csv(body: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(body))
    return list(reader.fieldnames or []), list(reader)


def parse_jsonl(body: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines()]


async def test_csv_export_follows_the_contract(api: Post, database: Database, tenant: Tenant) -> None:
    await seed(database, tenant.org_id, tenant.company_id)
    outsider = await create_tenant(database, "globex")
    await upsert(database, outsider.org_id, "company", {"domain": "outsider.io"})

    response = await api("export", {"entity_type": "company", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="dx_company_entities_v1.csv"' in response.headers["content-disposition"]
    header, rows = parse_csv(response.text)
    assert header == COMPANY_HEADER
    assert [row["canonical_domain"] for row in rows] == ["acme.io", "globex.com"]  # oldest update first
    acme = rows[0]
    assert acme["export_schema_version"] == "v1" and acme["org_id"] == str(tenant.org_id)
    assert acme["company_id"] == str(tenant.company_id)
    assert acme["linkedin_page_id"] == "12345678" and acme["source_priority"] == "prospeo,blitzapi"
    assert acme["description"] == ACME["description"] and acme["industry"] == "Tools"
    assert (acme["record_version"], acme["employee_count"], acme["enrichment_confidence"]) == (
        "2",
        "120",
        "0.85",
    )
    assert rows[1]["linkedin_url"] == "" and rows[1]["source_priority"] == ""
    assert datetime.fromisoformat(acme["updated_at"]).utcoffset() is not None and "T" in acme["updated_at"]
    assert "sk-not-for-export" not in response.text and "outsider.io" not in response.text


async def test_jsonl_export_of_persons_and_incremental_companies(
    api: Post, database: Database, tenant: Tenant
) -> None:
    await seed(database, tenant.org_id, tenant.company_id)
    response = await api("export", {"entity_type": "person", "format": "jsonl"})
    assert response.headers["content-type"] == "application/x-ndjson"
    people = parse_jsonl(response.text)
    assert [list(person) for person in people] == [PERSON_HEADER, PERSON_HEADER]
    assert [person["work_email"] for person in people] == ["ava@acme.io", "ben@acme.io"]
    assert people[0]["record_version"] == 1 and people[0]["export_schema_version"] == "v1"

    everything = parse_jsonl((await api("export", {"entity_type": "company", "format": "jsonl"})).text)
    assert everything[0]["enrichment_confidence"] == 0.85 and everything[0]["employee_count"] == 120
    since = everything[-1]["updated_at"]
    recent = await api("export", {"entity_type": "company", "format": "jsonl", "updated_since": since})
    assert [row["canonical_domain"] for row in parse_jsonl(recent.text)] == ["globex.com"]
    naive = await api("export", {"entity_type": "company", "updated_since": "2024-01-01T00:00:00"})
    assert naive.status_code == 422


async def test_company_scoped_callers_export_their_company_only(
    api: Post, database: Database, tenant: Tenant
) -> None:
    other_company = await add_company(database, tenant.org_id, "Other client")
    await seed(database, tenant.org_id, other_company)
    await upsert(database, tenant.org_id, "company", {"domain": "ours.io"}, company_id=tenant.company_id)
    member = await add_token(database, tenant.org_id, tenant.company_id, "member")
    _, rows = parse_csv((await api("export", {"entity_type": "company"}, member)).text)
    assert [row["canonical_domain"] for row in rows] == ["ours.io"]
    # Scoping is settled before the stream starts: a refusal is an error response, not a broken file.
    companyless = await add_token(database, tenant.org_id, None, "member")
    refused = await api("export", {"entity_type": "company"}, companyless)
    assert refused.status_code == 403
    assert refused.json() == {"error": "Company-scoped user missing company_id"}


async def test_export_reads_rows_in_chunks(database: Database, tenant: Tenant) -> None:
    count = 2 * CHUNK_ROWS + 500
    async with database.transaction() as session:
        await session.execute(
            insert(CompanyEntity),
            [
                {"org_id": tenant.org_id, "entity_id": uuid.uuid4(), "canonical_domain": f"c{n}.example"}
                for n in range(count)
            ],
        )
    scope = tenant_scope(API_KEY_SUPER_ADMIN, org_id=tenant.org_id)
    dataset = DATASETS["company"]
    statement = export_statement(dataset, scope, None)
    chunks = [chunk async for chunk in export_chunks(database, dataset, statement, "csv")]
    assert len(chunks) == 1 + 3  # the header, then one chunk per CHUNK_ROWS rows
    header, rows = parse_csv(b"".join(chunks).decode())
    assert header == COMPANY_HEADER and len(rows) == count
    assert len({row["entity_id"] for row in rows}) == count


async def test_cli_exports_in_local_mode(
    tmp_path: Path, database: Database, database_url: str, settings: Settings, sandbox: SandboxHandle
) -> None:
    async with database.transaction() as session:
        org, company = await ensure_local_tenant(session)
    await seed(database, org.id, company.id)
    output = tmp_path / "companies.csv"
    env = dex_env(settings, database_url, sandbox.url)

    result = await run_dex("export", "companies", "--format", "csv", "-o", str(output), env=env)
    assert result.returncode == 0, result.stderr
    assert f"to {output}" in result.stdout
    header, rows = parse_csv(output.read_text())
    assert header == COMPANY_HEADER
    assert [row["canonical_domain"] for row in rows] == ["acme.io", "globex.com"]
    assert {row["org_id"] for row in rows} == {str(org.id)}
    assert os.listdir(tmp_path) == [output.name]


async def test_cli_exports_from_a_running_api(
    tmp_path: Path,
    database: Database,
    database_url: str,
    sandbox_settings: Settings,
    providers: ProviderRuntime,
    sandbox: SandboxHandle,
    tenant: Tenant,
) -> None:
    await seed(database, tenant.org_id, tenant.company_id)
    app = create_app(sandbox_settings, database=database, providers=providers, run_executor=False)
    env = dex_env(sandbox_settings, database_url, sandbox.url)
    output = tmp_path / "people.jsonl"
    async with serve_in_background(app) as url:
        remote = ("--api-url", url, "--token")
        result = await run_dex(
            "export", "persons", "-f", "jsonl", "-o", str(output), *remote, tenant.token, env=env
        )
        refused = await run_dex(
            "export", "persons", "-o", str(tmp_path / "no.csv"), *remote, "wrong", env=env
        )
    assert result.returncode == 0, result.stderr
    people = parse_jsonl(output.read_text())
    assert [person["work_email"] for person in people] == ["ava@acme.io", "ben@acme.io"]
    assert refused.returncode == 1
    assert refused.stderr.strip() == "dex: /api/v1/entities/export: Invalid authentication token"
    assert os.listdir(tmp_path) == [output.name]  # nothing half-written is left behind
