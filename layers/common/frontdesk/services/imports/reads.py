"""The API's reads of imports (R-IMPORT-3, R-IMPORT-4): a job with its first row errors, a practice's jobs, and
the probable-duplicate pairs."""

from __future__ import annotations

from frontdesk.domain.import_jobs import ImportJob, RowError
from frontdesk.domain.patients import DuplicatePair
from frontdesk.errors import NotFound
from frontdesk.store import imports as jobs
from frontdesk.store import patients as patients_store

API_ERRORS_SHOWN = 200


def get_import(practice_id: str, import_id: str) -> tuple[ImportJob, list[RowError]]:
    job = jobs.get_job(practice_id, import_id)
    if job is None:
        raise NotFound("No such import.")
    return job, list(jobs.row_errors(practice_id, import_id, limit=API_ERRORS_SHOWN))


def list_imports(practice_id: str, limit: int, start_key: dict | None) -> tuple[list[ImportJob], dict | None]:
    return jobs.list_jobs(practice_id, limit, start_key)


def list_duplicates(practice_id: str, limit: int, start_key: dict | None) -> tuple[list[DuplicatePair], dict | None]:
    return patients_store.list_duplicates(practice_id, limit, start_key)
