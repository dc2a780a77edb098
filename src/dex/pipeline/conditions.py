"""Step conditions, evaluated against the cumulative context.

``evaluate(condition, context)`` is pure and never raises. The semantics are JavaScript's, because the
original runner was TypeScript and blueprints written for it must keep their meaning: strict equality
without coercion, ``Number()``-style numeric coercion for comparisons, ``String()``-style stringification
for ``contains``, and ``Array.includes`` membership for ``in``.
"""

from __future__ import annotations

import math
import re
from typing import Any

_MISSING = object()
_JS_NUMBER = re.compile(
    r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Infinity)$|^0[xX][0-9a-fA-F]+$|^0[oO][0-7]+$|^0[bB][01]+$"
)


def evaluate(condition: Any, context: Any) -> bool:
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return False
    if not condition:
        return True
    if "all" in condition:
        children = condition["all"]
        if not isinstance(children, list):
            return False
        # A non-object child is evaluated as "no condition" (true), as the original did.
        return all(evaluate(child if isinstance(child, dict) else None, context) for child in children)
    if "any" in condition:
        children = condition["any"]
        if not isinstance(children, list):
            return False
        return any(evaluate(child if isinstance(child, dict) else None, context) for child in children)
    if "field" in condition and "op" in condition:
        field, op = condition["field"], condition["op"]
        if not isinstance(field, str) or not isinstance(op, str):
            return False
        return _single(field, op, condition.get("value", _MISSING), context)
    return False


def resolve_field(context: Any, field: str) -> tuple[bool, Any]:
    """Walk a dotted path through plain objects (arrays are not traversable). Returns (found, value)."""
    if not field:
        return False, None
    current = context
    for part in field.split("."):
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list) and not value


def _single(field: str, op: str, expected: Any, context: Any) -> bool:
    found, actual = resolve_field(context, field)
    if op == "exists":
        return found and not _is_empty(actual)
    if not found:
        return False
    if op == "eq":
        return _strict_equal(actual, expected)
    if op == "ne":
        return not _strict_equal(actual, expected)
    if op in ("lt", "gt", "lte", "gte"):
        left, right = _to_number(actual), _to_number(expected)
        if left is None or right is None:
            return False
        return {"lt": left < right, "gt": left > right, "lte": left <= right, "gte": left >= right}[op]
    if op in ("contains", "icontains"):
        if expected is _MISSING or expected is None:
            return False
        haystack, needle = _js_string(actual), _js_string(expected)
        if op == "icontains":
            haystack, needle = haystack.lower(), needle.lower()
        return needle in haystack
    if op == "in":
        if not isinstance(expected, list):
            return False
        return any(_same_value_zero(actual, item) for item in expected)
    return False


def _js_type(value: Any) -> str:
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def _strict_equal(left: Any, right: Any) -> bool:
    """JavaScript ``===``: same type and value; objects and arrays only equal themselves (never, here)."""
    kind = _js_type(left)
    if kind != _js_type(right):
        return False
    if kind in ("undefined", "null"):
        return True
    if kind == "object":
        return False
    if kind == "number":
        return float(left) == float(right)  # NaN !== NaN holds with float comparison
    return left == right


def _same_value_zero(left: Any, right: Any) -> bool:
    """``Array.includes``: like ``===`` except that NaN equals NaN."""
    if _js_type(left) == "number" and _js_type(right) == "number" and math.isnan(left) and math.isnan(right):
        return True
    return _strict_equal(left, right)


def _to_number(value: Any) -> float | None:
    """Finite numbers as they are; non-blank strings the way ``Number()`` parses them; else invalid."""
    if isinstance(value, bool) or value is None or value is _MISSING:
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if not text or not _JS_NUMBER.match(text):
            return None
        if text[:2].lower() in ("0x", "0o", "0b"):
            number = float(int(text, 0))
        else:
            number = float(text.replace("Infinity", "inf"))
        return number if math.isfinite(number) else None
    return None


def _js_string(value: Any) -> str:
    """JavaScript ``String(value)`` for JSON values."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    return "[object Object]"
