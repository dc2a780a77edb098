from __future__ import annotations

from dex.providers import parallel
from dex.providers.base import AdapterResult
from dex.sandbox.world import company_for_domain, staff
from tests.providers.adapter_cases import AdapterCase

COMPANY = company_for_domain("northwind.io")
PERSON = staff(COMPANY)[2]
COMPANY_TASK = {
    "input": {"company_domain": COMPANY.domain},
    "output_schema": {
        "type": "object",
        "properties": {
            "company_name": {"type": ["string", "null"], "description": "The company's name."},
            "employee_range": {"type": ["string", "null"], "description": "Employee count range."},
        },
    },
    "processor": "lite",
}
EMAIL_TASK = {"full_name": PERSON.full_name, "company": COMPANY.domain, "processor": "core"}


def _company_content(result: AdapterResult) -> None:
    assert result.mapped["content"] == {
        "company_name": COMPANY.name,
        "employee_range": COMPANY.employee_range,
    }
    assert result.mapped["run_id"] == result.attempt.extra["run_id"]
    assert {item["field"] for item in result.mapped["basis"]} == {"company_name", "employee_range"}


def _email(result: AdapterResult) -> None:
    assert result.mapped == {"email": PERSON.work_email, "linkedin_url": PERSON.linkedin_url.lower()}


CASES = [
    AdapterCase(parallel.run_task, COMPANY_TASK, not_found_inputs=COMPANY_TASK, check_found=_company_content),
    AdapterCase(parallel.find_email, EMAIL_TASK, not_found_inputs=EMAIL_TASK, check_found=_email),
]
