"""CSV patient rows: headers, encodings, record boundaries, row validation, report cells (R-IMPORT-1, -3, -5).

Pure functions over bytes and strings: no AWS, no I/O. The importer streams a file through these pieces so
memory does not grow with the file (R-IMPORT-5).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from frontdesk.domain.patients import clean_name, parse_dob
from frontdesk.domain.phones import InvalidPhone, normalize_phone
from frontdesk.errors import ValidationFailed

REQUIRED = ("first_name", "last_name", "date_of_birth")
FIELDS = (*REQUIRED, "cell_phone", "landline", "email", "external_id")

# R-IMPORT-5: common aliases, matched case- and spacing-insensitively (see normalize_header).
HEADER_ALIASES: dict[str, str] = {
    alias: canonical
    for canonical, aliases in {
        "first_name": ("first name", "firstname", "first", "given name", "given", "forename", "patient first name"),
        "last_name": ("last name", "lastname", "last", "family name", "family", "surname", "patient last name"),
        "date_of_birth": ("date of birth", "dob", "birthdate", "birth date", "birthday", "d.o.b.", "patient dob"),
        "cell_phone": ("cell phone", "cell", "cellphone", "mobile", "mobile phone", "mobile number", "cell number"),
        "landline": ("landline", "phone", "home phone", "home", "telephone", "land line", "phone number"),
        "email": ("email", "e-mail", "email address", "e-mail address"),
        "external_id": ("external id", "externalid", "mrn", "patient id", "record number", "medical record number"),
    }.items()
    for alias in aliases
}

_SPACING = re.compile(r"[\s_\-]+")
BINARY_SNIFF_BYTES = 8192
MAX_FIELD_CHARS = 10_000


class ImportFailed(Exception):
    """The whole file is unusable (R-IMPORT-5): the job fails with this clear message and writes no patient."""

    def __init__(self, message: str, code: str = "invalid_file") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def import_id_for(bucket: str, key: str, etag: str) -> str:
    """R-IMPORT-2: the same object (bucket, key, ETag) is always the same job."""
    return hashlib.sha256(f"{bucket}\n{key}\n{etag}".encode()).hexdigest()[:24]


def normalize_header(text: str) -> str:
    cleaned = text.replace("\ufeff", "").strip().casefold()
    cleaned = _SPACING.sub(" ", cleaned)
    return HEADER_ALIASES.get(cleaned, HEADER_ALIASES.get(cleaned.replace(" ", ""), cleaned))


@dataclass(frozen=True)
class Header:
    """Which column holds which field, plus the columns the importer ignores (reported as warnings)."""

    columns: dict[str, int]
    ignored: list[str] = field(default_factory=list)


def map_header(cells: list[str]) -> Header:
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        canonical = normalize_header(cell)
        if canonical in FIELDS and canonical not in columns:
            columns[canonical] = index
        elif cell.strip():
            ignored.append(cell.strip())
    if not columns:
        raise ImportFailed(_no_header_message(cells), "no_header")
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ImportFailed(f"The header lacks required columns: {', '.join(missing)}.", "missing_columns")
    return Header(columns=columns, ignored=ignored)


_OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _no_header_message(cells: list[str]) -> str:
    """A spreadsheet saved with another list separator (Excel in many locales uses semicolons) reads as one
    column: say so, since re-exporting with commas is the fix."""
    if len(cells) == 1:
        for separator, name in _OTHER_SEPARATORS.items():
            parts = cells[0].split(separator)
            if len(parts) > 1 and any(normalize_header(part) in FIELDS for part in parts):
                return f"The header row is separated by {name}, not commas: export the file as comma-separated CSV."
    return "The file has no usable header row (first name, last name, date of birth)."


# ---------- bytes -> text ----------


def _utf8_or_cp1252(error: UnicodeError) -> tuple[str, int]:
    """R-IMPORT-5: bytes that are not UTF-8 are read as Windows-1252 (latin-1 for its 5 undefined bytes)."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace").replace("\ufffd", bad.decode("latin-1")), error.end


codecs.register_error("frontdesk_cp1252", _utf8_or_cp1252)


def looks_binary(head: bytes) -> bool:
    """NUL bytes or mostly control characters in the first kilobytes: not a CSV (R-IMPORT-5)."""
    sample = head[:BINARY_SNIFF_BYTES]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return controls > len(sample) // 20


# ---------- records: line endings, quotes, resynchronisation (R-IMPORT-6) ----------
#
# A record starts at the start of a line and is read with the csv module's default rules: a quote opens a quoted
# field only at the start of a field, `""` inside one is an escaped quote, and a quoted field may hold commas and
# line breaks. Lines end in LF, CRLF or a lone CR. A record is *well-formed* when
#   - every quoted field closes, and what follows its closing quote is a comma, the end of the line or of the file;
#   - it spans at most MAX_RECORD_LINES lines and its text before its line ending is under MAX_RECORD_BYTES bytes.
# A line on which no well-formed record starts is skipped, and the reader tries again at the next line; a run of
# skipped lines is one Span without data (one row error, with its line range). Every decision reads only the bytes
# from the record's start up to its end (or up to the limits), so reading any byte range that starts and ends at
# span boundaries gives exactly the spans the whole file gives there: chunks, re-runs and the whole file agree.
# `"`, `,`, CR and LF are single bytes in UTF-8 and Windows-1252 and never part of a multi-byte UTF-8 sequence, so
# the scan works on raw bytes.

MAX_RECORD_LINES = 20
MAX_RECORD_BYTES = 64 * 1024
_QUOTE, _COMMA, _CR, _LF = ord('"'), ord(","), ord("\r"), ord("\n")
_BOM = b"\xef\xbb\xbf"
_SPECIAL = re.compile(rb'[\r\n"]')
_LINE_BREAK = re.compile(rb"[\r\n]")
_MALFORMED = -1


class Span(NamedTuple):  # a tuple: one per row, cheaper to make than a dataclass
    """Bytes [start, end) of the file on lines first_line..last_line: one record (data: its bytes, line ending
    included), or a run of lines skipped because no well-formed record starts on them (data is None)."""

    start: int
    end: int
    first_line: int
    last_line: int
    data: bytes | None


def _after_line_break(buf: bytes, index: int, final: bool) -> int | None:
    """The offset just past the line break at index (CRLF is one break); None while a CR may still get its LF."""
    if buf[index] == _LF:
        return index + 1
    if index + 1 < len(buf):
        return index + 2 if buf[index + 1] == _LF else index + 1
    return index + 1 if final else None


def _breaks(buf: bytes, start: int, end: int) -> int:
    return buf.count(b"\n", start, end) + buf.count(b"\r", start, end) - buf.count(b"\r\n", start, end)


def _record_end(buf: bytes, pos: int, final: bool, field_start: int) -> tuple[int, int] | int | None:
    """(end offset, lines) of the well-formed record starting at pos, _MALFORMED, or None: more bytes needed."""
    size = len(buf)
    limit = pos + MAX_RECORD_BYTES
    scan_end = min(size, limit)
    breaks = 0  # line breaks inside quoted fields
    i = field_start
    while True:
        found = _SPECIAL.search(buf, i, scan_end)
        if found is None:
            if size >= limit:
                return _MALFORMED
            return (size, breaks + 1) if final else None
        j = found.start()
        if buf[j] == _QUOTE:
            if j != field_start and buf[j - 1] != _COMMA:
                i = j + 1  # a quote inside an unquoted field is text
                continue
            k = j + 1
            while True:  # inside the quoted field
                close = buf.find(b'"', k, scan_end)
                breaks += _breaks(buf, k, scan_end if close < 0 else close)
                if breaks >= MAX_RECORD_LINES:
                    return _MALFORMED
                if close < 0:
                    return _MALFORMED if final or size >= limit else None
                if close + 1 >= size:
                    return (size, breaks + 1) if final else None
                if buf[close + 1] != _QUOTE:
                    break
                k = close + 2  # "" is an escaped quote
            j = close + 1
            if buf[j] == _COMMA:
                i = field_start = j + 1
                continue
            if buf[j] not in (_CR, _LF) or j >= limit:
                return _MALFORMED  # text after a closing quote: the quote was not meant as one
        end = _after_line_break(buf, j, final)
        return None if end is None else (end, breaks + 1)


def _line_end(buf: bytes, pos: int, final: bool) -> int | None:
    found = _LINE_BREAK.search(buf, pos)
    if found is None:
        return len(buf) if final else None
    return _after_line_break(buf, found.start(), final)


class RecordSplitter:
    """Cuts a byte stream into Spans (see above), fed piece by piece; memory stays under ~MAX_RECORD_BYTES plus
    the piece being read. Give offset and line of where the stream starts in the file (a span boundary)."""

    def __init__(self, offset: int = 0, line: int = 1, *, bom: bool = True) -> None:
        self.offset = offset  # of the first byte not yet in a span
        self.line = line  # the line number at self.offset
        self._buf = b""
        self._bom = bom and offset == 0  # a UTF-8 BOM before the first record is not part of its first field
        self._skip: tuple[int, int, int] | None = None  # skipped run: start offset, first line, last line
        self._discarding = False  # inside a skipped line longer than MAX_RECORD_BYTES

    def feed(self, piece: bytes) -> list[Span]:
        self._buf += piece
        return self._drain(final=False)

    def finish(self) -> list[Span]:
        spans = self._drain(final=True)
        if self._skip is not None:
            start, first, last = self._skip
            spans.append(Span(start, self.offset, first, last, None))
            self._skip = None
        return spans

    def _skip_line(self, pos: int) -> None:
        start, first = (self._skip[0], self._skip[1]) if self._skip else (self.offset + pos, self.line)
        self._skip = (start, first, self.line)

    def _drain(self, final: bool) -> list[Span]:
        buf, pos, spans = self._buf, 0, []
        size = len(buf)
        next_quote = -1
        while pos < size:
            if next_quote < pos and next_quote != size:
                next_quote = buf.find(b'"', pos)
                next_quote = size if next_quote < 0 else next_quote
            found = _LINE_BREAK.search(buf, pos, min(next_quote, pos + MAX_RECORD_BYTES))
            if found is not None and not self._discarding and not self._skip and not self._bom:
                # Fast path: a line without quotes is one record.
                end = _after_line_break(buf, found.start(), final)
                if end is None:
                    break
                spans.append(Span(self.offset + pos, self.offset + end, self.line, self.line, buf[pos:end]))
                self.line += 1
                pos = end
                continue
            if self._discarding:
                end = _line_end(buf, pos, final)
                if end is None:
                    pos = size - 1 if buf[-1] == _CR else size  # a CR waits for a possible LF
                    break
                self._discarding = False
                self.line += 1
                pos = end
                continue
            field_start = pos
            if self._bom and pos == 0:
                if size < len(_BOM) and _BOM.startswith(buf) and not final:
                    break
                field_start = len(_BOM) if buf.startswith(_BOM) else 0
            result = _record_end(buf, pos, final, field_start)
            if result is None:
                break
            if isinstance(result, tuple):
                end, lines = result
                if self._skip is not None:
                    start, first, last = self._skip
                    spans.append(Span(start, self.offset + pos, first, last, None))
                    self._skip = None
                spans.append(Span(self.offset + pos, self.offset + end, self.line, self.line + lines - 1, buf[pos:end]))
                self._bom = False
                self.line += lines
                pos = end
                continue
            end = _line_end(buf, pos, final)
            if end is None:
                if size - pos < MAX_RECORD_BYTES:
                    break  # the rest of the line is still to come
                self._skip_line(pos)
                self._discarding = True
                pos = size - 1 if buf[-1] == _CR else size
                break
            self._skip_line(pos)
            self._bom = False
            self.line += 1
            pos = end
        self.offset += pos
        self._buf = buf[pos:]
        return spans


def record_spans(pieces: Iterable[bytes], *, offset: int = 0, line: int = 1, bom: bool = True) -> Iterator[Span]:
    splitter = RecordSplitter(offset, line, bom=bom)
    for piece in pieces:
        yield from splitter.feed(piece)
    yield from splitter.finish()


def cells_of(data: bytes) -> list[str] | None:
    """The fields of one well-formed record; [] for a blank line, None when a field exceeds MAX_FIELD_CHARS."""
    text = data.decode("utf-8", errors="frontdesk_cp1252").removeprefix("\ufeff")
    if '"' not in text:  # one line, no quoting: the csv module would split it at its commas too
        line = text.rstrip("\r\n")
        if not line:
            return []
        cells = line.split(",")
        if len(line) > MAX_FIELD_CHARS and any(len(cell) > MAX_FIELD_CHARS for cell in cells):
            return None
        return cells
    csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        return next(csv.reader([text.replace("\r\n", "\n").replace("\r", "\n")], strict=False), [])
    except csv.Error:
        return None  # R-IMPORT-1: one unreadable record (a giant field) costs that row, not the file


def records(chunks: Iterable[bytes], *, strip_bom: bool = True) -> Iterator[list[str] | None]:
    """CSV records (quoted commas and newlines allowed); blank lines come out as [], unreadable records and runs
    of skipped lines (R-IMPORT-6) as None."""
    for span in record_spans(chunks, bom=strip_bom):
        yield None if span.data is None else cells_of(span.data)


# ---------- rows ----------


@dataclass(frozen=True)
class RowIssue:
    row: int
    field: str
    code: str
    message: str
    severity: str = "error"  # error (row rejected) | warning (row imported)


@dataclass(frozen=True)
class PatientRow:
    """A valid row: what becomes (or updates) a profile."""

    row: int
    first_name: str
    last_name: str
    date_of_birth: date
    cell_phone: str | None
    landline: str | None
    email: str | None
    external_id: str | None


# C0 controls but tab, LF and CR (whitespace a name folds into spaces), DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def parse_row(
    row: int, cells: list[str], columns: dict[str, int], today: date, country: str = "US"
) -> tuple[PatientRow | None, list[RowIssue]]:
    """R-IMPORT-1: name + valid DOB make a profile; a bad phone is a warning; no name or bad DOB rejects the row.

    Messages never repeat the submitted value (PHI).
    """
    issues: list[RowIssue] = []
    names: dict[str, str] = {}
    for name_field in ("first_name", "last_name"):
        if _CONTROL.search(_cell(cells, columns, name_field)):
            # R-API-1 spirit: a NUL or another control character never lands in a name (anywhere in the file).
            message = "The name holds a control character (for example NUL): the row is not imported."
            issues.append(RowIssue(row, name_field, "invalid_characters", message))
            continue
        try:
            names[name_field] = clean_name(_cell(cells, columns, name_field), field=name_field)
        except ValidationFailed as error:
            code = "missing_name" if not _cell(cells, columns, name_field) else "invalid_name"
            issues.append(RowIssue(row, name_field, code, error.message))
    dob: date | None = None
    try:
        dob = parse_dob(_cell(cells, columns, "date_of_birth"), today, allow_us=True)
    except ValidationFailed as error:
        code = "missing_date_of_birth" if not _cell(cells, columns, "date_of_birth") else "invalid_date_of_birth"
        issues.append(RowIssue(row, "date_of_birth", code, error.message))
    phones: dict[str, str | None] = {}
    for phone_field in ("cell_phone", "landline"):
        raw = _cell(cells, columns, phone_field)
        phones[phone_field] = None
        if not raw:
            if phone_field == "cell_phone":
                message = "No cell phone: the profile cannot be texted."
                issues.append(RowIssue(row, phone_field, "missing_cell_phone", message, "warning"))
            continue
        try:
            phones[phone_field] = normalize_phone(raw, country, field=phone_field)
        except InvalidPhone as error:
            message = error.message + " Left empty."
            issues.append(RowIssue(row, phone_field, f"invalid_{phone_field}", message, "warning"))
    email = _cell(cells, columns, "email") or None
    if email and ("@" not in email or len(email) > 254 or _CONTROL.search(email)):
        issues.append(RowIssue(row, "email", "invalid_email", "The email address is not valid. Left empty.", "warning"))
        email = None
    external_id = _cell(cells, columns, "external_id") or None
    if external_id and (len(external_id) > 64 or "#" in external_id or _CONTROL.search(external_id)):
        message = "The external id has at most 64 characters, no '#' and no control character. Left empty."
        issues.append(RowIssue(row, "external_id", "invalid_external_id", message, "warning"))
        external_id = None
    if any(issue.severity == "error" for issue in issues) or dob is None:
        return None, issues
    return (
        PatientRow(
            row=row,
            first_name=names["first_name"],
            last_name=names["last_name"],
            date_of_birth=dob,
            cell_phone=phones["cell_phone"],
            landline=phones["landline"],
            email=email,
            external_id=external_id,
        ),
        issues,
    )


# ---------- the report ----------

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
REPORT_HEADER = ("row", "field", "code", "message")


def neutralize(cell: str) -> str:
    """R-IMPORT-3: a cell a spreadsheet would run as a formula is prefixed with ' (shown as text)."""
    return "'" + cell if cell.startswith(_FORMULA_PREFIXES) else cell


def report_line(row: int, field_name: str, code: str, message: str) -> list[str]:
    return [neutralize(str(value)) for value in (row, field_name, code, message)]
