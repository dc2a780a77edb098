"""The registry is the executor: every operation dex can run is declared, and every declaration holds."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from dex.operations.registry import OperationSpec, registry
from dex.providers.catalog import PROVIDERS

# Every operation named in seed 002 (the system overview) — all required.
SEED_OPERATIONS = {
    "company.enrich.profile",
    "company.enrich.technographics",
    "company.enrich.ecommerce",
    "company.enrich.card_revenue",
    "company.search",
    "company.search.ecommerce",
    "company.research.resolve_g2_url",
    "company.research.resolve_pricing_page_url",
    "company.research.discover_competitors",
    "company.research.find_similar_companies",
    "company.research.lookup_customers",
    "company.research.lookup_champions",
    "company.research.lookup_champion_testimonials",
    "company.research.lookup_alumni",
    "company.research.check_vc_funding",
    "company.derive.pricing_intelligence",
    "company.ads.search.linkedin",
    "company.ads.search.meta",
    "company.ads.search.google",
    "person.search",
    "person.enrich.profile",
    "person.contact.resolve_email",
    "person.contact.verify_email",
    "person.contact.resolve_mobile_phone",
}
# The rest of the reference system's 53 operations (its SUPPORTED_OPERATION_IDS).
REFERENCE_OPERATIONS = SEED_OPERATIONS | {
    "person.derive.detect_changes",
    "company.derive.detect_changes",
    "company.enrich.fmcsa",
    "company.search.fmcsa",
    "company.enrich.tech_stack",
    "company.enrich.hiring_signals",
    "company.search.by_tech_stack",
    "company.search.by_job_postings",
    "job.search",
    "company.research.check_court_filings",
    "company.research.get_docket_detail",
    "company.signal.bankruptcy_filings",
    "company.research.fetch_sec_filings",
    "company.analyze.sec_10k",
    "company.analyze.sec_10q",
    "company.analyze.sec_8k_executive",
    "permit.search",
    "contractor.enrich",
    "contractor.search",
    "contractor.search.employees",
    "market.search.cities",
    "market.search.counties",
    "market.search.zipcodes",
    "market.search.jurisdictions",
    "market.enrich.metrics_monthly",
    "market.enrich.metrics_current",
    "market.enrich.geo_detail",
    "address.search",
    "address.search.residents",
}
SPECS = list(registry().values())


def contract_fields(model: type[BaseModel]) -> set[str]:
    """A contract's top-level fields plus the fields of the objects its lists hold."""
    fields = set(model.model_fields)
    for field in model.model_fields.values():
        for arg in typing.get_args(field.annotation) or (field.annotation,):
            for inner in typing.get_args(arg) or (arg,):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    fields |= set(inner.model_fields)
    return fields


def test_every_seed_operation_is_registered() -> None:
    assert SEED_OPERATIONS - set(registry()) == set()


def test_every_reference_operation_is_registered() -> None:
    assert len(REFERENCE_OPERATIONS) == 53
    assert REFERENCE_OPERATIONS - set(registry()) == set()


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.operation_id)
def test_declaration_matches_the_implementation(spec: OperationSpec) -> None:
    assert callable(spec.handler)
    assert issubclass(spec.output_contract, BaseModel)
    # person.* and company.* name their entity type; the others (jobs, permits, contractors, markets,
    # addresses) run on company entities.
    family = spec.operation_id.split(".")[0]
    assert spec.entity_type == (family if family in ("company", "person") else "company")
    assert set(spec.providers) <= set(PROVIDERS), "every provider has a catalog entry"
    assert spec.requirements.all_of or spec.requirements.any_of, "an operation needs some input"
    produced = contract_fields(spec.output_contract)
    assert set(spec.produces) <= produced, f"declared but never produced: {set(spec.produces) - produced}"
    if spec.fan_out is not None:
        assert spec.fan_out.list_key in spec.output_contract.model_fields
        assert spec.fan_out.list_key in spec.produces
    if spec.order_setting is not None:
        from dex.config import Settings

        assert spec.order_setting in Settings.model_fields


def test_registry_entries_describe_themselves() -> None:
    for spec in SPECS:
        described = spec.describe()
        assert described["operation_id"] == spec.operation_id
        assert described["supports_fan_out"] is (spec.fan_out is not None)
