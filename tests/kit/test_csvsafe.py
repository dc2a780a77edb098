"""Formula neutralisation of CSV cells (``dex.kit.csvsafe``): every trigger, numbers left alone."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from dex.kit.csvsafe import FORMULA_TRIGGERS, safe_cell, write_csv


def test_text_starting_with_a_formula_trigger_is_quoted() -> None:
    for trigger in FORMULA_TRIGGERS:
        assert (
            safe_cell(f'{trigger}HYPERLINK("http://evil","x")') == f'\'{trigger}HYPERLINK("http://evil","x")'
        )
    assert safe_cell("@SUM(1+1)*cmd|' /C calc'!A0") == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert safe_cell("-2+3+cmd|' /C calc'!A0") == "'-2+3+cmd|' /C calc'!A0"


def test_numbers_and_plain_text_are_left_alone() -> None:
    for value in (-5, 3.2, Decimal("-0.5"), None, True, "-5", "+3.2", "+14155550100", "Acme", "a=b", ""):
        assert safe_cell(value) == value


@given(st.text())
def test_no_cell_can_start_a_formula(value: str) -> None:
    """Whatever the text, the written cell read back starts with no trigger unless it is a plain number."""
    (cell,) = next(csv.reader(io.StringIO(write_csv([[value]]), newline="")))
    if cell.startswith(FORMULA_TRIGGERS):
        float(cell)  # only a signed plain number may keep its sign
    assert cell.removeprefix("'") == value or cell == value


def test_known_text_positions_are_the_only_cells_inspected() -> None:
    written = write_csv([["=a", "=b", -1]], text_positions=[1])
    assert written == "=a,'=b,-1\r\n"
