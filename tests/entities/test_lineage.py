"""A context's lineage is stored grouped by source and read back field by field."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from dex.entities.repository import LINEAGE_KEY, attributed, field_sources, lineage_of
from dex.pipeline.runner import merge_context

operation_ids = st.sampled_from(["company.enrich.profile", "person.search", "person.contact.resolve_email"])
providers = st.one_of(st.none(), st.sampled_from(["prospeo", "leadmagic", "blitzapi"]))
sources = st.builds(lambda op, provider: {"operation_id": op, "provider": provider}, operation_ids, providers)
fields = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)


def stored(lineage: dict) -> dict:
    """The stored (grouped) form of a field → source lineage, as merges build it."""
    groups: dict = {}
    for field, source in lineage.items():
        groups = attributed(groups, [field], source)
    return groups


@given(st.dictionaries(fields, sources, max_size=30))
def test_grouping_loses_nothing(lineage: dict) -> None:
    assert lineage_of({LINEAGE_KEY: stored(lineage)}) == lineage


@given(
    st.dictionaries(fields, sources, max_size=10),
    st.dictionaries(fields, st.integers(), max_size=10),
    sources,
)
def test_a_merge_attributes_each_new_value_to_its_source_and_keeps_the_rest(
    before: dict, output: dict, source: dict
) -> None:
    context = {field: 0 for field in before} | {LINEAGE_KEY: stored(before)}
    before_merge = copy.deepcopy(context[LINEAGE_KEY])
    merged = lineage_of(merge_context(context, output, source))
    assert context[LINEAGE_KEY] == before_merge  # the groups a merge leaves alone are shared, never changed
    for field, value in output.items():
        expected = source if value != 0 or field not in before else before[field]
        assert merged[field] == expected
    for field in before.keys() - output.keys():
        assert merged[field] == before[field]


def test_contexts_stored_field_by_field_still_read() -> None:
    """Contexts written before the lineage was grouped hold one source per field."""
    source = {"operation_id": "company.enrich.profile", "provider": "prospeo"}
    context = {"company_name": "Acme", LINEAGE_KEY: {"company_name": source}}
    assert lineage_of(context) == {"company_name": source}
    assert field_sources("company", context)["company_name"] == source
