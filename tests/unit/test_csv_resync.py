"""R-IMPORT-6: line endings (LF, CRLF, lone CR) and resynchronisation after a malformed record, the same whether a
file is read whole, in byte-range chunks or in pieces of any size; R-API-1 spirit: no control character in a name."""

from __future__ import annotations

import csv
import io
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain.csv_rows import (
    MAX_RECORD_BYTES,
    MAX_RECORD_LINES,
    RecordSplitter,
    Span,
    cells_of,
    parse_row,
    record_spans,
)

TODAY = date(2026, 11, 24)
COLUMNS = {"first_name": 0, "last_name": 1, "date_of_birth": 2}


def pieces_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def rows_of(spans: list[Span]) -> list[tuple[int, list[str] | None]]:
    """(line, cells) per span; cells None for a run of skipped lines."""
    return [(span.first_line, None if span.data is None else cells_of(span.data)) for span in spans]


def split_like_the_planner(data: bytes, chunk_bytes: int, piece: int) -> list[Span]:
    """Cuts the file where plan_chunks does (after the span that fills chunk_bytes), then reads every chunk on its
    own from its start offset and line, as a chunk worker does."""
    cuts: list[tuple[int, int, int]] = []
    start, line = 0, 1
    for span in record_spans(pieces_of(data, piece)):
        if span.end - start >= chunk_bytes:
            cuts.append((start, span.end, line))
            start, line = span.end, span.last_line + 1
    if start < len(data):
        cuts.append((start, len(data), line))
    spans: list[Span] = []
    for begin, end, first in cuts:
        spans += record_spans(pieces_of(data[begin:end], piece), offset=begin, line=first, bom=begin == 0)
    return spans


# ---------- line endings ----------

_name = st.text(alphabet="abcdefghij", min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(_name, _name), min_size=1, max_size=12),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    piece=st.integers(1, 40),
    last_ending=st.booleans(),
)
def test_r_import_6_lf_crlf_and_lone_cr_files_read_the_same_in_pieces_of_any_size(rows, ending, piece, last_ending):
    # Given the same rows saved with LF, CRLF or lone-CR line endings, streamed in pieces of any size
    text = ending.join(f"{a},{b}" for a, b in rows) + (ending if last_ending else "")
    spans = list(record_spans(pieces_of(text.encode(), piece)))
    # Then every line is one record with its own line number: a CRLF cut between two pieces makes no empty row
    assert rows_of(spans) == [(n, [a, b]) for n, (a, b) in enumerate(rows, start=1)]
    assert spans[-1].end == len(text.encode())


def test_r_import_6_a_crlf_split_across_pieces_is_one_line_ending():
    pieces = [b"a,b\r", b"\n", b"c,d\r", b"\r\ne,f\r"]
    assert rows_of(list(record_spans(pieces))) == [(1, ["a", "b"]), (2, ["c", "d"]), (3, []), (4, ["e", "f"])]


def test_r_import_6_lone_cr_file_cut_in_chunks_gives_the_rows_of_the_whole_file():
    data = ("first,last,dob\r" + "".join(f"N{i},L{i},2000-01-01\r" for i in range(300))).encode()
    whole = list(record_spans([data]))
    assert len(whole) == 301
    assert split_like_the_planner(data, 500, 64) == whole


# ---------- resynchronisation ----------


def test_r_import_6_row_2_with_a_stray_quote_then_600_good_rows():
    # Given row 2 with a stray opening quote, followed by 600 good rows
    good = "".join(f"Ann{i},Lee,2000-01-01\n" for i in range(600))
    data = ('first,last,dob\n"Bob,Stray,1990-01-01\n' + good).encode()
    for spans in (list(record_spans(pieces_of(data, 7))), split_like_the_planner(data, 1000, 4096)):
        rows = rows_of(spans)
        # Then line 2 alone is skipped (one span), and the 600 rows come under their true line numbers
        assert rows[1] == (2, None) and (spans[1].first_line, spans[1].last_line) == (2, 2)
        assert rows[2:] == [(n + 3, [f"Ann{n}", "Lee", "2000-01-01"]) for n in range(600)]


def test_r_import_6_a_quoted_field_may_span_lines_within_the_limit():
    # Given a quoted note of 3 lines, then a row
    data = b'a,"note\r\nline 2\rline 3",b\nc,d\n'
    rows = rows_of(list(record_spans([data])))
    # Then the note is one field of the record on lines 1-3, and the next row is on line 4
    assert rows == [(1, ["a", "note\nline 2\nline 3", "b"]), (4, ["c", "d"])]


def test_r_import_6_a_quoted_field_over_the_line_limit_is_skipped_line_by_line():
    # Given a quoted field whose lines never close within MAX_RECORD_LINES (every line a row of its own)
    lines = [f"x{i},y" for i in range(MAX_RECORD_LINES + 5)]
    data = ('"' + "\n".join(lines) + '"\n').encode()
    spans = list(record_spans([data]))
    # Then line 1 is skipped and every later line is read as a row (the last one has a stray closing quote)
    assert rows_of(spans)[0] == (1, None)
    assert [line for line, _ in rows_of(spans)[1:]] == list(range(2, len(lines) + 1))


def test_r_import_6_text_after_a_closing_quote_makes_the_record_malformed():
    rows = rows_of(list(record_spans([b'"Smith" Jr,Ann,2000-01-01\nLee,Bo,2000-01-01\n'])))
    assert rows == [(1, None), (2, ["Lee", "Bo", "2000-01-01"])]


def test_r_import_6_consecutive_skipped_lines_are_one_span_with_their_range():
    data = b'a,b\n"x,1\n"y,2\n"z,3\nc,d\n'
    spans = list(record_spans(pieces_of(data, 3)))
    assert [(s.first_line, s.last_line, s.data is None) for s in spans] == [
        (1, 1, False),
        (2, 4, True),
        (5, 5, False),
    ]
    assert spans[1].start == 4 and spans[1].end == data.index(b"c,d")


def test_r_import_6_a_line_longer_than_the_record_limit_is_skipped_without_holding_it():
    # Given a 3 x MAX_RECORD_BYTES line streamed in small pieces
    data = b"a,b\n" + b"x" * (3 * MAX_RECORD_BYTES) + b"\r\nc,d\n"
    splitter = RecordSplitter()
    spans: list[Span] = []
    held = 0
    for piece in pieces_of(data, 4096):
        spans += splitter.feed(piece)
        held = max(held, len(splitter._buf))
    spans += splitter.finish()
    # Then it is one skipped line, the next line is read, and the splitter never held much more than the limit
    assert rows_of(spans) == [(1, ["a", "b"]), (2, None), (3, ["c", "d"])]
    assert held <= MAX_RECORD_BYTES + 4096


def test_r_import_6_an_unclosed_quote_on_the_last_line_is_skipped():
    assert rows_of(list(record_spans([b'a,b\nc,"d']))) == [(1, ["a", "b"]), (2, None)]


# Realistic good fields: start with a letter (a field starting with a comma inside quotes could close a runaway
# quote by accident, see docs/api-extensions.md); commas, quotes and spaces inside are quoted by csv.writer.
_field = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("AbcXyz"),
    st.text(alphabet=st.sampled_from(list('ab ,"-.9')), max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(_field, min_size=3, max_size=3), min_size=2, max_size=40),
    damaged=st.integers(0, 10_000),
    position=st.integers(0, 10_000),
    chunk_bytes=st.integers(1, 400),
    piece=st.integers(1, 64),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_r_import_6_one_stray_quote_costs_at_most_its_line_chunked_or_not(
    rows, damaged, position, chunk_bytes, piece, ending
):
    # Given good rows (quoted where needed) and one stray quote inserted anywhere in one of them
    lines = []
    for cells in rows:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        lines.append(out.getvalue())
    damaged %= len(lines)
    at = position % (len(lines[damaged]) + 1)
    lines[damaged] = lines[damaged][:at] + '"' + lines[damaged][at:]
    data = (ending.join(lines) + ending).encode()
    # When the file is read whole, in pieces, and in byte-range chunks of any size
    whole = list(record_spans([data]))
    assert list(record_spans(pieces_of(data, piece))) == whole
    assert split_like_the_planner(data, chunk_bytes, piece) == whole
    # Then every good row is read exactly once under its true line number; the damaged line is read or skipped
    found = rows_of(whole)
    expected = [(n, cells) for n, cells in enumerate(rows, start=1) if n != damaged + 1]
    assert [row for row in found if row[0] != damaged + 1] == expected
    assert [cells for line, cells in found if line == damaged + 1] in ([None], [found[damaged][1]])
    assert len(found) == len(rows)


# ---------- control characters (R-API-1 spirit) ----------


def test_r_import_6_a_nul_after_the_first_8_kb_never_lands_in_a_name():
    # Given a NUL in a first name on a row far after the first 8 kB (the binary sniff does not see it)
    filler = "".join(f"Ann{i},Lee,2000-01-01\n" for i in range(600))
    data = ("first,last,dob\n" + filler + "Ma\x00ria,Lopez,1980-04-02\n").encode()
    assert data.index(b"\x00") > 8192
    line, cells = rows_of(list(record_spans([data])))[-1]
    assert cells is not None
    # When the row is parsed
    row, issues = parse_row(line, cells, COLUMNS, TODAY)
    # Then it is rejected with an error on that field, naming no value
    assert row is None
    errors = [(i.row, i.field, i.code) for i in issues if i.severity == "error"]
    assert errors == [(602, "first_name", "invalid_characters")]
    assert all("Ma" not in i.message for i in issues)


def test_r_import_6_control_characters_in_optional_fields_are_left_empty_with_a_warning():
    columns = {**COLUMNS, "email": 3, "external_id": 4}
    row, issues = parse_row(2, ["Ana", "Diaz", "1980-04-02", "a\x07@b.org", "M\x1b1"], columns, TODAY)
    assert row is not None and row.email is None and row.external_id is None
    assert {(i.field, i.code, i.severity) for i in issues} >= {
        ("email", "invalid_email", "warning"),
        ("external_id", "invalid_external_id", "warning"),
    }


def test_r_import_6_tabs_and_line_breaks_in_a_quoted_name_fold_into_spaces():
    row, issues = parse_row(2, ["Ana\tMaria", "Diaz\nLopez", "1980-04-02"], COLUMNS, TODAY)
    assert row is not None and (row.first_name, row.last_name) == ("Ana Maria", "Diaz Lopez")
