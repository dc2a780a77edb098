"""Enigma emulation: ``POST /graphql`` with ``x-api-key``.

It understands the two operations dex sends — ``SearchBrand`` (brand match by name/website) and
``GetBrandAnalytics`` (aliased ``cardTransactions`` connections whose conditions come in variables) — the
way a GraphQL server would: answers keyed by the query's aliases, and request problems reported as an
``errors`` list under HTTP 200.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dex.sandbox import market
from dex.sandbox.app import sandbox_state
from dex.sandbox.credentials import sandbox_credential
from dex.sandbox.world import company_for_domain, known_to, normalize_domain

PROVIDER = "enigma"
router = APIRouter(prefix=f"/{PROVIDER}", tags=[PROVIDER])

OPERATION = re.compile(r"\bquery\s+(\w+)")
CONNECTION = re.compile(
    r"(\w+)\s*:\s*cardTransactions\(\s*first:\s*(\$\w+|\d+)\s*,\s*conditions:\s*\$(\w+)\s*\)"
)


def _errors(message: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}


def _text(mapping: dict[str, Any], key: str) -> str:
    value = mapping.get(key)
    return value.strip() if isinstance(value, str) else ""


def _search_brand(search_input: dict[str, Any], known: bool) -> dict[str, Any]:
    website, name = normalize_domain(_text(search_input, "website")), _text(search_input, "name")
    if not (website or name):
        return _errors("searchInput needs a name or a website")
    company = company_for_domain(website or name) if website or "." in name else market.company_for_name(name)
    if not known:
        return {"data": {"search": []}}
    brand = {
        "id": market.brand_id(company.domain),
        "enigmaId": f"E{market.brand_id(company.domain).replace('-', '')[:12].upper()}",
        "names": {"edges": [{"node": {"name": company.name}}]},
        "count": market.location_count(company.domain),
    }
    return {"data": {"search": [brand]}}


def _condition(conditions: Any, field: str) -> str:
    """The value an ``{filter: {AND: [{EQ: [field, value]}…]}}`` condition requires of ``field``."""
    clauses = ((conditions or {}).get("filter") or {}).get("AND") if isinstance(conditions, dict) else None
    for clause in clauses if isinstance(clauses, list) else []:
        pair = clause.get("EQ") if isinstance(clause, dict) else None
        if isinstance(pair, list) and len(pair) == 2 and pair[0] == field:
            return str(pair[1])
    return ""


def _brand_analytics(query: str, variables: dict[str, Any], known: bool) -> dict[str, Any]:
    brand = _text(variables.get("searchInput") or {}, "id")
    if not brand:
        return _errors('Variable "$searchInput" must name a brand id')
    if not known:
        return {"data": {"search": []}}
    answer: dict[str, Any] = {"id": brand}
    for alias, first, conditions_variable in CONNECTION.findall(query):
        count = variables.get(first[1:]) if first.startswith("$") else int(first)
        if not isinstance(count, int) or conditions_variable not in variables:
            return _errors(f'Variable "${conditions_variable}" or "{first}" was not provided')
        conditions = variables[conditions_variable]
        period, quantity_type = _condition(conditions, "period"), _condition(conditions, "quantityType")
        # The latest complete month first, like Enigma's connections.
        answer[alias] = {
            "pageInfo": {"hasNextPage": False},
            "edges": [
                {
                    "node": {
                        "projectedQuantity": market.card_quantity(brand, quantity_type, period, months_ago),
                        "periodStartDate": market.month_start(months_ago).isoformat(),
                        "quantityType": quantity_type,
                        "period": period,
                    },
                    "cursor": str(months_ago),
                }
                for months_ago in range(1, count + 1)
            ],
        }
    return {"data": {"search": [answer]}}


@router.post("/graphql")
async def graphql(request: Request) -> Response:
    async def answer() -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return _errors("Request body is not JSON")
        body = body if isinstance(body, dict) else {}
        query = _text(body, "query")
        variables = body.get("variables")
        variables = variables if isinstance(variables, dict) else {}
        search_input = variables.get("searchInput")
        search_input = search_input if isinstance(search_input, dict) else {}
        key = (
            _text(search_input, "id")
            or normalize_domain(_text(search_input, "website"))
            or _text(search_input, "name").lower()
        )
        known = known_to(PROVIDER, key, sandbox_state(request).hit_rate(PROVIDER))
        operation = OPERATION.search(query)
        if operation and operation.group(1) == "SearchBrand":
            return _search_brand(search_input, known)
        if operation and operation.group(1) == "GetBrandAnalytics":
            return _brand_analytics(query, variables, known)
        if query.replace(" ", "") == "{__typename}":
            # The smallest query a GraphQL server answers (dex checks a key with it): nothing is read.
            return {"data": {"__typename": "Query"}}
        return _errors("Unknown or missing operation")

    return await sandbox_state(request).handle(
        request,
        PROVIDER,
        "graphql",
        authorized=request.headers.get("x-api-key", "") == sandbox_credential(PROVIDER),
        answer=answer,
    )
