from __future__ import annotations

from dex.providers import ampleleads
from dex.providers.base import AdapterResult
from dex.sandbox.world import company_for_domain, staff
from tests.providers.adapter_cases import AdapterCase

PERSON = staff(company_for_domain("northwind.io"))[3]
LOOKUP = {"linkedin_url": PERSON.linkedin_url}


def _full_profile(result: AdapterResult) -> None:
    profile = result.mapped
    assert (profile["full_name"], profile["email"]) == (PERSON.full_name, PERSON.work_email)
    assert profile["mobile_phone"] == PERSON.mobile_phone
    assert [job["is_current"] for job in profile["work_history"]] == [True, False]
    assert profile["education"] and profile["skills"] and profile["people_also_viewed"]
    assert profile["source_provider"] == "ampleleads"


CASES = [AdapterCase(ampleleads.enrich_person, LOOKUP, not_found_inputs=LOOKUP, check_found=_full_profile)]
