"""Starting an import (R-IMPORT-2, R-IMPORT-5): the S3 handler creates the job once per object, reads the header,
then processes the file inline (one chunk) or fans its byte-range chunks out to the chunk queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools import Logger

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.objects import S3ObjectStore, get_object_store
from frontdesk.domain.csv_rows import Header, ImportFailed, import_id_for
from frontdesk.domain.import_jobs import ChunkTask, Counts, ImportJob, RowError, S3Object, practice_of_key
from frontdesk.domain.imports import plan_chunks
from frontdesk.services.imports.engine import process_chunk
from frontdesk.settings import get_settings
from frontdesk.store import imports as jobs
from frontdesk.store import practices as practices_store

logger = Logger()

ChunkSender = Callable[[ChunkTask], None]


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
            store.stream(obj.bucket, obj.key),
            obj.size,
            practice_id,
            import_id,
            chunk_bytes or get_settings().import_chunk_bytes,
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
    jobs.store_row_errors(practice_id, import_id, issues)
    if jobs.complete_chunk(practice_id, import_id, 0, Counts(warnings=len(issues)), now):
        jobs.add_progress(practice_id, import_id, Counts(warnings=len(issues)))
