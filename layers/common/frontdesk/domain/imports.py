"""The pure parts of a CSV import (R-IMPORT-1, R-IMPORT-2, R-IMPORT-5, R-IMPORT-6): cutting a file into byte-range
chunks at record boundaries, the deterministic ids of a row's items, and what a row makes of a new or stored profile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from frontdesk.domain.csv_rows import (
    MAX_RECORD_BYTES,
    MAX_RECORD_LINES,
    Header,
    ImportFailed,
    PatientRow,
    RecordSplitter,
    RowIssue,
    Span,
    cells_of,
    looks_binary,
    map_header,
)
from frontdesk.domain.import_jobs import ChunkTask
from frontdesk.domain.patients import Patient

MAX_HEADER_BYTES = 1024 * 1024


def derived_id(import_id: str, row: int, what: str) -> str:
    # Deterministic: a chunk processed again (SQS or S3 redelivery) finds the rows it already wrote.
    return hashlib.sha256(f"{import_id}|{row}|{what}".encode()).hexdigest()[:24]


def actor_for(import_id: str) -> str:
    return f"import:{import_id}"


# ---------- chunk planning ----------


def plan_chunks(
    pieces: Iterable[bytes], size: int, practice_id: str, import_id: str, chunk_bytes: int
) -> tuple[Header, int, list[ChunkTask]]:
    """Reads the header from the file's pieces, then cuts the rest into byte ranges at span boundaries (records and
    runs of skipped lines, R-IMPORT-6), each with the true line number it starts on.

    A file no larger than one chunk is not read past its header; a larger one is read once.
    """
    if size == 0:
        raise ImportFailed("The file is empty.", "empty_file")
    splitter = RecordSplitter()
    plan = _Plan(practice_id, import_id, size, chunk_bytes)
    for index, piece in enumerate(pieces):
        if index == 0 and looks_binary(piece):
            raise ImportFailed("The file is not a CSV text file.", "not_csv")
        for span in splitter.feed(piece):
            if plan.add(span):
                return plan.result()
        if plan.header is None and splitter.offset > MAX_HEADER_BYTES:
            raise ImportFailed("The file has no usable header row.", "no_header")
    for span in splitter.finish():
        if plan.add(span):
            return plan.result()
    return plan.result(complete=True)


class _Plan:
    """The header (first non-blank record), then a cut after the span that fills ~chunk_bytes."""

    def __init__(self, practice_id: str, import_id: str, size: int, chunk_bytes: int) -> None:
        self.practice_id, self.import_id, self.size, self.chunk_bytes = practice_id, import_id, size, chunk_bytes
        self.header: Header | None = None
        self.header_row = 0
        self.tasks: list[ChunkTask] = []
        self.start = self.first_row = 0

    def add(self, span: Span) -> bool:
        """True when the plan is complete without reading further."""
        if self.header is None:
            return self._header(span)
        if span.end - self.start >= self.chunk_bytes:
            self._cut(span.end)
            self.first_row = span.last_line + 1
        return False

    def _header(self, span: Span) -> bool:
        if span.data is None:
            raise ImportFailed("The header row is not readable CSV (a quote that never closes).", "no_header")
        cells = cells_of(span.data)
        if cells is None:
            raise ImportFailed("The file is not a readable CSV.", "not_csv")
        if not any(cell.strip() for cell in cells):
            return False  # blank lines before the header
        self.header, self.header_row = map_header(cells), span.first_line
        self.start, self.first_row = span.end, span.last_line + 1
        if self.start >= self.size:
            raise ImportFailed("The file has a header but no data rows.", "no_rows")
        if self.size - self.start <= self.chunk_bytes:
            self._cut(self.size)
            return True
        return False

    def _cut(self, end: int) -> None:
        self.tasks.append(
            ChunkTask(self.practice_id, self.import_id, len(self.tasks) + 1, self.start, end, self.first_row)
        )
        self.start = end

    def result(self, complete: bool = False) -> tuple[Header, int, list[ChunkTask]]:
        if self.header is None:
            raise ImportFailed("The file is empty.", "empty_file")  # nothing but blank lines
        if complete and self.start < self.size:
            self._cut(self.size)
        return self.header, self.header_row, self.tasks


def skipped_issue(span: Span) -> RowIssue:
    """R-IMPORT-6: one row error for a run of lines on which no well-formed record starts (docs/api-extensions.md)."""
    first, last = span.first_line, span.last_line
    lines = f"Line {first}" if first == last else f"Lines {first}-{last}"
    message = (
        f"{lines}: not a well-formed CSV record (a quote that does not close before the end of the line, text "
        f"after a closing quote, or a record over {MAX_RECORD_LINES} lines or {MAX_RECORD_BYTES // 1024} KiB); "
        "skipped, the next line was read as a new row."
    )
    return RowIssue(first, "row", "malformed_record", message)


# ---------- a row and its profile ----------


def new_patient(practice_id: str, import_id: str, row: PatientRow, patient_id: str, now: datetime) -> Patient:
    return Patient(
        practice_id=practice_id,
        patient_id=patient_id,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        conversation_id=derived_id(import_id, row.row, "conversation"),
        created_at=now,
        cell_phone=row.cell_phone,
        landlines=[row.landline] if row.landline else [],
        email=row.email,
        external_id=row.external_id,
    )


def apply_row(current: Patient, row: PatientRow) -> tuple[Patient | None, list[RowIssue]]:
    """R-IMPORT-2: what a row with a known external id changes in that patient (None: nothing), and the warnings
    for what it may not change (R-DOB-4, R-PHONE-2: a verified patient's DOB and cell phone)."""
    new = replace(current, landlines=list(current.landlines))
    issues: list[RowIssue] = []
    new.first_name, new.last_name = row.first_name, row.last_name
    if row.email:
        new.email = row.email
    if row.landline and row.landline not in new.landlines:
        new.landlines.append(row.landline)
    if row.date_of_birth != current.date_of_birth:
        if current.verified:  # R-DOB-4: a verified patient's DOB is not the importer's to change
            message = "The patient has logged in: the date of birth is not changed by an import."
            issues.append(RowIssue(row.row, "date_of_birth", "not_updated_verified", message, "warning"))
        else:
            new.date_of_birth = row.date_of_birth
    if row.cell_phone and row.cell_phone != current.cell_phone:
        if current.verified:  # R-PHONE-2: the patient must confirm a new number
            message = "The patient has logged in: a new cell phone needs their confirmation."
            issues.append(RowIssue(row.row, "cell_phone", "not_updated_verified", message, "warning"))
        else:
            new.cell_phone = row.cell_phone
    return (new if new != current else None), issues
