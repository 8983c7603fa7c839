"""Import jobs, their chunks and row errors (docs/data-model.md: ImportJob, ImportChunk, ImportError; A29, A30), the
practice's writers at work, and the block engine's reads and writes of patient items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action

from frontdesk.domain.csv_rows import PatientRow
from frontdesk.domain.import_jobs import (
    COUNT_FIELDS,
    BlockLookup,
    Counts,
    ImportJob,
    RowError,
    Writers,
    registered_at,
    writer_entry,
)
from frontdesk.domain.patients import Patient
from frontdesk.store import batch, keys
from frontdesk.store.base import TableItem, cancellation_codes, transaction

if TYPE_CHECKING:
    from frontdesk.domain.patients import DuplicatePair


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


def register_writer(practice_id: str, name: str, at: datetime, forget_before: datetime) -> str:
    """Adds a writer (UpdateItem: ADD to the set, ADD 1 to changes) and returns its entry for unregister_writer.
    Entries registered before `forget_before` (writers that died without leaving) are removed on the way, so the
    set stays small."""
    entry = writer_entry(name, at)
    item = _writers_update(practice_id, [ImportWritersItem.writers.add({entry}), ImportWritersItem.changes.add(1)])
    dead = {writer for writer in item.writers or () if registered_at(writer) < forget_before}
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


def _error_item(practice_id: str, import_id: str, issue: RowError) -> ImportErrorItem:
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


def store_row_errors(
    practice_id: str, import_id: str, issues: list[RowError], pairs: list[tuple[Patient, DuplicatePair]] | None = None
) -> None:
    """Stores the row issues and the probable-duplicate pairs found with them, in one round of batches."""
    from frontdesk.store.patients import pair_item_of

    items: list[TableItem] = [_error_item(practice_id, import_id, issue) for issue in issues]
    batch.batch_put(items + [pair_item_of(patient, pair) for patient, pair in pairs or []])


def row_errors(practice_id: str, import_id: str, limit: int | None = None) -> Iterator[RowError]:
    """Pages through the job's row issues in row order (the report streams them; the API shows the first)."""
    for item in ImportErrorItem.query(
        keys.import_pk(practice_id, import_id), ImportErrorItem.sk.startswith("ERROR#"), limit=limit
    ):
        yield RowError(row=int(item.row), field=item.field, code=item.code, message=item.message)


# ----- the block engine's reads and writes of patient items (A30) -----


def lookup_block(
    practice_id: str, patient_ids: list[str], external_ids: list[str], partitions: list[str]
) -> BlockLookup:
    """A30: one BatchGetItem per 100 keys for the rows' (deterministic) profiles, external-id claims and heads."""
    from frontdesk.store.patients import ExternalIdItem, IndexHeadItem, PatientItem

    wanted = [PatientItem.key(practice_id, patient_id) for patient_id in patient_ids]
    wanted += [ExternalIdItem.key(practice_id, external_id) for external_id in external_ids]
    wanted += [IndexHeadItem.key(partition) for partition in partitions]
    found = batch.batch_get(wanted).values()
    return BlockLookup(
        profiles={(i.practice_id, i.patient_id) for i in found if isinstance(i, PatientItem)},
        external_ids={i.pk.rsplit("#EXTID#", 1)[1]: i.patient_id for i in found if isinstance(i, ExternalIdItem)},
        heads={i.pk for i in found if isinstance(i, IndexHeadItem)},
    )


def flagged_rows(practice_id: str, import_id: str, rows: list[int], field_name: str, code: str) -> set[int]:
    """Which of `rows` have the row error (field_name, code) stored (one BatchGetItem per 100 rows)."""
    flag_keys = {ImportErrorItem.key(practice_id, import_id, row, field_name, code): row for row in rows}
    return {flag_keys[key] for key in batch.batch_get(flag_keys)}


def store_rows_but_profiles(patients: list[Patient], actor: str, heads: set[str]) -> Callable[[], Callable[[], int]]:
    """Stores every item of these new patients but their profiles, and index heads not in `heads` (which grows).
    Returns `start_profiles`: the caller calls it last (a stored profile marks its row done), and it returns the wait
    for those writes (the profile items never leave the store)."""
    from frontdesk.store.patients import PatientItem, index_partitions, new_patient_items

    items: list[TableItem] = []
    for patient in patients:
        items += new_patient_items(patient, actor=actor, heads_present=heads)
        heads.update(index_partitions(patient))
    batch.batch_put([item for item in items if not isinstance(item, PatientItem)])
    profiles = [item for item in items if isinstance(item, PatientItem)]
    return lambda: batch.start_batch_put(profiles)


def row_partitions(practice_id: str, row: PatientRow) -> list[str]:
    """The name+DOB and phone index partitions a row's profile would be in (looked up for their heads)."""
    from frontdesk.store.patients import partitions_of

    numbers = [number for number in (row.cell_phone, row.landline) if number]
    return partitions_of(practice_id, row.first_name, row.last_name, row.date_of_birth, numbers)


def duplicate_partitions(patient: Patient) -> list[str]:
    """The partitions whose entries make a probable duplicate: name+DOB, and the cell phone (not landlines)."""
    from frontdesk.store.patients import partitions_of

    cell = [patient.cell_phone] if patient.cell_phone else []
    return partitions_of(patient.practice_id, patient.first_name, patient.last_name, patient.date_of_birth, cell)


def stored_matches(
    patient: Patient, partitions: set[str]
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str]]]:
    """The candidates of a probable duplicate among the stored profiles: (patient_id, external_id) of the entries
    under the patient's name and DOB, (patient_id, line_type) of those under its cell phone — each partition
    queried only when it is in `partitions` (one with a head: an empty partition needs no Query)."""
    from frontdesk.store.patients import patient_ids_by_name_dob, patient_ids_by_phone

    first, last, dob = patient.first_name, patient.last_name, patient.date_of_birth.isoformat()
    names: list[tuple[str, str | None]] = []
    if keys.name_dob_pk(patient.practice_id, first, last, dob) in partitions:
        names = patient_ids_by_name_dob(patient.practice_id, first, last, dob)
    numbers: list[tuple[str, str]] = []
    if patient.cell_phone and keys.phone_pk(patient.practice_id, patient.cell_phone) in partitions:
        numbers = [(pid, line) for pid, line, _ in patient_ids_by_phone(patient.practice_id, patient.cell_phone)]
    return names, numbers
