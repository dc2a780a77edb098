"""CSV cells that a spreadsheet cannot run.

Spreadsheet programs read a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula, and some also
start one after a leading tab or carriage return. Exported values come from tenants' inputs and from
third-party providers, so a value such as ``=HYPERLINK("http://…")`` must reach the spreadsheet as text:
every text cell starting with one of those characters gets a leading single quote, which spreadsheets
treat as "this is text" and do not display. Numbers are written as they are, so a negative count stays
a number: numeric values, and text that is nothing but a signed decimal number (``-5``, ``+3.2``, a phone
number in E.164), which no spreadsheet can run. Every CSV dex writes passes its cells through
:func:`safe_cell`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """``value`` with a leading quote when it is text a spreadsheet would read as a formula; anything
    else (numbers, None, text starting otherwise) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


def neutralise_positions(cells: list[Any], positions: Sequence[int]) -> list[Any]:
    """``cells`` with the cells at ``positions`` neutralised in place (and returned)."""
    for position in positions:
        cells[position] = safe_cell(cells[position])
    return cells


def write_csv(rows: Iterable[Iterable[Any]], text_positions: Sequence[int] | None = None) -> str:
    """CSV text of ``rows`` with every cell neutralised, or only those at ``text_positions`` when the
    caller knows where its text columns are (wide exports: the other cells are not inspected at all)."""
    if text_positions is None:
        safe_rows: Iterable[list[Any]] = (safe_row(row) for row in rows)
    else:
        safe_rows = (neutralise_positions(list(row), text_positions) for row in rows)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(safe_rows)
    return buffer.getvalue()
