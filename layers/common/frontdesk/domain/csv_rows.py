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


def text_lines(chunks: Iterable[bytes], *, strip_bom: bool = True) -> Iterator[str]:
    """Decodes a byte stream incrementally into lines that keep their endings (what csv.reader wants).

    A lone carriage return (old Mac files, stray CRs) ends a line, as universal newlines would read it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="frontdesk_cp1252")
    pending = ""
    first = True
    for chunk in chunks:
        text = decoder.decode(chunk)
        if first and text:
            if strip_bom and text.startswith("\ufeff"):
                text = text[1:]
            first = False
        pending += text
        if "\n" not in pending and "\r" not in pending:
            continue
        held = pending.endswith("\r")  # its \n may come with the next chunk
        body = pending[:-1] if held else pending
        *lines, pending = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if held:
            pending += "\r"
        for line in lines:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    pending = pending.replace("\r\n", "\n").replace("\r", "\n")
    *lines, pending = pending.split("\n")
    for line in lines:
        yield line + "\n"
    if pending:
        yield pending


def records(chunks: Iterable[bytes], *, strip_bom: bool = True) -> Iterator[list[str] | None]:
    """CSV records (quoted commas and newlines allowed); blank lines come out as [], unreadable ones as None."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(text_lines(chunks, strip_bom=strip_bom), strict=False)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error:
            # R-IMPORT-1: one unreadable record (NUL byte, a giant field) costs that row, not the file.
            yield None


# ---------- record boundaries at byte level (chunking) ----------


_START, _FIELD, _QUOTED, _QUOTE_IN_QUOTED = range(4)
_QUOTE, _COMMA = ord('"'), ord(",")


class RecordBoundaries:
    """Finds the byte offsets where CSV records end, as csv.reader splits them (quoted newlines respected).

    A quote opens a quoted field only at the start of a field, `""` inside one is an escaped quote (the csv
    module's default dialect). `"`, `,` and `\\n` are single bytes in UTF-8 and Windows-1252 and never part of a
    multi-byte UTF-8 sequence, so scanning raw bytes is exact. Lines without quotes take a fast path.
    """

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset  # bytes consumed so far
        self.state = _START

    def feed(self, chunk: bytes) -> Iterator[int]:
        """Yields the absolute offset just past each record-ending newline found in this chunk."""
        start = 0
        base = self.offset
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            self._scan(piece)
            if newline < 0:
                break
            start = newline + 1
            if self.state != _QUOTED:
                self.state = _START
                yield base + start
        self.offset = base + len(chunk)

    def _scan(self, piece: bytes) -> None:
        if not piece:
            return
        if b'"' not in piece and self.state != _QUOTE_IN_QUOTED:
            if self.state != _QUOTED:
                self.state = _START if piece.endswith(b",") else _FIELD
            return
        state = self.state
        for byte in piece:
            if state == _QUOTED:
                if byte == _QUOTE:
                    state = _QUOTE_IN_QUOTED
            elif state == _START:
                state = _QUOTED if byte == _QUOTE else (_START if byte == _COMMA else _FIELD)
            elif state == _FIELD:
                if byte == _COMMA:
                    state = _START
            elif byte == _QUOTE:  # _QUOTE_IN_QUOTED: "" is an escaped quote
                state = _QUOTED
            else:
                state = _START if byte == _COMMA else _FIELD
        self.state = state


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
    if email and ("@" not in email or len(email) > 254):
        issues.append(RowIssue(row, "email", "invalid_email", "The email address is not valid. Left empty.", "warning"))
        email = None
    external_id = _cell(cells, columns, "external_id") or None
    if external_id and (len(external_id) > 64 or "#" in external_id):
        message = "The external id has at most 64 characters and no '#'. Left empty."
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
