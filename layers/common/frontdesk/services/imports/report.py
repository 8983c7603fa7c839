"""Finishing an import (R-IMPORT-3): the last chunk to finish sums the chunks (exact totals), writes the CSV report
beside the upload and completes the job."""

from __future__ import annotations

import csv
import io
import tempfile

from aws_lambda_powertools import Logger

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.objects import S3ObjectStore, get_object_store
from frontdesk.domain.csv_rows import REPORT_HEADER, report_line
from frontdesk.domain.import_jobs import ImportJob, report_key_for
from frontdesk.store import imports as jobs

logger = Logger()


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
