"""The chunk worker's engine (R-IMPORT-1, R-IMPORT-2, R-IMPORT-4, R-IMPORT-6): a chunk's rows are streamed in
blocks; each block is looked up in one BatchGetItem round (A30), its external ids claimed before anything else of
its rows is written, its new rows written in batches with their profiles last (the "row done" mark a retry
trusts). Each chunk registers as a writer of the practice while it works, so a block can tell whether another
import may have written a probable duplicate it could not see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from aws_lambda_powertools import Logger

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.objects import S3ObjectStore, get_object_store
from frontdesk.domain.csv_rows import PatientRow, RowIssue, Span, cells_of, parse_row, record_spans
from frontdesk.domain.import_jobs import ChunkTask, Counts, ImportJob, RowError
from frontdesk.domain.imports import actor_for, derived_id, new_patient, skipped_issue
from frontdesk.domain.patients import DuplicatePair, Patient
from frontdesk.services.imports.duplicates import (
    DUPLICATE_FLAG,
    Pending,
    add_stored_duplicates,
    duplicate_issue,
    find_duplicates,
)
from frontdesk.services.imports.report import finish_if_done
from frontdesk.services.imports.waiting import Patience, update_existing
from frontdesk.store import batch
from frontdesk.store import imports as jobs
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store

logger = Logger()

CONDITIONAL_PAGE = 25  # puts per TransactWriteItems of the import (measured on DynamoDB Local: faster than 100)
# A registered import writer older than this is one that died without unregistering (Lambda stops a chunk at
# 15 minutes; the local runner's chunks take less than this too).
WRITER_LIFETIME = timedelta(minutes=30)
BLOCK_ROWS = 250  # look-ups per block, in BatchGetItem pages of 100 keys; writes go out 25 items at a time (A30)


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
        self.segment: list[Pending] = []
        self.patience = Patience()
        self.actor = actor_for(job.import_id)

    def parse(self, block: list[Span], country: str) -> list[PatientRow]:
        valid: list[PatientRow] = []
        for span in block:
            number = span.first_line  # R-IMPORT-6: rows are numbered by the line they start on
            if span.data is None:
                self.counts.rows_read += 1
                self.counts.rejected += 1
                self.issues.append(skipped_issue(span))
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
        self.block_rows = {derived_id(self.job.import_id, row.row, "patient"): row.row for row in valid}
        for row in valid:
            own_id = derived_id(self.job.import_id, row.row, "patient")
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
            patient = new_patient(self.job.practice_id, self.job.import_id, row, own_id, self.now)
            self.segment.append(Pending(row, patient, []))
        return self._flush(last=True)

    def _update(self, row: PatientRow, patient_id: str) -> None:
        self.counts.updated += 1
        update_issues = update_existing(self.job, row, patient_id, self.now, self.heads, self.patience)
        self.counts.warnings += len(update_issues)
        self.issues.extend(update_issues)

    def _flush(self, last: bool = False) -> Callable[[], int]:
        self.earlier_profiles()
        self._claim_external_ids()
        find_duplicates(self.segment, self.heads, self.block_rows)
        # Every item of the segment's rows but profiles (the caller writes them last, after the rows' duplicate
        # pairs and flags) and index heads already stored.
        start_profiles = jobs.store_rows_but_profiles([p.patient for p in self.segment], self.actor, self.heads)
        pairs = self._flag_duplicates()
        # Row issues and pairs before profiles: a profile is the "row done" mark a retry trusts, so every item of
        # its row is stored before it; a crash in between leaves rows the retry redoes whole.
        errors = [RowError(issue.row, issue.field, issue.code, issue.message) for issue in self.issues]
        jobs.store_row_errors(self.job.practice_id, self.job.import_id, errors, pairs)
        profiles_written = start_profiles()
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
        for lost in batch.in_parallel(self._claim_page, pages):
            taken.update(lost)
        for pending in [pending for pending in self.segment if pending.row.external_id in taken]:
            external_id = str(pending.row.external_id)
            self.claimed[external_id] = taken[external_id]
            self.segment.remove(pending)
            self._update(pending.row, taken[external_id])

    def _claim_page(self, claims: dict[str, str]) -> dict[str, str]:
        return patients_store.claim_external_ids(self.job.practice_id, claims, self.now)

    def _flag_duplicates(self) -> list[tuple[Patient, DuplicatePair]]:
        """Counts and flags the segment's probable duplicates; returns their pairs. Another import that wrote
        while this block looked up and wrote may hold duplicates the look-up could not see yet: a Query made after
        this segment's writes does (R-IMPORT-4; docs/data-model.md, "imports side by side")."""
        writers_now = jobs.writers(self.job.practice_id) if self.segment else None
        if writers_now and writers_now.raced(self.writers_seen, self.writer, self.now - WRITER_LIFETIME):
            add_stored_duplicates(self.segment, self.block_rows)
        pairs: list[tuple[Patient, DuplicatePair]] = []
        for pending in self.segment:
            self.counts.created += 1
            if pending.duplicates:
                self.counts.duplicates += 1
                self.issues.append(duplicate_issue(pending))
            pairs += [(pending.patient, pair) for pair in pending.duplicates]
        return pairs


def _lookup(job: ImportJob, rows: list[PatientRow]) -> dict[str, Any]:
    """A30: BatchGetItem per block for external-id claims, the rows' own (deterministic) profiles and the heads of
    their phone and name+DOB index partitions (only a partition with a head can hold a probable duplicate)."""
    found = jobs.lookup_block(
        job.practice_id,
        [derived_id(job.import_id, row.row, "patient") for row in rows],
        [row.external_id for row in rows if row.external_id],
        [row_partition for row in rows for row_partition in jobs.row_partitions(job.practice_id, row)],
    )
    flagged: set[int] = set()
    done_rows = [
        r.row for r in rows if (job.practice_id, derived_id(job.import_id, r.row, "patient")) in found.profiles
    ]
    if done_rows:  # only on a retry: which of the rows already written were flagged as duplicates
        flagged = jobs.flagged_rows(job.practice_id, job.import_id, done_rows, *DUPLICATE_FLAG)
    return {"profiles": found.profiles, "external_ids": found.external_ids, "flagged": flagged, "heads": found.heads}
