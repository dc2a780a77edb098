"""JSON through orjson, for the hot paths: every provider answer is parsed and size-checked, and every
set-based write passes its rows as one JSON document. orjson is several times faster than the standard
library there. What orjson refuses — a lone surrogate in a string, an integer past 64 bits, a ``NaN``
literal — goes through the standard library instead, so no value that parsed or encoded before fails now."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def encode(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact JSON in UTF-8; non-string keys become strings, as the standard library makes them."""
    try:
        return _orjson(value, default)
    except orjson.JSONEncodeError:
        return json.dumps(value, default=default, separators=(",", ":")).encode()


# What orjson refuses to encode (a caller of dumps_strict handles it with the standard library).
Refused = orjson.JSONEncodeError


def dumps_strict(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    return _orjson(value, default).decode()


def _orjson(value: Any, default: Callable[[Any], Any] | None) -> bytes:
    try:
        return orjson.dumps(value, default=default)
    except orjson.JSONEncodeError:
        # A non-string key is rare, and the option that makes keys strings halves orjson's speed.
        return orjson.dumps(value, default=default, option=orjson.OPT_NON_STR_KEYS)


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    try:
        return dumps_strict(value, default)
    except Refused:
        return json.dumps(value, default=default, separators=(",", ":"))
