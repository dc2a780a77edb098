from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dex.entities.provenance import expand, record

fields = st.text(min_size=1, max_size=12)
origins = st.tuples(
    st.sampled_from(["company.enrich.profile", "person.search", "person.email"]),
    st.sampled_from(["prospeo", "leadmagic", None]),
)
runs = st.sampled_from(["9d1c0e51-58a4-4c8a-9d0e-0b7b3f3c2a10", "5f0b1c7e-2d8a-4f4e-8f38-6c1d2b7a9e01", None])
stamps = st.sampled_from(["2026-12-04T10:00:00+00:00", "2026-12-04T11:00:00+00:00"])
writes = st.lists(st.tuples(st.dictionaries(fields, origins, max_size=20), runs, stamps), max_size=5)


@given(writes)
def test_each_field_names_the_write_that_set_it_last(
    history: list[tuple[dict[str, tuple[str, str | None]], str | None, str]],
) -> None:
    stored: list[dict[str, object]] = []
    expected: dict[str, dict[str, object]] = {}
    for changes, run_id, at in history:
        stored = record(stored, changes, run_id=run_id, at=at)
        for field, (operation_id, provider) in changes.items():
            expected[field] = {"operation_id": operation_id, "provider": provider, "run_id": run_id, "at": at}
    assert expand(stored) == expected
    # Each source is stored once, with at least one field, however many fields it set.
    keys = [(s["operation_id"], s["provider"], s["run_id"], s["at"]) for s in stored]
    assert len(keys) == len(set(keys)) and all(source["fields"] for source in stored)


def test_an_entity_without_provenance_has_none() -> None:
    assert record(None, {}, run_id=None, at="2026-12-04T10:00:00+00:00") == []
    assert expand([]) == {} and expand(None) == {}
