"""AmpleLeads emulation: POST ``/v1/linkedin/person/enrich`` with the key in the ``api_key`` query parameter
and ``{"url": <linkedin url>}``.

A person the sandbox does not know is ``{"success": true, "data": {}}``; a request without ``url`` is
``{"success": false, "message": …}``. The profile carries the full work history (the current role and one
earlier one), education, skills and colleagues "also viewed".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.matching import known, text
from dex.sandbox.world import Company, Person, company_for_domain, person_for_linkedin, pick, staff

router = APIRouter(prefix="/ampleleads", tags=["ampleleads"])

PROVIDER = "ampleleads"
EARLIER_EMPLOYERS = ("northwind.io", "globex.com", "initech.com", "umbrella-group.com", "hooli.com")
SCHOOLS = ("University of Toronto", "Stanford University", "TU Berlin", "Sciences Po", "KTH Royal Institute")
DEGREES = (("BSc", "Computer Science"), ("BA", "Economics"), ("MBA", "Business"), ("MSc", "Engineering"))


def _role(company: Company, title: str, start_year: int, end_year: int | None) -> dict[str, Any]:
    return {
        "title": title,
        "company_name": company.name,
        "company_domain": company.domain,
        "company_linkedin_url": company.linkedin_url,
        "location": f"{company.hq_city}, {company.hq_country_code}",
        "start_date": f"{start_year}-01",
        "end_date": f"{end_year}-12" if end_year else None,
        "is_current": end_year is None,
    }


def _profile(person: Person) -> dict[str, Any]:
    joined = 2015 + len(person.last_name) % 8
    earlier = company_for_domain(pick(EARLIER_EMPLOYERS, "ampleleads-earlier", person.person_id))
    degree, field = pick(DEGREES, "ampleleads-degree", person.person_id)
    colleagues = [other for other in staff(person.company) if other.person_id != person.person_id][:3]
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "full_name": person.full_name,
        "linkedin_url": person.linkedin_url,
        "headline": f"{person.title} at {person.company.name}",
        "location": person.location,
        "contact_details": {"email": person.work_email, "mobile": person.mobile_phone},
        "experience": [
            _role(person.company, person.title, joined, None),
            _role(earlier, f"{person.department} Associate", joined - 4, joined - 1),
        ],
        "skills": [person.department, person.company.industry, "Leadership"],
        "education": [
            {
                "school": pick(SCHOOLS, "ampleleads-school", person.person_id),
                "degree": degree,
                "field_of_study": field,
                "start_year": joined - 8,
                "end_year": joined - 5,
            }
        ],
        "recommendations": [],
        "people_also_viewed": [
            {
                "full_name": other.full_name,
                "headline": f"{other.title} at {other.company.name}",
                "linkedin_url": other.linkedin_url,
            }
            for other in colleagues
        ],
    }


@router.post("/v1/linkedin/person/enrich")
async def enrich_person(request: Request, api_key: str = "", payload: dict[str, Any] = Body(default={})):
    def answer() -> JSONResponse | dict[str, Any]:
        url = text(payload, "url")
        if url is None:
            return JSONResponse({"success": False, "message": "url is required"}, 400)
        person = person_for_linkedin(url)
        if person is None or not known(request, PROVIDER, person.person_id):
            return {"success": True, "data": {}}
        return {"success": True, "data": _profile(person)}

    return await sandbox_state(request).handle(
        request, PROVIDER, "enrich_person", authorized=api_key == sandbox_credential(PROVIDER), answer=answer
    )
