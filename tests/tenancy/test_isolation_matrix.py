"""Callers of org A (every role, every credential kind) aim at org B's resources and at their own org's
sibling company, through every tenant route listed in ``route_policies.ISOLATION_CASES``."""

from __future__ import annotations

import httpx
import pytest

from tests.tenancy.route_policies import ISOLATION_CASES, IsolationCase
from tests.tenancy.world import Target, World


def _denial_problem(response: httpx.Response, target: Target) -> str | None:
    if response.status_code not in (403, 404):
        return f"expected 403/404, got {response.status_code}: {response.text}"
    body = response.json()
    if set(body) != {"error"} or not isinstance(body["error"], str):
        return f"not an error envelope: {body}"
    return _leak_problem(response, target)


def _leak_problem(response: httpx.Response, target: Target, shown: tuple[object, ...] = ()) -> str | None:
    leaked = [str(i) for i in target.leak_ids if i not in shown and str(i) in response.text]
    return f"leaked {leaked}: {response.text}" if leaked else None


def _own_scope_problem(response: httpx.Response, target: Target) -> str | None:
    if 400 <= response.status_code < 500:
        body = response.json()
        if set(body) != {"error"}:
            return f"not an error envelope: {body}"
    elif not 200 <= response.status_code < 300:
        return f"expected 2xx or 4xx, got {response.status_code}: {response.text}"
    return _leak_problem(response, target)


def _check(case: IsolationCase, response: httpx.Response, target: Target, allowed: bool) -> str | None:
    if case.kind == "own_scope":
        return _own_scope_problem(response, target)
    if case.kind == "by_id":
        if allowed:
            ok = response.status_code == case.allowed_status
            return None if ok else f"org-wide access refused: {response.status_code} {response.text}"
        return _denial_problem(response, target)
    if response.status_code == 403:
        return _denial_problem(response, target)
    if response.status_code != 200:
        return f"expected 200 or 403, got {response.status_code}: {response.text}"
    if allowed:
        expected = case.visible_ids(target) if case.visible_ids else target.leak_ids
        visible = any(str(i) in response.text for i in expected)
        if not visible:
            return f"org-wide view misses the sibling company: {response.text}"
        # Only org-wide ids may show; the company-scoped ones of the sibling still must not.
        return _leak_problem(response, target, shown=expected) if case.visible_ids else None
    return _leak_problem(response, target)


async def _global_problems(case: IsolationCase, world: World, client: httpx.AsyncClient) -> list[str]:
    target = world.targets["other_org"]
    outsider = world.bearer(world.b.principals["org_admin"])
    expected = await client.post(case.path, json=case.body(target), headers=outsider)
    assert expected.status_code == 200, expected.text
    problems = []
    for caller in world.callers:
        response = await client.post(case.path, json=case.body(target), headers=caller.headers)
        if (response.status_code, response.json()) != (200, expected.json()):
            problems.append(f"{caller.label}: answer depends on the tenant: {response.text}")
    return problems


def _case_id(case: IsolationCase) -> str:
    return f"{case.path}[{case.kind}{', ' + case.label if case.label else ''}]"


@pytest.mark.parametrize("case", ISOLATION_CASES, ids=_case_id)
async def test_tenant_isolation(case: IsolationCase, world: World, client: httpx.AsyncClient) -> None:
    if case.kind == "global":
        problems = await _global_problems(case, world, client)
    else:
        problems = []
        for caller in world.callers:
            for target in world.targets.values():
                response = await client.post(case.path, json=case.body(target), headers=caller.headers)
                allowed = target.name == "sibling_company" and caller.role in case.sibling_allowed_roles
                problem = _check(case, response, target, allowed)
                if problem:
                    problems.append(f"{caller.label} → {target.name}: {problem}")
    assert not problems, "\n".join(problems)
