from __future__ import annotations

from dex.providers import icypeas
from dex.providers.base import AdapterResult
from dex.sandbox.world import company_for_domain, staff
from tests.providers.adapter_cases import AdapterCase

PERSON = staff(company_for_domain("northwind.io"))[1]
# Short polling: the sandbox's searches finish within tens of milliseconds.
SEARCH = {
    "first_name": PERSON.first_name,
    "last_name": PERSON.last_name,
    "domain_or_company": "northwind.io",
    "poll_interval_ms": 10,
    "max_wait_ms": 2000,
}


def _found_the_address(result: AdapterResult) -> None:
    assert result.mapped["email"] == PERSON.work_email
    assert result.attempt.extra["search_id"]


CASES = [AdapterCase(icypeas.find_email, SEARCH, not_found_inputs=SEARCH, check_found=_found_the_address)]
