"""CSV ingestion: per-row checks against the blueprint, duplicates, and ``POST /api/v1/batch/submit-csv`` /
``rejections`` end to end (a bad row never sinks the good ones)."""

from __future__ import annotations

import csv
import io
import uuid

from dex.pipeline.ingest import check_rows
from dex.pipeline.plan import Plan
from dex.pipeline.spreadsheet import parse_csv
from tests.conftest import PipelineHarness

VERIFY = [{"position": 1, "operation_id": "person.contact.verify_email"}]
PROFILE = [{"position": 1, "operation_id": "company.enrich.profile"}]


def _plan(steps: list[dict]) -> Plan:
    return Plan.from_snapshot(uuid.uuid4(), {"steps": steps})


def test_rows_are_checked_against_the_first_step_and_duplicates_collapsed() -> None:
    parsed = parse_csv(
        b"email,linkedin\n"
        b"ava@acme.io,\n"
        b"not-an-email,\n"
        b",https://linkedin.com/in/ben\n"
        b"AVA@acme.io,\n"
        b"cara@acme.io,https://example.com/cara\n"
    )
    check_rows(parsed, "person", _plan(VERIFY))
    assert parsed.entities == [{"email": "ava@acme.io"}]
    assert [(row.row_number, row.reason) for row in parsed.rejected] == [
        (3, "invalid email 'not-an-email'"),
        (4, "missing input for person.contact.verify_email (step 1): email"),
        (5, "duplicate of row 2 (same email ava@acme.io)"),
        (6, "invalid linkedin_url 'https://example.com/cara' (not a LinkedIn URL)"),
    ]
    assert parsed.duplicates == 1


def test_a_row_skipping_the_first_step_is_checked_against_the_step_it_runs() -> None:
    conditional = [
        {
            "position": 1,
            "operation_id": "person.contact.verify_email",
            "step_config": {"condition": {"field": "email", "op": "exists"}},
        },
        {"position": 2, "operation_id": "company.enrich.profile"},
    ]
    parsed = parse_csv(b"email,domain\n,acme.io\n,\nava@acme.io,\n")
    check_rows(parsed, "company", _plan(conditional))
    assert parsed.entities == [{"domain": "acme.io"}, {"email": "ava@acme.io"}]


async def test_submit_csv_as_a_form_reports_rejections_and_runs_the_rest(pipeline: PipelineHarness) -> None:
    blueprint = await pipeline.blueprint("verify", VERIFY, entity_type="person")
    data = (
        "\ufeffE-mail Address;Full Name\nava@acme.io;Ava\nbroken;Bob\nava@acme.io;Ava again\nben@acme.io;Ben"
    )
    response = await pipeline.client.post(
        "/api/v1/batch/submit-csv",
        files={"file": ("people.csv", data.encode(), "text/csv")},
        data={
            "blueprint_id": blueprint,
            "company_id": str(pipeline.tenant.company_id),
            "column_map": '{"E-mail Address": "email"}',
        },
        headers=pipeline.tenant.headers,
    )
    assert response.status_code == 200, response.text
    submitted = response.json()["data"]
    assert (submitted["accepted"], submitted["duplicates"], submitted["rejected_count"]) == (2, 1, 2)
    assert submitted["rejected"] == [
        {"row_number": 3, "reason": "invalid email 'broken'"},
        {"row_number": 4, "reason": "duplicate of row 2 (same email ava@acme.io)"},
    ]
    assert submitted["columns"] == {"E-mail Address": "email", "Full Name": "full_name"}
    await pipeline.run_until_idle()
    status = await pipeline.status(submitted["submission_id"])
    assert status["submission"]["status"] == "completed" and status["summary"]["total"] == 2
    assert status["submission"]["source"] == "csv" and status["submission"]["metadata"] == {
        "filename": "people.csv"
    }

    report = await pipeline.post("/api/v1/batch/rejections", {"submission_id": submitted["submission_id"]})
    assert report.json()["data"]["ingest_report"]["rejected"] == submitted["rejected"]
    download = await pipeline.post(
        "/api/v1/batch/rejections", {"submission_id": submitted["submission_id"], "format": "csv"}
    )
    assert download.headers["content-type"].startswith("text/csv")
    document = (await pipeline.client.get("/openapi.json")).json()
    assert "text/csv" in document["paths"]["/api/v1/batch/rejections"]["post"]["responses"]["200"]["content"]
    assert "attachment" in download.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(download.text))) == [
        ["row_number", "reason"],
        ["3", "invalid email 'broken'"],
        ["4", "duplicate of row 2 (same email ava@acme.io)"],
    ]


async def test_submit_csv_as_json_idempotency_and_unusable_files(pipeline: PipelineHarness) -> None:
    await pipeline.executor.stop()
    blueprint = await pipeline.blueprint("profiles", PROFILE)
    body = {
        "blueprint_id": blueprint,
        "company_id": str(pipeline.tenant.company_id),
        "csv": "domain\nacme.io\n",
    }
    first = await pipeline.post("/api/v1/batch/submit-csv", body, headers={"Idempotency-Key": "csv-1"})
    again = await pipeline.post("/api/v1/batch/submit-csv", body, headers={"Idempotency-Key": "csv-1"})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["data"]["submission_id"] == again.json()["data"]["submission_id"]

    nothing = await pipeline.post(
        "/api/v1/batch/submit-csv", {**body, "csv": "domain,name\nnot a domain,x\n"}
    )
    assert nothing.status_code == 400
    assert nothing.json()["error"] == "no row can be submitted (row 2: invalid domain 'not a domain')"
    empty = await pipeline.post("/api/v1/batch/submit-csv", {**body, "csv": ""})
    assert empty.json()["error"] == "no row can be submitted (row 1: the file has no header row)"
    assert (await pipeline.post("/api/v1/batch/submit-csv", {"blueprint_id": blueprint})).status_code == 422
    form_without_file = await pipeline.client.post(
        "/api/v1/batch/submit-csv",
        files={"other": ("x.csv", b"domain\na.io\n")},
        data={"blueprint_id": blueprint},
        headers=pipeline.tenant.headers,
    )
    assert form_without_file.status_code == 400

    plain = await pipeline.submit(blueprint, [{"domain": "globex.com"}])
    report = await pipeline.post("/api/v1/batch/rejections", {"submission_id": plain})
    assert report.json()["data"] == {"submission_id": plain, "ingest_report": None}
