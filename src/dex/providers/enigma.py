"""Enigma — POST ``/graphql`` with ``x-api-key``.

A GraphQL answer with a non-empty ``errors`` list is a failed attempt even under HTTP 200; an empty
``data.search`` is not found. Card revenue takes two calls: match the brand, then read its card-transaction
analytics — twelve aliased ``cardTransactions`` connections, a monthly series and an annual figure for each
of six quantity types (:data:`CARD_METRICS`).
"""

from __future__ import annotations

from typing import Any

from dex.normalize import clean_text
from dex.providers.accounts import AccountProbe, ProbeRequest
from dex.providers.base import AdapterResult, ProviderCall, ProviderResponse, adapter

PROVIDER = "enigma"
MAX_MONTHS_BACK = 24

MATCH_QUERY = """
query SearchBrand($searchInput: SearchInput!) {
  search(searchInput: $searchInput) {
    ... on Brand {
      id
      enigmaId
      names(first: 1) { edges { node { name } } }
      count(field: "operatingLocations")
    }
  }
}
"""

# (Enigma quantity type, output key of its annual figure, output key of its monthly series)
CARD_METRICS = (
    ("card_revenue_amount", "annual_card_revenue", "monthly_revenue"),
    ("card_revenue_yoy_growth", "annual_card_revenue_yoy_growth", "monthly_revenue_growth"),
    ("card_customers_average_daily_count", "annual_avg_daily_customers", "monthly_avg_daily_customers"),
    ("card_transactions_count", "annual_transaction_count", "monthly_transactions"),
    ("average_transaction_size", "annual_avg_transaction_size", "monthly_avg_transaction_size"),
    ("refunds_amount", "annual_refunds", "monthly_refunds"),
)
NODE_FIELDS = "edges { node { projectedQuantity periodStartDate } }"


def _analytics_query() -> str:
    """One aliased connection per figure; each alias is also the name of the variable with its conditions."""
    aliases = [(annual, "1") for _, annual, _ in CARD_METRICS] + [
        (monthly, "$monthsBack") for _, _, monthly in CARD_METRICS
    ]
    declarations = "".join(f", ${alias}: ConnectionConditions!" for alias, _ in aliases)
    connections = "\n".join(
        f"      {alias}: cardTransactions(first: {first}, conditions: ${alias}) {{ {NODE_FIELDS} }}"
        for alias, first in aliases
    )
    return (
        f"query GetBrandAnalytics($searchInput: SearchInput!, $monthsBack: Int!{declarations}) {{\n"
        "  search(searchInput: $searchInput) {\n"
        "    ... on Brand {\n"
        f"      id\n{connections}\n"
        "    }\n  }\n}\n"
    )


ANALYTICS_QUERY = _analytics_query()


def _conditions(period: str, quantity_type: str) -> dict[str, Any]:
    return {"filter": {"AND": [{"EQ": ["period", period]}, {"EQ": ["quantityType", quantity_type]}]}}


def _analytics_variables(brand_id: str, months_back: int) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "searchInput": {"entityType": "BRAND", "id": brand_id},
        "monthsBack": months_back,
    }
    for quantity_type, annual, monthly in CARD_METRICS:
        variables[annual] = _conditions("12m", quantity_type)
        variables[monthly] = _conditions("1m", quantity_type)
    return variables


async def _query(call: ProviderCall, query: str, variables: dict[str, Any]) -> tuple[ProviderResponse, Any]:
    response = await call.request(
        "POST",
        "/graphql",
        headers={"x-api-key": call.key},
        json_body={"query": query, "variables": variables},
    )
    return response, response.json_body.get("errors")


def _graphql_failure(call: ProviderCall, response: ProviderResponse, errors: Any) -> AdapterResult | None:
    if not response.ok:
        return call.failed_response(response)
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        message = clean_text(first.get("message")) or "graphql_error"
        return call.result("failed", response, provider_status=message, error=message)
    return None


def _first_brand(response: ProviderResponse) -> dict[str, Any] | None:
    data = response.json_body.get("data")
    search = data.get("search") if isinstance(data, dict) else None
    brand = search[0] if isinstance(search, list) and search else None
    return brand if isinstance(brand, dict) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _nodes(connection: Any) -> list[dict[str, Any]]:
    """The nodes of a Relay connection (``{edges: [{node: …}]}``)."""
    edges = connection.get("edges") if isinstance(connection, dict) else None
    nodes = [edge.get("node") for edge in edges if isinstance(edge, dict)] if isinstance(edges, list) else []
    return [node for node in nodes if isinstance(node, dict)]


def _series(connection: Any) -> list[dict[str, Any]]:
    return [
        {"period_start": clean_text(node.get("periodStartDate")), "value": _number(node["projectedQuantity"])}
        for node in _nodes(connection)
        if _number(node.get("projectedQuantity")) is not None
    ]


@adapter(PROVIDER, "match_business")
async def match_business(
    call: ProviderCall, *, company_name: str | None = None, company_domain: str | None = None
) -> AdapterResult:
    """The Enigma brand of a company, by name (or domain when there is no name) and website."""
    search_input: dict[str, Any] = {"entityType": "BRAND", "name": company_name or company_domain}
    if company_domain:
        search_input["website"] = company_domain
    response, errors = await _query(call, MATCH_QUERY, {"searchInput": search_input})
    failure = _graphql_failure(call, response, errors)
    if failure:
        return failure
    brand = _first_brand(response) or {}
    brand_id = clean_text(brand.get("id")) or clean_text(brand.get("enigmaId"))
    if brand_id is None:
        return call.result("not_found", response)
    count = brand.get("count")
    mapped = {
        "enigma_brand_id": brand_id,
        "brand_name": next((clean_text(node.get("name")) for node in _nodes(brand.get("names"))), None),
        "location_count": count if isinstance(count, int) and not isinstance(count, bool) else None,
    }
    return call.result("found", response, mapped=mapped)


@adapter(PROVIDER, "get_card_analytics")
async def get_card_analytics(call: ProviderCall, *, brand_id: str, months_back: int = 12) -> AdapterResult:
    """A brand's card revenue, customers, transactions and refunds: the latest annual figure of each and
    ``months_back`` (1–24) months of monthly figures."""
    months_back = max(1, min(MAX_MONTHS_BACK, months_back))
    response, errors = await _query(call, ANALYTICS_QUERY, _analytics_variables(brand_id, months_back))
    failure = _graphql_failure(call, response, errors)
    if failure:
        return failure
    brand = _first_brand(response)
    if brand is None:
        return call.result("not_found", response)
    mapped: dict[str, Any] = {}
    for _, annual, monthly in CARD_METRICS:
        latest = _series(brand.get(annual))
        mapped[annual] = latest[0]["value"] if latest else None
        mapped[monthly] = _series(brand.get(monthly))
    return call.result("found", response, mapped=mapped)


# A GraphQL query of the schema's root type name reads no data and is not billed.
ACCOUNT_PROBE = AccountProbe(
    "POST",
    "/graphql",
    lambda credentials: ProbeRequest(
        headers={"x-api-key": credentials[0]}, json_body={"query": "{ __typename }"}
    ),
)
