from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dex.entities.provenance import compact, expand

sources = st.fixed_dictionaries(
    {
        "operation_id": st.sampled_from(
            ["company.enrich.profile", "person.search", "person.contact.resolve_email"]
        ),
        "provider": st.sampled_from(["prospeo", "leadmagic", None]),
        "run_id": st.sampled_from(["9d1c0e51-58a4-4c8a-9d0e-0b7b3f3c2a10", None]),
        "at": st.sampled_from(["2026-12-04T10:00:00+00:00", "2026-12-04T11:00:00+00:00"]),
    }
)


@given(st.dictionaries(st.text(min_size=1, max_size=12), sources, max_size=30))
def test_the_stored_sources_give_back_every_field(by_field: dict[str, dict[str, str | None]]) -> None:
    stored = compact(by_field)
    assert expand(stored) == by_field
    # Each source is stored once, however many fields it set.
    assert len(stored) == len({tuple(source.items()) for source in by_field.values()})


def test_an_entity_without_provenance_has_none() -> None:
    assert compact({}) == [] and expand([]) == {} and expand(None) == {}
