"""Import jobs, their chunks and row errors (docs/data-model.md: ImportJob, ImportChunk, ImportError; A29, A30)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action

from frontdesk.domain.patients import Patient
from frontdesk.settings import get_settings
from frontdesk.store import keys
from frontdesk.store.base import TableItem, cancellation_codes, transaction

T = TypeVar("T")
R = TypeVar("R")

BATCH_WRITE_SIZE = 25
BATCH_GET_SIZE = 100
MAX_BATCH_ATTEMPTS = 10


@dataclass
class Counts:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    warnings: int = 0
    duplicates: int = 0

    def add(self, other: Counts) -> None:
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in COUNT_FIELDS}


COUNT_FIELDS = tuple(f.name for f in fields(Counts))


@dataclass
class ImportJob:
    practice_id: str
    import_id: str
    status: str  # running | completed | failed
    source_bucket: str
    source_key: str
    etag: str
    size: int
    created_at: datetime
    counts: Counts = field(default_factory=Counts)
    columns: dict[str, int] = field(default_factory=dict)
    chunks_total: int = 0
    chunks_done: int = 0
    report_key: str | None = None
    error: str | None = None
    error_code: str | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str


class ImportJobItem(TableItem, discriminator="ImportJob"):
    practice_id = UnicodeAttribute()
    import_id = UnicodeAttribute()
    status = UnicodeAttribute()
    source_bucket = UnicodeAttribute()
    source_key = UnicodeAttribute()
    etag = UnicodeAttribute()
    size = NumberAttribute(default=0)
    rows_read = NumberAttribute(default=0)
    created = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    warnings = NumberAttribute(default=0)
    duplicates = NumberAttribute(default=0)
    columns = MapAttribute[str, Any](null=True)
    chunks_total = NumberAttribute(default=0)
    chunks_done = NumberAttribute(default=0)
    report_key = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(practice_id: str, import_id: str) -> tuple[str, str]:
        return keys.import_pk(practice_id, import_id), "JOB"


class ImportChunkItem(TableItem, discriminator="ImportChunk"):
    """Written once when a chunk finishes: the job's exact totals are the sum of its chunks."""

    practice_id = UnicodeAttribute()
    import_id = UnicodeAttribute()
    chunk = NumberAttribute()
    rows_read = NumberAttribute(default=0)
    created = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    warnings = NumberAttribute(default=0)
    duplicates = NumberAttribute(default=0)
    finished_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, import_id: str, chunk: int) -> tuple[str, str]:
        return keys.import_pk(practice_id, import_id), f"CHUNK#{chunk:06d}"


class ImportErrorItem(TableItem, discriminator="ImportError"):
    """One per row issue (errors and warnings); ordered by row, so the report reads top to bottom."""

    practice_id = UnicodeAttribute()
    import_id = UnicodeAttribute()
    row = NumberAttribute()
    field = UnicodeAttribute()
    code = UnicodeAttribute()
    message = UnicodeAttribute()

    @staticmethod
    def key(practice_id: str, import_id: str, row: int, field_name: str, code: str) -> tuple[str, str]:
        # Deterministic: a chunk processed twice rewrites the same items, it does not add more.
        return keys.import_pk(practice_id, import_id), f"ERROR#{row:010d}#{field_name}#{code}"


def _to_job(item: ImportJobItem) -> ImportJob:
    return ImportJob(
        practice_id=item.practice_id,
        import_id=item.import_id,
        status=item.status,
        source_bucket=item.source_bucket,
        source_key=item.source_key,
        etag=item.etag,
        size=int(item.size or 0),
        created_at=item.created_at,
        counts=Counts(**{name: int(getattr(item, name) or 0) for name in COUNT_FIELDS}),
        columns={str(k): int(v) for k, v in (item.columns.as_dict() if item.columns else {}).items()},
        chunks_total=int(item.chunks_total or 0),
        chunks_done=int(item.chunks_done or 0),
        report_key=item.report_key,
        error=item.error,
        error_code=item.error_code,
        finished_at=item.finished_at,
    )


def create_job(job: ImportJob) -> bool:
    """A29: once per object (import_id = hash of bucket, key and ETag). False when it already exists."""
    pk, sk = ImportJobItem.key(job.practice_id, job.import_id)
    item = ImportJobItem(
        pk,
        sk,
        practice_id=job.practice_id,
        import_id=job.import_id,
        status=job.status,
        source_bucket=job.source_bucket,
        source_key=job.source_key,
        etag=job.etag,
        size=job.size,
        created_at=job.created_at,
        gsi1pk=keys.imports_index_pk(job.practice_id),
        gsi1sk=f"{job.created_at.isoformat()}#{job.import_id}",
    )
    try:
        item.save(condition=ImportJobItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_job(practice_id: str, import_id: str, *, consistent: bool = False) -> ImportJob | None:
    try:
        return _to_job(ImportJobItem.get(*ImportJobItem.key(practice_id, import_id), consistent_read=consistent))
    except DoesNotExist:
        return None


def list_jobs(practice_id: str, limit: int, start_key: dict | None) -> tuple[list[ImportJob], dict | None]:
    result = ImportJobItem.gsi1.query(
        keys.imports_index_pk(practice_id), scan_index_forward=False, limit=limit, last_evaluated_key=start_key
    )
    jobs = [_to_job(item) for item in result if isinstance(item, ImportJobItem)]
    return jobs, result.last_evaluated_key


# ---------- writers at work (probable duplicates between imports that run at the same time) ----------


class ImportWritersItem(TableItem, discriminator="ImportWriters"):
    """The practice's import writers at work (one per chunk being processed) and a count of arrivals and
    departures: a block that saw no change and no other writer between its look-up and its writes cannot have
    raced another import for a probable duplicate."""

    practice_id = UnicodeAttribute()
    writers = UnicodeSetAttribute(null=True)  # "<import_id>#<chunk>#<registered_at>"
    changes = NumberAttribute(default=0)

    @staticmethod
    def key(practice_id: str) -> tuple[str, str]:
        return keys.import_writers_pk(practice_id), "WRITERS"


@dataclass(frozen=True)
class Writers:
    changes: int
    present: frozenset[str]

    def raced(self, earlier: Writers, me: str, alive_since: datetime) -> bool:
        """Someone arrived or left since `earlier`, or another writer registered after `alive_since` is here."""
        others = [w for w in self.present if w != me and _registered_at(w) >= alive_since]
        return self.changes != earlier.changes or bool(others)


def _registered_at(writer: str) -> datetime:
    return datetime.fromisoformat(writer.rsplit("#", 1)[1])


def register_writer(practice_id: str, name: str, at: datetime, forget_before: datetime) -> str:
    """Adds a writer (UpdateItem: ADD to the set, ADD 1 to changes) and returns its entry for unregister_writer.
    Entries registered before `forget_before` (writers that died without leaving) are removed on the way, so the
    set stays small."""
    entry = f"{name}#{at.isoformat()}"
    item = _writers_update(practice_id, [ImportWritersItem.writers.add({entry}), ImportWritersItem.changes.add(1)])
    dead = {writer for writer in item.writers or () if _registered_at(writer) < forget_before}
    if dead:
        _writers_update(practice_id, [ImportWritersItem.writers.delete(dead)])
    return entry


def unregister_writer(practice_id: str, entry: str) -> None:
    _writers_update(practice_id, [ImportWritersItem.writers.delete({entry}), ImportWritersItem.changes.add(1)])


def _writers_update(practice_id: str, actions: list[Action]) -> ImportWritersItem:
    """The item as the update left it."""
    pk, sk = ImportWritersItem.key(practice_id)
    item = ImportWritersItem(pk, sk)
    try:  # the item exists after the practice's first import: one request from then on
        item.update(actions=actions, condition=ImportWritersItem.pk.exists())
        return item
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    try:
        ImportWritersItem(pk, sk, practice_id=practice_id).save(condition=ImportWritersItem.pk.does_not_exist())
    except PutError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    item.update(actions=actions)
    return item


def writers(practice_id: str) -> Writers:
    try:
        item = ImportWritersItem.get(*ImportWritersItem.key(practice_id), consistent_read=True)
    except DoesNotExist:
        return Writers(0, frozenset())
    return Writers(int(item.changes or 0), frozenset(item.writers or ()))


def _job_stub(practice_id: str, import_id: str) -> ImportJobItem:
    pk, sk = ImportJobItem.key(practice_id, import_id)
    return ImportJobItem(pk, sk)


def set_plan(practice_id: str, import_id: str, columns: dict[str, int], chunks_total: int, warnings: int) -> None:
    _job_stub(practice_id, import_id).update(
        actions=[
            ImportJobItem.columns.set(columns),
            ImportJobItem.chunks_total.set(chunks_total),
            ImportJobItem.warnings.add(warnings),
        ],
        condition=ImportJobItem.status == "running",
    )


def add_progress(practice_id: str, import_id: str, counts: Counts) -> None:
    """Progress while running (a front end polls it); the exact totals come from the chunks at the end."""
    actions: list[Action] = [
        getattr(ImportJobItem, name).add(value) for name, value in counts.as_dict().items() if value
    ]
    if actions:
        _job_stub(practice_id, import_id).update(actions=actions)


def chunk_finished(practice_id: str, import_id: str, chunk: int) -> bool:
    try:
        ImportChunkItem.get(*ImportChunkItem.key(practice_id, import_id, chunk), consistent_read=True)
    except DoesNotExist:
        return False
    return True


def complete_chunk(practice_id: str, import_id: str, chunk: int, counts: Counts, at: datetime) -> bool:
    """Records the chunk's counts and counts it done, once (a redelivered chunk message changes nothing)."""
    pk, sk = ImportChunkItem.key(practice_id, import_id, chunk)
    item = ImportChunkItem(pk, sk, practice_id=practice_id, import_id=import_id, chunk=chunk, finished_at=at)
    for name, value in counts.as_dict().items():
        setattr(item, name, value)
    try:
        with transaction() as tx:
            tx.save(item, condition=ImportChunkItem.pk.does_not_exist())
            tx.update(_job_stub(practice_id, import_id), actions=[ImportJobItem.chunks_done.add(1)])
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in cancellation_codes(error):
            return False
        raise
    return True


def chunk_totals(practice_id: str, import_id: str) -> Counts:
    total = Counts()
    for item in ImportChunkItem.query(
        keys.import_pk(practice_id, import_id), ImportChunkItem.sk.startswith("CHUNK#"), consistent_read=True
    ):
        total.add(Counts(**{name: int(getattr(item, name) or 0) for name in COUNT_FIELDS}))
    return total


def finish_job(
    practice_id: str,
    import_id: str,
    *,
    status: str,
    at: datetime,
    counts: Counts | None = None,
    report_key: str | None = None,
    error: str | None = None,
    error_code: str | None = None,
) -> bool:
    """running -> completed | failed, exactly once (two last chunks finishing together both try)."""
    actions: list[Action] = [ImportJobItem.status.set(status), ImportJobItem.finished_at.set(at)]
    if counts is not None:
        actions += [getattr(ImportJobItem, name).set(value) for name, value in counts.as_dict().items()]
    if report_key:
        actions.append(ImportJobItem.report_key.set(report_key))
    if error:
        actions += [ImportJobItem.error.set(error), ImportJobItem.error_code.set(error_code or "invalid_file")]
    try:
        _job_stub(practice_id, import_id).update(actions=actions, condition=ImportJobItem.status == "running")
    except UpdateError as error_:
        if error_.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def restart_job(practice_id: str, import_id: str) -> bool:
    """A job that failed on an internal error (not a bad file) runs again when S3 re-delivers its event."""
    try:
        _job_stub(practice_id, import_id).update(
            actions=[ImportJobItem.status.set("running"), ImportJobItem.error.remove()],
            condition=(ImportJobItem.status == "failed") & (ImportJobItem.error_code == "internal_error"),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def error_item(practice_id: str, import_id: str, issue: RowError) -> ImportErrorItem:
    pk, sk = ImportErrorItem.key(practice_id, import_id, issue.row, issue.field, issue.code)
    return ImportErrorItem(
        pk,
        sk,
        practice_id=practice_id,
        import_id=import_id,
        row=issue.row,
        field=issue.field,
        code=issue.code,
        message=issue.message,
    )


def row_errors(practice_id: str, import_id: str, limit: int | None = None) -> Iterator[RowError]:
    """Pages through the job's row issues in row order (the report streams them; the API shows the first)."""
    for item in ImportErrorItem.query(
        keys.import_pk(practice_id, import_id), ImportErrorItem.sk.startswith("ERROR#"), limit=limit
    ):
        yield RowError(row=int(item.row), field=item.field, code=item.code, message=item.message)


# ---------- batches (A30) ----------


def batch_put(items: Iterable[TableItem]) -> int:
    """BatchWriteItem in batches of 25, sent WRITERS at a time, unprocessed items retried with exponential backoff
    and jitter. Returns how many items were written (all of them, or it raises).

    Only for items without a version (fresh inserts, import rows): batches ignore VersionAttribute (PITFALLS).
    The order between batches is not kept: callers that need "A before B" make two calls.
    """
    return start_batch_put(items)()


def start_batch_put(items: Iterable[TableItem]) -> Callable[[], int]:
    """batch_put that returns once every batch is on its way: call the result to wait for them (it raises what a
    batch raised). Each batch goes out as soon as it is serialized, so serializing the next overlaps writing it."""
    pending: list[Future[int]] = []
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item.serialize())
        if len(batch) == BATCH_WRITE_SIZE:
            pending.append(_pool().submit(_write_batch, batch))
            batch = []
    if batch:
        pending.append(_pool().submit(_write_batch, batch))
    return lambda: sum(future.result() for future in pending)


WRITERS = 8


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """The import's requests in flight at once: batch writes, BatchGetItem pages, claim transactions."""
    return ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="import-requests")


def in_parallel(work: Callable[[T], R], inputs: Iterable[T]) -> Iterator[R]:
    """work(input) for every input, WRITERS at a time, results in input order."""
    return _pool().map(work, inputs)


def _write_batch(put_items: list[dict[str, Any]]) -> int:
    table = get_settings().table_name
    # The model's own connection knows the table's schema without a DescribeTable call.
    writer = TableItem._get_connection()
    remaining = put_items
    for attempt in range(MAX_BATCH_ATTEMPTS):
        data = writer.batch_write_item(put_items=remaining) or {}
        unprocessed = (data.get("UnprocessedItems") or {}).get(table) or []
        if not unprocessed:
            return len(put_items)
        remaining = [entry["PutRequest"]["Item"] for entry in unprocessed]
        time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not security
    raise PutError(f"{len(remaining)} items stayed unprocessed after {MAX_BATCH_ATTEMPTS} attempts")


def batch_get(keys_wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TableItem]:
    """BatchGetItem per 100 keys, the pages in parallel (never one GetItem per row); unprocessed keys are retried
    by PynamoDB."""
    unique = list(dict.fromkeys(keys_wanted))
    pages = [unique[start : start + BATCH_GET_SIZE] for start in range(0, len(unique), BATCH_GET_SIZE)]
    found: dict[tuple[str, str], TableItem] = {}
    for items in _pool().map(lambda page: list(TableItem.batch_get(page)), pages):
        found.update({(item.pk, item.sk): item for item in items})
    return found


# ----- the block engine's reads and writes of patient items (A30) -----


@dataclass(frozen=True)
class BlockLookup:
    """What a block's BatchGetItem found: the rows' own profiles, the external-id claims, the index heads."""

    profiles: set[tuple[str, str]]  # (practice_id, patient_id) of profiles already stored
    external_ids: dict[str, str]  # external id -> the patient that claimed it
    heads: set[str]  # index partitions with a head (only these can hold a probable duplicate)


def lookup_block(
    practice_id: str, patient_ids: list[str], external_ids: list[str], partitions: list[str]
) -> BlockLookup:
    """A30: one BatchGetItem per 100 keys for the rows' (deterministic) profiles, external-id claims and heads."""
    from frontdesk.store.patients import ExternalIdItem, IndexHeadItem, PatientItem

    wanted = [PatientItem.key(practice_id, patient_id) for patient_id in patient_ids]
    wanted += [ExternalIdItem.key(practice_id, external_id) for external_id in external_ids]
    wanted += [IndexHeadItem.key(partition) for partition in partitions]
    found = batch_get(wanted).values()
    return BlockLookup(
        profiles={(i.practice_id, i.patient_id) for i in found if isinstance(i, PatientItem)},
        external_ids={i.pk.rsplit("#EXTID#", 1)[1]: i.patient_id for i in found if isinstance(i, ExternalIdItem)},
        heads={i.pk for i in found if isinstance(i, IndexHeadItem)},
    )


def flagged_rows(practice_id: str, import_id: str, rows: list[int], field_name: str, code: str) -> set[int]:
    """Which of `rows` have the row error (field_name, code) stored (one BatchGetItem per 100 rows)."""
    flag_keys = {ImportErrorItem.key(practice_id, import_id, row, field_name, code): row for row in rows}
    return {flag_keys[key] for key in batch_get(flag_keys)}


def store_rows_but_profiles(patients: list[Patient], actor: str, heads: set[str]) -> list[TableItem]:
    """Stores every item of these new patients but their profiles, and index heads not in `heads` (which grows).
    The profiles are returned unsaved: the caller writes them last (a stored profile marks its row done)."""
    from frontdesk.store.patients import PatientItem, index_partitions, new_patient_items

    items: list[TableItem] = []
    for patient in patients:
        items += new_patient_items(patient, actor=actor, heads_present=heads)
        heads.update(index_partitions(patient))
    batch_put([item for item in items if not isinstance(item, PatientItem)])
    return [item for item in items if isinstance(item, PatientItem)]
