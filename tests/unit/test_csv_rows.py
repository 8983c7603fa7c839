"""CSV row parsing, headers, encodings, record boundaries and report cells (R-IMPORT-1, -3, -5)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain.csv_rows import (
    ImportFailed,
    RecordSplitter,
    looks_binary,
    map_header,
    neutralize,
    parse_row,
    records,
    report_line,
)

TODAY = date(2026, 11, 24)
COLUMNS = {"first_name": 0, "last_name": 1, "date_of_birth": 2, "cell_phone": 3, "landline": 4, "external_id": 5}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["First Name", "Last Name", "DOB"], {"first_name": 0, "last_name": 1, "date_of_birth": 2}),
        (
            ["given", "FAMILY", "Birthdate", "Mobile"],
            {"first_name": 0, "last_name": 1, "date_of_birth": 2, "cell_phone": 3},
        ),
        (["  first_name ", "last-name", "Date of  Birth", "Cell Phone", "Home Phone", "MRN", "E-mail"], None),
        (["FirstName", "LastName", "date of birth", "cell", "landline", "Patient ID", "email"], None),
    ],
)
def test_r_import_5_header_aliases_match_case_and_spacing_insensitively(header, expected):
    # Given a header written in any of the common ways / When it is mapped
    mapped = map_header(header)
    # Then the required fields are found (and the optional ones where present)
    assert {"first_name", "last_name", "date_of_birth"} <= set(mapped.columns)
    if expected:
        assert mapped.columns == expected
    else:
        assert len(mapped.columns) == 7
    assert mapped.ignored == []


def test_r_import_5_header_without_required_columns_fails_with_a_clear_error():
    with pytest.raises(ImportFailed) as failed:
        map_header(["First Name", "Mobile"])
    assert failed.value.code == "missing_columns"
    assert "last_name" in failed.value.message and "date_of_birth" in failed.value.message
    with pytest.raises(ImportFailed) as nothing:
        map_header(["foo", "bar"])
    assert nothing.value.code == "no_header"


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("First Name;Last Name;DOB;Mobile", "semicolons"),
        ("first\tlast\tdob", "tabs"),
        ("MRN|Given|Family|DOB", "vertical bars"),
    ],
)
def test_r_import_5_a_file_separated_by_something_else_than_commas_says_so(header, named):
    # Given a spreadsheet saved with another list separator: its header reads as one column
    with pytest.raises(ImportFailed) as failed:
        map_header([header])
    # Then the job fails with the usual code, and a message that says what to do
    assert failed.value.code == "no_header"
    assert f"separated by {named}, not commas" in failed.value.message
    with pytest.raises(ImportFailed) as other:
        map_header(["notes;comments"])  # separators, but no known column: the generic message
    assert "no usable header row" in other.value.message


def test_r_import_5_unknown_columns_are_listed_as_ignored():
    assert map_header(["first", "last", "dob", "Insurance"]).ignored == ["Insurance"]


@pytest.mark.parametrize(
    "raw",
    [
        "José,Müller,1980-04-02\n".encode(),
        b"\xef\xbb\xbf" + "José,Müller,1980-04-02\n".encode(),
        "José,Müller,1980-04-02\n".encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "windows-1252"],
)
def test_r_import_5_utf8_with_or_without_bom_and_windows_1252_are_read(raw):
    # When the bytes are decoded in arbitrary small pieces (streaming)
    pieces = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    # Then the names come out right whatever the encoding
    assert list(records(pieces)) == [["José", "Müller", "1980-04-02"]]


def test_r_import_5_iso_and_us_dates_are_read():
    iso, _ = parse_row(2, ["Ana", "Diaz", "1980-04-02", "", "", ""], COLUMNS, TODAY)
    us, _ = parse_row(3, ["Ana", "Diaz", "04/02/1980", "", "", ""], COLUMNS, TODAY)
    assert iso is not None and us is not None
    assert iso.date_of_birth == us.date_of_birth == date(1980, 4, 2)


def test_r_import_1_missing_or_invalid_cell_phone_is_a_warning_and_the_row_is_kept():
    row, issues = parse_row(2, ["Ana", "Diaz", "1980-04-02", "not a phone", "", ""], COLUMNS, TODAY)
    assert row is not None and row.cell_phone is None
    assert [(i.field, i.code, i.severity) for i in issues] == [("cell_phone", "invalid_cell_phone", "warning")]
    row, issues = parse_row(3, ["Ana", "Diaz", "1980-04-02", "", "", ""], COLUMNS, TODAY)
    assert row is not None
    assert [(i.code, i.severity) for i in issues] == [("missing_cell_phone", "warning")]


def test_r_create_2_phones_are_stored_in_e164():
    row, issues = parse_row(2, ["Ana", "Diaz", "1980-04-02", "(212) 555-0101", "212.555.0199", ""], COLUMNS, TODAY)
    assert row is not None and issues == []
    assert (row.cell_phone, row.landline) == ("+12125550101", "+12125550199")


@pytest.mark.parametrize(
    ("cells", "field", "code"),
    [
        (["", "Diaz", "1980-04-02"], "first_name", "missing_name"),
        (["Ana", "  ", "1980-04-02"], "last_name", "missing_name"),
        (["Ana", "Diaz", ""], "date_of_birth", "missing_date_of_birth"),
        (["Ana", "Diaz", "1980-02-30"], "date_of_birth", "invalid_date_of_birth"),
        (["Ana", "Diaz", "13/01/1980"], "date_of_birth", "invalid_date_of_birth"),
        (["Ana", "Diaz", "2099-01-01"], "date_of_birth", "invalid_date_of_birth"),
    ],
)
def test_r_import_1_row_without_name_or_with_a_bad_dob_is_rejected_with_a_row_error(cells, field, code):
    row, issues = parse_row(7, cells, COLUMNS, TODAY)
    assert row is None
    errors = [i for i in issues if i.severity == "error"]
    assert [(e.row, e.field, e.code) for e in errors] == [(7, field, code)]
    # R-SEC-2: messages never echo the submitted value
    assert all(cells[0] not in e.message or not cells[0] for e in errors)


def test_r_import_1_short_row_does_not_crash():
    row, issues = parse_row(4, ["Ana"], COLUMNS, TODAY)
    assert row is None
    assert {i.field for i in issues if i.severity == "error"} == {"last_name", "date_of_birth"}


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", '=HYPERLINK("http://x")'])
def test_r_import_3_report_cells_starting_a_formula_are_neutralised(cell):
    assert neutralize(cell) == "'" + cell
    assert report_line(3, cell, "code", cell)[1] == "'" + cell


def test_r_import_3_plain_report_cells_are_unchanged():
    assert report_line(12, "cell_phone", "invalid_cell_phone", "Left empty.") == [
        "12",
        "cell_phone",
        "invalid_cell_phone",
        "Left empty.",
    ]


def test_r_import_5_binary_content_is_detected():
    assert looks_binary(b"PK\x03\x04\x14\x00\x00\x00")
    assert looks_binary(bytes(range(256)) * 4)
    assert not looks_binary("first,last,dob\nJosé,Díaz,1980-01-01\n".encode("cp1252"))


def test_r_import_5_quoted_commas_and_newlines_are_one_field():
    data = b'first,last,dob\n"Smith, Jr.","Multi\nLine",1980-01-01\n'
    assert list(records([data]))[1] == ["Smith, Jr.", "Multi\nLine", "1980-01-01"]


_cell = st.text(alphabet=st.sampled_from(list('ab,"\n é\r')), max_size=6)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=4), min_size=1, max_size=8), cut=st.integers(0, 400))
def test_r_import_5_byte_range_cuts_fall_on_the_records_csv_reader_sees(rows, cut):
    # Given a CSV with quotes, commas and newlines inside fields, fed in two arbitrary pieces
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    data = text.getvalue().encode()
    cut = min(cut, len(data))
    scanner = RecordSplitter()
    ends = [span.end for span in [*scanner.feed(data[:cut]), *scanner.feed(data[cut:]), *scanner.finish()]]
    # When the file is cut at every boundary found and each piece parsed on its own
    starts = [0, *ends[:-1]]
    pieces = [data[a:b] for a, b in zip(starts, ends, strict=True) if b > a]
    parsed = [record for piece in pieces for record in records([piece])]
    # Then the pieces hold exactly the records of the whole file (no record is split, none lost)
    assert parsed == list(records([data]))
    if b"\r" not in data:  # row numbers: one boundary per record (a lone CR also ends a record for csv)
        assert len(ends) == len(list(records([data])))


def test_r_import_1_an_unreadable_record_costs_that_row_only():
    data = b"a,b\n" + b"x" * 20_000 + b",e\nf,g\n"  # a field beyond the limit
    assert list(records([data])) == [["a", "b"], None, ["f", "g"]]


def test_r_import_5_crlf_and_lone_cr_line_endings_are_read():
    assert list(records([b"a,b\r", b"\nc,d\re,f"])) == [["a", "b"], ["c", "d"], ["e", "f"]]
