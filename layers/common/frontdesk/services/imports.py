"""CSV patient imports: one job per S3 object, streamed in blocks, fanned out in byte-range chunks when large.

R-IMPORT-1 (rows), R-IMPORT-2 (idempotent), R-IMPORT-3 (report), R-IMPORT-4 / R-CREATE-4 (duplicates),
R-IMPORT-5 (streaming, formats). The S3 handler calls start_import; the chunk worker calls process_chunk.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import islice
from time import sleep
from typing import Any

from aws_lambda_powertools import Logger

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.objects import S3ObjectStore, get_object_store
from frontdesk.domain.csv_rows import (
    MAX_RECORD_BYTES,
    MAX_RECORD_LINES,
    REPORT_HEADER,
    Header,
    ImportFailed,
    PatientRow,
    RecordSplitter,
    RowIssue,
    Span,
    cells_of,
    import_id_for,
    looks_binary,
    map_header,
    parse_row,
    record_spans,
    report_line,
)
from frontdesk.domain.patients import DuplicatePair, Patient
from frontdesk.settings import get_settings
from frontdesk.store import imports as jobs
from frontdesk.store import keys, patient_updates
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store
from frontdesk.store.imports import Counts, ImportJob, RowError

logger = Logger()

CONDITIONAL_PAGE = 25  # puts per TransactWriteItems of the import (measured on DynamoDB Local: faster than 100)
# A registered import writer older than this is one that died without unregistering (Lambda stops a chunk at
# 15 minutes; the local runner's chunks take less than this too).
WRITER_LIFETIME = timedelta(minutes=30)

IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "import-reports/"
BLOCK_ROWS = 250  # look-ups per block, in BatchGetItem pages of 100 keys; writes go out 25 items at a time (A30)
MAX_HEADER_BYTES = 1024 * 1024
API_ERRORS_SHOWN = 200
DUPLICATE_FLAG = ("patient", "probable_duplicate")
_LOOKUPS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="import-lookup")


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class ChunkTask:
    """One byte range [start, end) of the file, cut at a record boundary; rows numbered from first_row."""

    practice_id: str
    import_id: str
    chunk: int
    start: int
    end: int
    first_row: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ChunkTask:
        return ChunkTask(
            practice_id=str(data["practice_id"]),
            import_id=str(data["import_id"]),
            chunk=int(data["chunk"]),
            start=int(data["start"]),
            end=int(data["end"]),
            first_row=int(data["first_row"]),
        )


ChunkSender = Callable[[ChunkTask], None]


def practice_of_key(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != IMPORTS_PREFIX or not parts[1] or not parts[-1]:
        return None
    return parts[1]


def report_key_for(source_key: str, import_id: str) -> str:
    """Beside the upload: imports/<p>/<name>.csv -> import-reports/<p>/<name>.<import_id>.report.csv."""
    rest = source_key.removeprefix(IMPORTS_PREFIX)
    stem = rest[:-4] if rest.lower().endswith(".csv") else rest
    return f"{REPORTS_PREFIX}{stem}.{import_id[:8]}.report.csv"


def _derived_id(import_id: str, row: int, what: str) -> str:
    # Deterministic: a chunk processed again (SQS or S3 redelivery) finds the rows it already wrote.
    return hashlib.sha256(f"{import_id}|{row}|{what}".encode()).hexdigest()[:24]


def actor_for(import_id: str) -> str:
    return f"import:{import_id}"


# ---------- starting a job ----------


def start_import(
    obj: S3Object,
    *,
    objects: S3ObjectStore | None = None,
    clock: Clock | None = None,
    send_chunk: ChunkSender | None = None,
    chunk_bytes: int | None = None,
) -> str | None:
    """Creates the job once per object, reads the header, then processes the file inline or fans it out."""
    practice_id = practice_of_key(obj.key)
    if practice_id is None:
        logger.warning("object outside imports/<practice_id>/ ignored")
        return None
    import_id = import_id_for(obj.bucket, obj.key, obj.etag)
    logger.append_keys(practice_id=practice_id, import_id=import_id)
    now = (clock or get_clock()).now()
    job = ImportJob(
        practice_id=practice_id,
        import_id=import_id,
        status="running",
        source_bucket=obj.bucket,
        source_key=obj.key,
        etag=obj.etag,
        size=obj.size,
        created_at=now,
    )
    # R-IMPORT-2 / R-REL-1: a re-delivered event finds its job and changes nothing...
    if not jobs.create_job(job) and not _resumable(practice_id, import_id):
        logger.info("import already known: redelivery ignored")
        return import_id
    store = objects or get_object_store()
    try:
        if practices_store.get_practice(practice_id) is None:
            raise ImportFailed("No practice has this id.", "unknown_practice")
        header, header_row, tasks = plan_chunks(
            store, obj, practice_id, import_id, chunk_bytes or get_settings().import_chunk_bytes
        )
        _record_header(practice_id, import_id, header, header_row, len(tasks), now)
    except ImportFailed as error:
        # R-IMPORT-5: a file that is not a usable CSV fails the job with a clear error; no patient is written.
        jobs.finish_job(practice_id, import_id, status="failed", at=now, error=error.message, error_code=error.code)
        logger.info("import failed", extra={"error_code": error.code})
        return import_id
    except Exception:
        message = "Internal error; the import is retried."
        jobs.finish_job(practice_id, import_id, status="failed", at=now, error=message, error_code="internal_error")
        raise
    if len(tasks) == 1:
        process_chunk(tasks[0], objects=store, clock=clock)
    else:
        sender = send_chunk or _queue_sender
        for task in tasks:
            sender(task)
    return import_id


def _resumable(practice_id: str, import_id: str) -> bool:
    """...unless it is Lambda's retry after this job failed half-way: an unfinished one-chunk job (its rows are
    idempotent) or a job failed by an internal error runs again."""
    existing = jobs.get_job(practice_id, import_id, consistent=True)
    if existing is None:
        return False
    if existing.status == "running" and existing.chunks_total <= 2 and existing.chunks_done < existing.chunks_total:
        return True
    return jobs.restart_job(practice_id, import_id)


def _queue_sender(task: ChunkTask) -> None:
    from frontdesk.adapters.queues import get_chunk_queue

    get_chunk_queue().send(task.as_dict())


def _record_header(
    practice_id: str, import_id: str, header: Header, header_row: int, data_chunks: int, now: datetime
) -> None:
    """Chunk 0 is the header: its ignored columns are warnings, counted once whatever the chunking."""
    issues = [
        RowError(header_row, column, "unknown_column", "This column is not imported.") for column in header.ignored
    ]
    jobs.set_plan(practice_id, import_id, header.columns, data_chunks + 1, 0)
    jobs.batch_put(jobs.error_item(practice_id, import_id, issue) for issue in issues)
    if jobs.complete_chunk(practice_id, import_id, 0, Counts(warnings=len(issues)), now):
        jobs.add_progress(practice_id, import_id, Counts(warnings=len(issues)))


def plan_chunks(
    objects: S3ObjectStore, obj: S3Object, practice_id: str, import_id: str, chunk_bytes: int
) -> tuple[Header, int, list[ChunkTask]]:
    """Reads the header, then cuts the rest into byte ranges at span boundaries (records and runs of skipped lines,
    R-IMPORT-6), each with the true line number it starts on.

    A file no larger than one chunk is not scanned past its header; a larger one is streamed once.
    """
    if obj.size == 0:
        raise ImportFailed("The file is empty.", "empty_file")
    splitter = RecordSplitter()
    plan = _Plan(practice_id, import_id, obj.size, chunk_bytes)
    for index, piece in enumerate(objects.stream(obj.bucket, obj.key)):
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


# ---------- processing a chunk ----------


def process_chunk(task: ChunkTask, *, objects: S3ObjectStore | None = None, clock: Clock | None = None) -> None:
    """Streams one byte range in blocks of rows; idempotent (deterministic ids), then maybe finishes the job."""
    logger.append_keys(practice_id=task.practice_id, import_id=task.import_id, chunk=task.chunk)
    job = jobs.get_job(task.practice_id, task.import_id, consistent=True)
    if job is None or job.status != "running":
        return
    if not jobs.chunk_finished(task.practice_id, task.import_id, task.chunk):
        the_clock = clock or get_clock()
        now = the_clock.now()
        writer = jobs.register_writer(task.practice_id, f"{task.import_id}#{task.chunk}", now, now - WRITER_LIFETIME)
        try:
            counts = _import_rows(task, job, objects or get_object_store(), the_clock, writer)
        finally:
            _unregister(task.practice_id, writer)
        jobs.complete_chunk(task.practice_id, task.import_id, task.chunk, counts, the_clock.now())
    finish_if_done(task.practice_id, task.import_id, objects=objects, clock=clock)


def _unregister(practice_id: str, writer: str) -> None:
    """Never hides the chunk's own error: a writer left registered only makes other imports query more for
    WRITER_LIFETIME."""
    try:
        jobs.unregister_writer(practice_id, writer)
    except Exception as error:  # noqa: BLE001 - logged by type only (no item data in logs)
        logger.warning("import writer not unregistered", extra={"error_type": type(error).__name__})


def _import_rows(task: ChunkTask, job: ImportJob, store: S3ObjectStore, clock: Clock, writer: str) -> Counts:
    practice = practices_store.get_practice(task.practice_id)
    country = practice.country if practice else "US"
    stream = store.stream(job.source_bucket, job.source_key, task.start, task.end)
    spans = record_spans(stream, offset=task.start, line=task.first_row)
    counts = Counts()
    profiles_written = _nothing_in_flight
    while block := list(islice(spans, BLOCK_ROWS)):
        block_counts, profiles_written = _process_block(job, block, country, clock.now(), profiles_written, writer)
        counts.add(block_counts)
        jobs.add_progress(task.practice_id, task.import_id, block_counts)
    profiles_written()
    return counts


def _nothing_in_flight() -> int:
    return 0


@dataclass
class _Pending:
    row: PatientRow
    patient: Patient
    duplicates: list[DuplicatePair]


def _process_block(
    job: ImportJob,
    block: list[Span],
    country: str,
    now: datetime,
    earlier_profiles: Callable[[], int],
    writer: str,
) -> tuple[Counts, Callable[[], int]]:
    """Imports one block of rows; returns its counts and a wait for its last profiles (see _Block)."""
    state = _Block(job, now, earlier_profiles, writer)
    valid = state.parse(block, country)
    profiles_written = state.run(valid)
    return state.counts, profiles_written


class _Block:
    """Rows in file order, with the effect of one-row-at-a-time processing whatever the block or chunk cuts:
    new rows are written in batches (segments), and a row that updates a patient first flushes the rows before it.

    The block's last profiles are still being written when it returns (the caller waits for them): the next block
    reads and looks up its rows meanwhile, and waits for them before it writes anything or reads a profile, so a
    block's items are never stored before the previous block's "row done" marks."""

    def __init__(self, job: ImportJob, now: datetime, earlier_profiles: Callable[[], int], writer: str) -> None:
        self.job, self.now, self.earlier_profiles, self.writer = job, now, earlier_profiles, writer
        self.counts = Counts()
        self.issues: list[RowIssue] = []
        self.segment: list[_Pending] = []
        self.patience = _Patience()
        self.actor = actor_for(job.import_id)

    def parse(self, block: list[Span], country: str) -> list[PatientRow]:
        valid: list[PatientRow] = []
        for span in block:
            number = span.first_line  # R-IMPORT-6: rows are numbered by the line they start on
            if span.data is None:
                self.counts.rows_read += 1
                self.counts.rejected += 1
                self.issues.append(_skipped_issue(span))
                continue
            cells = cells_of(span.data)
            if cells is None:
                self.counts.rows_read += 1
                self.counts.rejected += 1
                self.issues.append(RowIssue(number, "row", "unreadable_row", "This row is not readable CSV."))
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line is not a row
            self.counts.rows_read += 1
            parsed, row_issues = parse_row(number, cells, self.job.columns, self.now.date(), country)
            if parsed is None:
                self.counts.rejected += 1  # its errors say why; warnings about a row not imported would be noise
                self.issues += [issue for issue in row_issues if issue.severity == "error"]
            else:
                self.issues += row_issues
                valid.append(parsed)
        self.counts.warnings += sum(1 for issue in self.issues if issue.severity == "warning")
        return valid

    def run(self, valid: list[PatientRow]) -> Callable[[], int]:
        self.writers_seen = jobs.writers(self.job.practice_id)  # before the look-up: see _flag_duplicates
        existing = _lookup(self.job, valid)
        self.heads: set[str] = existing["heads"]  # grows with every partition this block writes
        self.claimed: dict[str, str] = dict(existing["external_ids"])  # external id -> patient, as rows go by
        # Every row of the block by its (deterministic) patient id, whether written before a crash or not.
        self.block_rows = {_derived_id(self.job.import_id, row.row, "patient"): row.row for row in valid}
        for row in valid:
            own_id = _derived_id(self.job.import_id, row.row, "patient")
            if (self.job.practice_id, own_id) in existing["profiles"]:
                # Written by an earlier attempt at this chunk: count it as then, write nothing.
                self.counts.created += 1
                self.counts.duplicates += row.row in existing["flagged"]
                if row.external_id and row.external_id not in self.claimed:
                    # A profile imported before claims went first may lack its claim: the row still owns the id,
                    # so a later row with it updates this profile instead of creating a second one.
                    self.claimed[row.external_id] = own_id
                continue
            owner = self.claimed.get(row.external_id) if row.external_id else None
            if owner and owner != own_id:
                # R-IMPORT-2: a known external id updates that patient (versioned, never a batch write).
                self._flush()
                self._update(row, self.claimed[str(row.external_id)])  # the flush may have learnt a new owner
                continue
            if row.external_id:
                self.claimed[row.external_id] = own_id
            self.segment.append(_Pending(row, _new_patient(self.job, row, own_id, self.now), []))
        return self._flush(last=True)

    def _update(self, row: PatientRow, patient_id: str) -> None:
        self.counts.updated += 1
        update_issues = _update_existing(self.job, row, patient_id, self.now, self.heads, self.patience)
        self.counts.warnings += len(update_issues)
        self.issues.extend(update_issues)

    def _flush(self, last: bool = False) -> Callable[[], int]:
        self.earlier_profiles()
        self._claim_external_ids()
        _find_duplicates(self.segment, self.heads, self.block_rows)
        profiles = _store_segment(self.job, self.segment, self.heads, self.actor)
        pairs = self._flag_duplicates()
        # Row issues and pairs before profiles: a profile is the "row done" mark a retry trusts, so every item of
        # its row is stored before it; a crash in between leaves rows the retry redoes whole.
        jobs.batch_put([_error_item(self.job, issue) for issue in self.issues] + pairs)
        profiles_written = jobs.start_batch_put(profiles)
        self.segment.clear()
        self.issues.clear()
        if last:
            return profiles_written
        profiles_written()
        return _nothing_in_flight

    def _claim_external_ids(self) -> None:
        """Before any other item of the segment's rows: an id another writer claimed meanwhile (a parallel chunk,
        another upload) makes its row an update of that writer's patient."""
        wanted = [(p.row.external_id, p.patient.patient_id) for p in self.segment if p.row.external_id]
        pages = [dict(wanted[start : start + CONDITIONAL_PAGE]) for start in range(0, len(wanted), CONDITIONAL_PAGE)]
        taken: dict[str, str] = {}
        for lost in jobs.in_parallel(self._claim_page, pages):
            taken.update(lost)
        for pending in [pending for pending in self.segment if pending.row.external_id in taken]:
            external_id = str(pending.row.external_id)
            self.claimed[external_id] = taken[external_id]
            self.segment.remove(pending)
            self._update(pending.row, taken[external_id])

    def _claim_page(self, claims: dict[str, str]) -> dict[str, str]:
        return patients_store.claim_external_ids(self.job.practice_id, claims, self.now)

    def _flag_duplicates(self) -> list[Any]:
        """Counts and flags the segment's probable duplicates; returns their pair items. Another import that wrote
        while this block looked up and wrote may hold duplicates the look-up could not see yet: a Query made after
        this segment's writes does (R-IMPORT-4; docs/data-model.md, "imports side by side")."""
        writers_now = jobs.writers(self.job.practice_id) if self.segment else None
        if writers_now and writers_now.raced(self.writers_seen, self.writer, self.now - WRITER_LIFETIME):
            _add_stored_duplicates(self.segment, self.block_rows)
        pairs: list[Any] = []
        for pending in self.segment:
            self.counts.created += 1
            if pending.duplicates:
                self.counts.duplicates += 1
                self.issues.append(_duplicate_issue(pending))
            pairs += [patients_store.pair_item_of(pending.patient, pair) for pair in pending.duplicates]
        return pairs


def _skipped_issue(span: Span) -> RowIssue:
    """R-IMPORT-6: one row error for a run of lines on which no well-formed record starts (docs/api-extensions.md)."""
    first, last = span.first_line, span.last_line
    lines = f"Line {first}" if first == last else f"Lines {first}-{last}"
    message = (
        f"{lines}: not a well-formed CSV record (a quote that does not close before the end of the line, text "
        f"after a closing quote, or a record over {MAX_RECORD_LINES} lines or {MAX_RECORD_BYTES // 1024} KiB); "
        "skipped, the next line was read as a new row."
    )
    return RowIssue(first, "row", "malformed_record", message)


def _store_segment(job: ImportJob, segment: list[_Pending], heads: set[str], actor: str) -> list[Any]:
    """Stores every item of the segment's rows but profiles (returned: the caller writes them last, after the rows'
    duplicate pairs and flags) and index heads already stored."""
    return jobs.store_rows_but_profiles([pending.patient for pending in segment], actor, heads)


def _duplicate_partitions(patient: Patient) -> list[str]:
    """The partitions whose entries make a probable duplicate: name+DOB, and the cell phone (not landlines)."""
    cell = [patient.cell_phone] if patient.cell_phone else []
    return patients_store.partitions_of(
        patient.practice_id, patient.first_name, patient.last_name, patient.date_of_birth, cell
    )


def _add_stored_duplicates(segment: list[_Pending], block_rows: dict[str, int]) -> None:
    """Queries every name+DOB and cell-phone partition of the segment again (after its own writes) and adds what
    other writers stored there to the rows' duplicates."""
    own = {pending.patient.patient_id for pending in segment}
    partitions = {partition for pending in segment for partition in _duplicate_partitions(pending.patient)}
    found = _LOOKUPS.map(lambda pending: _stored_matches(pending.patient, partitions), segment)
    for pending, (names, phones) in zip(segment, found, strict=True):
        row = pending.row.row
        names = [m for m in names if m[0] not in own and block_rows.get(m[0], 0) < row]
        phones = [m for m in phones if m not in own and block_rows.get(m, 0) < row]
        known = {pid for pair in pending.duplicates for pid in pair.patient_ids}
        for other, reason in _pairs_of(pending.patient, names, phones).items():
            if other not in known:
                pending.duplicates.append(DuplicatePair(sorted((pending.patient.patient_id, other)), reason))


def _error_item(job: ImportJob, issue: RowIssue) -> Any:
    return jobs.error_item(job.practice_id, job.import_id, RowError(issue.row, issue.field, issue.code, issue.message))


def _lookup(job: ImportJob, rows: list[PatientRow]) -> dict[str, Any]:
    """A30: BatchGetItem per block for external-id claims, the rows' own (deterministic) profiles and the heads of
    their phone and name+DOB index partitions (only a partition with a head can hold a probable duplicate)."""
    partitions: list[str] = []
    for row in rows:
        numbers = [number for number in (row.cell_phone, row.landline) if number]
        partitions += patients_store.partitions_of(
            job.practice_id, row.first_name, row.last_name, row.date_of_birth, numbers
        )
    found = jobs.lookup_block(
        job.practice_id,
        [_derived_id(job.import_id, row.row, "patient") for row in rows],
        [row.external_id for row in rows if row.external_id],
        partitions,
    )
    flagged: set[int] = set()
    done_rows = [
        r.row for r in rows if (job.practice_id, _derived_id(job.import_id, r.row, "patient")) in found.profiles
    ]
    if done_rows:  # only on a retry: which of the rows already written were flagged as duplicates
        flagged = jobs.flagged_rows(job.practice_id, job.import_id, done_rows, *DUPLICATE_FLAG)
    return {"profiles": found.profiles, "external_ids": found.external_ids, "flagged": flagged, "heads": found.heads}


def _new_patient(job: ImportJob, row: PatientRow, patient_id: str, now: datetime) -> Patient:
    return Patient(
        practice_id=job.practice_id,
        patient_id=patient_id,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        conversation_id=_derived_id(job.import_id, row.row, "conversation"),
        created_at=now,
        cell_phone=row.cell_phone,
        landlines=[row.landline] if row.landline else [],
        email=row.email,
        external_id=row.external_id,
    )


def _find_duplicates(pending: list[_Pending], heads: set[str], block_rows: dict[str, int] | None = None) -> None:
    """R-IMPORT-4 / R-CREATE-4: same name and DOB, or same cell phone, as a profile already stored or as an
    earlier row of this block, without the same external id. Stored profiles: a Query per partition that has a
    head (most rows have none), in parallel."""
    block_rows = block_rows or {}
    found = list(_LOOKUPS.map(lambda patient: _stored_matches(patient, heads), [p.patient for p in pending]))

    # After a crash, index items of this block's later rows may already be stored: on the first attempt they did
    # not exist yet, so they are no match for an earlier row (and the segment's own rows are matched below).
    def _earlier(candidate: str, row: int) -> bool:
        return block_rows.get(candidate, 0) < row and candidate not in own

    own = {p.patient.patient_id for p in pending}
    found = [
        ([m for m in names if _earlier(m[0], p.row.row)], [m for m in phones if _earlier(m, p.row.row)])
        for p, (names, phones) in zip(pending, found, strict=True)
    ]
    by_name: dict[tuple[str, str, date], list[Patient]] = {}
    by_phone: dict[str, list[Patient]] = {}
    for item, (name_matches, phone_matches) in zip(pending, found, strict=True):
        patient = item.patient
        name_key = (patient.first_name.casefold(), patient.last_name.casefold(), patient.date_of_birth)
        name_matches += [(o.patient_id, o.external_id) for o in by_name.get(name_key, [])]
        phone_matches += [o.patient_id for o in by_phone.get(patient.cell_phone or "", [])]
        pairs = _pairs_of(patient, name_matches, phone_matches)
        item.duplicates = [DuplicatePair(sorted((patient.patient_id, o)), reason) for o, reason in pairs.items()]
        by_name.setdefault(name_key, []).append(patient)
        if patient.cell_phone:
            by_phone.setdefault(patient.cell_phone, []).append(patient)


def _pairs_of(patient: Patient, name_matches: list[tuple[str, str | None]], phone_matches: list[str]) -> dict[str, str]:
    """{other patient: reason}: same name and DOB without the same external id, or the same cell phone."""
    pairs: dict[str, str] = {}
    for other_id, other_ext in name_matches:
        if other_id != patient.patient_id and not (other_ext and other_ext == patient.external_id):
            pairs.setdefault(other_id, "same_name_and_dob")
    for other_id in phone_matches if patient.cell_phone else []:
        if other_id != patient.patient_id:
            pairs.setdefault(other_id, "same_cell_phone")
    return pairs


def _stored_matches(patient: Patient, heads: set[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    first, last, dob = patient.first_name, patient.last_name, patient.date_of_birth.isoformat()
    names: list[tuple[str, str | None]] = []
    if keys.name_dob_pk(patient.practice_id, first, last, dob) in heads:
        names = patients_store.patient_ids_by_name_dob(patient.practice_id, first, last, dob)
    phones: list[str] = []
    if patient.cell_phone and keys.phone_pk(patient.practice_id, patient.cell_phone) in heads:
        phones = [
            pid
            for pid, line_type, _ in patients_store.patient_ids_by_phone(patient.practice_id, patient.cell_phone)
            if line_type == "cell"
        ]
    return names, phones


def _duplicate_issue(pending: _Pending) -> RowIssue:
    reasons = sorted({pair.reason.replace("_", " ") for pair in pending.duplicates})
    own = pending.patient.patient_id
    others = sorted({pid for pair in pending.duplicates for pid in pair.patient_ids if pid != own})
    message = f"Probable duplicate ({', '.join(reasons)}) of patient {', '.join(others[:3])}."
    return RowIssue(pending.row.row, *DUPLICATE_FLAG, message, "warning")


@dataclass
class _Patience:
    """Whether a block still waits for profiles another writer is storing: once one never came, it stops waiting
    (the writer stopped; its other claims will not come either), so a block waits at most once in vain."""

    exhausted: bool = False


def _update_existing(
    job: ImportJob, row: PatientRow, patient_id: str, now: datetime, heads: set[str], patience: _Patience
) -> list[RowIssue]:
    """R-IMPORT-2: a row whose external id is known updates that patient: versioned writes, never batches
    (PITFALLS), re-read and retried when another writer got there first (R-REL-2)."""
    for _ in range(5):
        current = _profile_to_update(job, row, patient_id, now, patience)
        if current is None:
            message = "No stored profile has this external id (merged away, or its import stopped half-way)."
            return [RowIssue(row.row, "external_id", "not_updated_missing", message, "warning")]
        changed, issues = _apply_row(current, row)
        if changed is None:
            return issues
        if patient_updates.update_patient_versioned(
            current, changed, actor=actor_for(job.import_id), action="patient.import_update", at=now
        ):
            heads.update(patients_store.index_partitions(changed))
            return issues
    raise RuntimeError("the profile kept changing during the import")


# A claim this recent without its profile is a writer still storing its rows (a parallel chunk, another upload):
# a live writer stores a block's profiles seconds after claiming its ids, and a writer that stopped claims afresh
# when it is retried. About 21 s of pauses cover the rest of its block.
CLAIM_IN_FLIGHT = timedelta(minutes=2)
PROFILE_WAITS = 10


def _profile_to_update(
    job: ImportJob, row: PatientRow, patient_id: str, now: datetime, patience: _Patience
) -> Patient | None:
    current = patients_store.get_patient(job.practice_id, patient_id, consistent=True)
    if current is not None or not row.external_id or patience.exhausted:
        return current
    claim = patients_store.external_id_claim(job.practice_id, row.external_id, consistent=True)
    if claim is None or claim[0] != patient_id or claim[1] is None or now - claim[1] > CLAIM_IN_FLIGHT:
        return None
    for attempt in range(PROFILE_WAITS):
        sleep(min(5.0, 0.05 * 2**attempt))
        current = patients_store.get_patient(job.practice_id, patient_id, consistent=True)
        if current is not None:
            return current
    patience.exhausted = True
    return None


def _apply_row(current: Patient, row: PatientRow) -> tuple[Patient | None, list[RowIssue]]:
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


# ---------- finishing ----------


def finish_if_done(
    practice_id: str, import_id: str, *, objects: S3ObjectStore | None = None, clock: Clock | None = None
) -> None:
    """The last chunk to finish sums the chunks (exact totals), writes the report and completes the job."""
    job = jobs.get_job(practice_id, import_id, consistent=True)
    if job is None or job.status != "running" or job.chunks_done < job.chunks_total:
        return
    totals = jobs.chunk_totals(practice_id, import_id)
    now = (clock or get_clock()).now()
    if totals.rows_read == 0:
        jobs.finish_job(
            practice_id, import_id, status="failed", at=now, error="The file has a header but no data rows.",
            error_code="no_rows", counts=totals,
        )  # fmt: skip
        return
    report_key = report_key_for(job.source_key, import_id)
    write_report(job, report_key, objects or get_object_store())
    if jobs.finish_job(practice_id, import_id, status="completed", at=now, counts=totals, report_key=report_key):
        logger.info("import completed", extra={f"count_{k}": v for k, v in totals.as_dict().items()})


def write_report(job: ImportJob, report_key: str, objects: S3ObjectStore) -> None:
    """R-IMPORT-3: row, field, code, message — every cell neutralised against spreadsheet formulas."""
    with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+b") as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(REPORT_HEADER)
        for issue in jobs.row_errors(job.practice_id, job.import_id):
            writer.writerow(report_line(issue.row, issue.field, issue.code, issue.message))
        text.flush()
        text.detach()  # the spool stays open for the upload
        spool.seek(0)
        objects.put_file(job.source_bucket, report_key, spool)


# ---------- reading jobs (API) ----------


def get_import(practice_id: str, import_id: str) -> tuple[ImportJob, list[RowError]]:
    from frontdesk.errors import NotFound

    job = jobs.get_job(practice_id, import_id)
    if job is None:
        raise NotFound("No such import.")
    return job, list(jobs.row_errors(practice_id, import_id, limit=API_ERRORS_SHOWN))


def list_imports(practice_id: str, limit: int, start_key: dict | None) -> tuple[list[ImportJob], dict | None]:
    return jobs.list_jobs(practice_id, limit, start_key)


def list_duplicates(practice_id: str, limit: int, start_key: dict | None) -> tuple[list[DuplicatePair], dict | None]:
    return patients_store.list_duplicates(practice_id, limit, start_key)
