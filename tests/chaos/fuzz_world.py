"""The data the API fuzz runs against: two orgs built through the API as an operator would — companies,
users with passwords and API tokens, a blueprint, a batch run to completion on the sandbox (so runs, steps
and entities exist), a webhook endpoint and a budget — and the ids and names of each org, which the fuzz
puts into requests and looks for in answers."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

BLUEPRINT_STEPS = [
    {"position": 1, "operation_id": "company.enrich.profile"},
    {"position": 2, "operation_id": "person.search", "fan_out": True, "step_config": {"max_results": 2}},
]
PASSWORD = "fuzz world password"


@dataclass
class SeededOrg:
    """One org's resources: ``ids`` by the request field that names them, ``names`` that identify it."""

    slug: str
    org_id: str = ""
    admin_token: str = ""
    # The org admin's own user and token: never put into requests (revoking them would end the fuzz).
    admin_user_id: str = ""
    admin_token_id: str = ""
    ids: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    names: list[str] = field(default_factory=list)

    @property
    def every_id(self) -> list[str]:
        return sorted({value for values in self.ids.values() for value in values})

    @property
    def markers(self) -> list[str]:
        """What must never show in another org's answers: every id and identifying name."""
        return [*self.every_id, self.admin_user_id, self.admin_token_id, self.org_id, *self.names]


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.request.url, response.text)
    return response.json()["data"]


def seed_org(http: httpx.Client, operator: dict[str, str], label: str) -> SeededOrg:
    slug = f"fuzz{label}{uuid.uuid4().hex[:8]}"
    org = SeededOrg(slug)

    def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        return _ok(http.post(path, json=body, headers=headers))

    created = post("/api/super-admin/orgs/create", {"name": f"{slug} Holdings", "slug": slug}, operator)
    org.org_id = created["id"]
    org.ids["org_id"].append(org.org_id)
    org.names += [slug, f"{slug} Holdings"]
    companies = [
        post(
            "/api/super-admin/companies/create",
            {"org_id": org.org_id, "name": f"{slug} client {n}"},
            operator,
        )
        for n in (1, 2)
    ]
    org.ids["company_id"] += [company["id"] for company in companies]
    org.names += [company["name"] for company in companies]

    admin = post(
        "/api/super-admin/users/create",
        {"org_id": org.org_id, "email": f"admin@{slug}.test", "password": PASSWORD, "role": "org_admin"},
        operator,
    )
    member = post(
        "/api/super-admin/users/create",
        {
            "org_id": org.org_id,
            "company_id": companies[0]["id"],
            "email": f"member@{slug}.test",
            "password": PASSWORD,
            "role": "member",
        },
        operator,
    )
    org.admin_user_id = admin["id"]
    org.ids["user_id"].append(member["id"])
    org.names += [admin["email"], member["email"]]
    admin_token = post(
        "/api/super-admin/api-tokens/create", {"user_id": admin["id"], "name": "fuzz"}, operator
    )
    member_token = post(
        "/api/super-admin/api-tokens/create", {"user_id": member["id"], "name": "fuzz"}, operator
    )
    org.admin_token, org.admin_token_id = admin_token["token"], admin_token["id"]
    org.ids["token_id"].append(member_token["id"])
    org.names += [admin_token["token"], member_token["token"]]
    tenant = {"Authorization": f"Bearer {org.admin_token}"}

    blueprint = post("/api/blueprints/create", {"name": f"{slug} people", "steps": BLUEPRINT_STEPS}, tenant)
    org.ids["blueprint_id"].append(blueprint["id"])
    org.names.append(blueprint["name"])
    domains = [f"{slug}-{n}.io" for n in ("alpha", "beta")]
    org.names += domains
    submitted = post(
        "/api/v1/batch/submit",
        {
            "blueprint_id": blueprint["id"],
            "company_id": companies[0]["id"],
            "entities": [{"entity_type": "company", "input": {"domain": domain}} for domain in domains],
        },
        tenant,
    )
    org.ids["submission_id"].append(submitted["submission_id"])
    status = wait_until_done(http, tenant, submitted["submission_id"])
    for root in status["runs"]:
        for run in [root, *root["children"]]:
            org.ids["pipeline_run_id"].append(run["pipeline_run_id"])
    entities = post("/api/v1/entities/companies", {}, tenant)["items"]
    entities += post("/api/v1/entities/persons", {}, tenant)["items"]
    org.ids["entity_id"] += [entity["entity_id"] for entity in entities]

    endpoint = post(
        "/api/v1/webhooks/create", {"url": f"https://93.184.216.34/{slug}", "events": ["run.failed"]}, tenant
    )
    org.ids["endpoint_id"].append(endpoint["id"])
    org.names.append(endpoint["secret"])
    post("/api/v1/budgets/set", {"budget_credits": 100000}, tenant)
    return org


def wait_until_done(http: httpx.Client, headers: dict[str, str], submission_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        status = _ok(
            http.post("/api/v1/batch/status", json={"submission_id": submission_id}, headers=headers)
        )
        if status["submission"]["status"] in ("completed", "failed"):
            assert status["submission"]["status"] == "completed", status["summary"]
            return status
        assert time.monotonic() < deadline, (
            f"submission {submission_id} still {status['submission']['status']}"
        )
        time.sleep(0.2)
