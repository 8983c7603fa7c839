"""A row that updates a patient (R-IMPORT-2, R-REL-2): versioned writes, never batches (PITFALLS), re-read and
retried when another writer got there first — and, when the patient's external id is claimed but its profile not
stored yet (another writer is still storing its block), a wait for that profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from time import sleep

from frontdesk.domain.csv_rows import PatientRow, RowIssue
from frontdesk.domain.import_jobs import ImportJob
from frontdesk.domain.imports import actor_for, apply_row
from frontdesk.domain.patients import Patient
from frontdesk.store import patient_updates
from frontdesk.store import patients as patients_store

# A claim this recent without its profile is a writer still storing its rows (a parallel chunk, another upload):
# a live writer stores a block's profiles seconds after claiming its ids, and a writer that stopped claims afresh
# when it is retried. About 21 s of pauses cover the rest of its block.
CLAIM_IN_FLIGHT = timedelta(minutes=2)
PROFILE_WAITS = 10
UPDATE_ATTEMPTS = 5


@dataclass
class Patience:
    """Whether a block still waits for profiles another writer is storing: once one never came, it stops waiting
    (the writer stopped; its other claims will not come either), so a block waits at most once in vain."""

    exhausted: bool = False


def update_existing(
    job: ImportJob, row: PatientRow, patient_id: str, now: datetime, heads: set[str], patience: Patience
) -> list[RowIssue]:
    """R-IMPORT-2: a row whose external id is known updates that patient; its warnings are returned."""
    for _ in range(UPDATE_ATTEMPTS):
        current = _profile_to_update(job, row, patient_id, now, patience)
        if current is None:
            message = "No stored profile has this external id (merged away, or its import stopped half-way)."
            return [RowIssue(row.row, "external_id", "not_updated_missing", message, "warning")]
        changed, issues = apply_row(current, row)
        if changed is None:
            return issues
        if patient_updates.update_patient_versioned(
            current, changed, actor=actor_for(job.import_id), action="patient.import_update", at=now
        ):
            heads.update(patients_store.index_partitions(changed))
            return issues
    raise RuntimeError("the profile kept changing during the import")


def _profile_to_update(
    job: ImportJob, row: PatientRow, patient_id: str, now: datetime, patience: Patience
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
