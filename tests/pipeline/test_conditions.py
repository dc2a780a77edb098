"""The condition evaluator, case by case (reference §7) and by properties over generated contexts."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dex.pipeline.conditions import evaluate

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
contexts = st.dictionaries(st.text(max_size=6), json_values, max_size=5)
conditions = st.recursive(
    st.none()
    | json_values
    | st.fixed_dictionaries({"field": st.text(max_size=6), "op": st.text(max_size=6)}),
    lambda children: (
        st.fixed_dictionaries({"all": st.lists(children, max_size=3)})
        | st.fixed_dictionaries({"any": st.lists(children, max_size=3)})
    ),
    max_leaves=6,
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (None, True),
        ({}, True),
        ([], False),
        ("field", False),
        (3, False),
        ({"exists": "email"}, False),  # shorthand forms came later; unknown shapes are false
        ({"all": []}, True),
        ({"any": []}, False),
        ({"all": "x"}, False),
        ({"any": 1}, False),
        ({"all": ["x"]}, True),  # non-object children count as "no condition"
        ({"any": ["x"]}, True),
        ({"all": [{"field": "missing", "op": "exists"}], "any": [{}]}, False),  # all wins over any
        ({"field": 1, "op": "exists"}, False),
        ({"field": "email", "op": 2}, False),
        ({"field": "email", "op": "unknown"}, False),
    ],
)
def test_shapes(condition: object, expected: bool) -> None:
    assert evaluate(condition, {"email": "a@b.io"}) is expected


CONTEXT = {
    "email": "a@b.io",
    "blank": "   ",
    "none": None,
    "zero": 0,
    "false": False,
    "empty_list": [],
    "empty_obj": {},
    "count": 120,
    "count_text": " 12 ",
    "sci": "1e3",
    "hex": "0x10",
    "tags": ["saas", "b2b"],
    "company": {"profile": {"industry": "Software", "size": 50}},
    "results": [{"name": "x"}],
    "name": "Acme Corp",
}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("email", "exists", None, True),
        ("blank", "exists", None, False),
        ("none", "exists", None, False),
        ("missing", "exists", None, False),
        ("empty_list", "exists", None, False),
        ("zero", "exists", None, True),
        ("false", "exists", None, True),
        ("empty_obj", "exists", None, True),
        ("count", "eq", 120, True),
        ("count", "eq", "120", False),
        ("count", "eq", 120.0, True),
        ("tags", "eq", ["saas", "b2b"], False),
        ("none", "eq", None, True),
        ("missing", "ne", "x", False),
        ("count", "ne", "120", True),
        ("count", "gt", 100, True),
        ("count_text", "gte", 12, True),
        ("sci", "eq", 1000, False),
        ("sci", "gte", 1000, True),
        ("hex", "lt", 17, True),
        ("blank", "lt", 1, False),
        ("false", "lt", 1, False),
        ("none", "lt", 1, False),
        ("count", "lt", "abc", False),
        ("name", "contains", "Acme", True),
        ("name", "contains", "acme", False),
        ("name", "icontains", "ACME", True),
        ("tags", "contains", "saas,b2b", True),
        ("company", "contains", "object", True),
        ("none", "contains", "null", True),
        ("name", "contains", None, False),
        ("count", "contains", 12, True),
        ("email", "in", ["a@b.io", "c@d.io"], True),
        ("count", "in", ["120"], False),
        ("email", "in", "a@b.io", False),
        ("company.profile.industry", "eq", "Software", True),
        ("company.profile.size", "gte", 50, True),
        ("company.missing.x", "exists", None, False),
        ("results.0.name", "exists", None, False),  # arrays are not traversable
        ("", "exists", None, False),
    ],
)
def test_single_conditions(field: str, op: str, value: object, expected: bool) -> None:
    condition = (
        {"field": field, "op": op}
        if value is None and op == "exists"
        else {"field": field, "op": op, "value": value}
    )
    assert evaluate(condition, CONTEXT) is expected


def test_omitted_value_compares_with_undefined() -> None:
    assert evaluate({"field": "none", "op": "eq"}, CONTEXT) is False
    assert evaluate({"field": "none", "op": "ne"}, CONTEXT) is True


def test_nan_membership_follows_same_value_zero() -> None:
    assert evaluate({"field": "x", "op": "in", "value": [math.nan]}, {"x": math.nan}) is True
    assert evaluate({"field": "x", "op": "eq", "value": math.nan}, {"x": math.nan}) is False


@given(conditions, contexts)
def test_never_raises_and_returns_a_bool(condition: object, context: dict) -> None:
    assert evaluate(condition, context) in (True, False)


@given(st.lists(conditions, max_size=4), contexts)
def test_all_and_any_are_conjunction_and_disjunction(children: list, context: dict) -> None:
    values = [evaluate(child if isinstance(child, dict) else None, context) for child in children]
    assert evaluate({"all": children}, context) == all(values)
    assert evaluate({"any": children}, context) == any(values)


@given(st.text(min_size=1, max_size=6).filter(lambda s: "." not in s), json_values, contexts)
def test_exists_matches_presence_and_non_emptiness(field: str, value: object, context: dict) -> None:
    context = {**context, field: value}
    empty = value is None or (isinstance(value, str) and not value.strip()) or value == []
    assert evaluate({"field": field, "op": "exists"}, context) is (not empty)


@given(st.text(min_size=1, max_size=6).filter(lambda s: "." not in s), contexts)
def test_missing_fields_fail_every_comparison(field: str, context: dict) -> None:
    context.pop(field, None)
    for op in ("eq", "ne", "lt", "gt", "lte", "gte", "contains", "icontains", "in"):
        assert evaluate({"field": field, "op": op, "value": 1}, context) is False
