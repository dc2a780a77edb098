"""Reading spreadsheet exports: encodings, delimiters, header mapping, broken rows."""

from __future__ import annotations

import pytest

from dex.errors import BadRequest
from dex.pipeline.spreadsheet import parse_csv


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        ("\ufeffCompany Domain;Company\nacme.io;Acme Café\n".encode(), "utf-8-sig", ";"),
        ("Company Domain\tCompany\nacme.io\tAcme Café\n".encode("utf-16"), "utf-16", "\t"),
        ("Company Domain,Company\nacme.io,Acme Café\n".encode("cp1252"), "cp1252", ","),
        ("Company Domain|Company\nacme.io|Acme Café\n".encode(), "utf-8", "|"),
    ],
)
def test_encodings_and_delimiters_are_detected(data: bytes, encoding: str, delimiter: str) -> None:
    parsed = parse_csv(data)
    assert (parsed.encoding, parsed.delimiter) == (encoding, delimiter)
    assert parsed.entities == [{"company_domain": "acme.io", "company_name": "Acme Café"}]
    assert parsed.columns == {"Company Domain": "company_domain", "Company": "company_name"}


def test_a_single_column_and_a_column_map() -> None:
    assert parse_csv(b"email\nava@acme.io\n").entities == [{"email": "ava@acme.io"}]
    parsed = parse_csv(
        b"Web Site,Notes\nacme.io,call back\n", column_map={"Web Site": "company_domain", "notes": ""}
    )
    assert parsed.entities == [{"company_domain": "acme.io"}]
    with pytest.raises(BadRequest, match="does not have: missing"):
        parse_csv(b"a\n1\n", column_map={"missing": "x"})
    with pytest.raises(BadRequest, match="both map to 'company_website'"):
        parse_csv(b"Website,URL\na.io,b.io\n")


def test_broken_rows_are_rejected_with_their_row_numbers() -> None:
    huge = "x" * 200_000  # past the csv module's field limit: nothing after it can be read reliably
    data = (
        'name,email\n"Ava",ava@acme.io\n,\nBen,ben@acme.io,extra\n"Cara\nwith a newline",cara@acme.io\n'
        f'Dan,"{huge}"\nEve,eve@acme.io\n'
    ).encode()
    parsed = parse_csv(data)
    assert parsed.row_numbers == [2, 5]  # a quoted cell over two lines is one row
    assert [(row.row_number, row.reason) for row in parsed.rejected] == [
        (4, "3 cells but 2 columns"),
        (6, "unreadable CSV from here on: field larger than field limit (131072)"),
    ]
    assert parse_csv(b"\n\n").rejected[0].reason == "the file has no header row"
