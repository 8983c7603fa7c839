"""Probable duplicates of a block's new rows (R-IMPORT-4 / R-CREATE-4): the candidates come from the profiles
already stored (a Query per index partition that has a head, in parallel) and from the earlier rows of the block;
domain/duplicates.py decides which make a pair."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from frontdesk.domain.csv_rows import PatientRow, RowIssue
from frontdesk.domain.duplicates import probable_duplicates
from frontdesk.domain.patients import DuplicatePair, Patient
from frontdesk.store import batch
from frontdesk.store import imports as jobs

DUPLICATE_FLAG = ("patient", "probable_duplicate")


@dataclass
class Pending:
    """A row of the segment about to be written: its new patient and that patient's probable duplicates."""

    row: PatientRow
    patient: Patient
    duplicates: list[DuplicatePair]


def _pairs(patient: Patient, names: list[tuple[str, str | None]], numbers: list[tuple[str, str]]) -> dict[str, str]:
    return probable_duplicates(patient.patient_id, patient.external_id, names, numbers if patient.cell_phone else [])


def find_duplicates(pending: list[Pending], heads: set[str], block_rows: dict[str, int] | None = None) -> None:
    """Same name and DOB, or same cell phone, as a profile already stored or as an earlier row of this block,
    without the same external id. Stored profiles: a Query per partition that has a head (most rows have none)."""
    block_rows = block_rows or {}
    found = list(batch.in_parallel(lambda patient: jobs.stored_matches(patient, heads), [p.patient for p in pending]))

    # After a crash, index items of this block's later rows may already be stored: on the first attempt they did
    # not exist yet, so they are no match for an earlier row (and the segment's own rows are matched below).
    def _earlier(candidate: str, row: int) -> bool:
        return block_rows.get(candidate, 0) < row and candidate not in own

    own = {p.patient.patient_id for p in pending}
    found = [
        ([m for m in names if _earlier(m[0], p.row.row)], [m for m in numbers if _earlier(m[0], p.row.row)])
        for p, (names, numbers) in zip(pending, found, strict=True)
    ]
    by_name: dict[tuple[str, str, date], list[Patient]] = {}
    by_phone: dict[str, list[Patient]] = {}
    for item, (name_matches, number_matches) in zip(pending, found, strict=True):
        patient = item.patient
        name_key = (patient.first_name.casefold(), patient.last_name.casefold(), patient.date_of_birth)
        name_matches += [(o.patient_id, o.external_id) for o in by_name.get(name_key, [])]
        number_matches += [(o.patient_id, "cell") for o in by_phone.get(patient.cell_phone or "", [])]
        pairs = _pairs(patient, name_matches, number_matches)
        item.duplicates = [DuplicatePair(sorted((patient.patient_id, o)), reason) for o, reason in pairs.items()]
        by_name.setdefault(name_key, []).append(patient)
        if patient.cell_phone:
            by_phone.setdefault(patient.cell_phone, []).append(patient)


def add_stored_duplicates(segment: list[Pending], block_rows: dict[str, int]) -> None:
    """Queries every name+DOB and cell-phone partition of the segment again (after its own writes) and adds what
    other writers stored there to the rows' duplicates."""
    own = {pending.patient.patient_id for pending in segment}
    partitions = {partition for pending in segment for partition in jobs.duplicate_partitions(pending.patient)}
    found = batch.in_parallel(lambda pending: jobs.stored_matches(pending.patient, partitions), segment)
    for pending, (names, numbers) in zip(segment, found, strict=True):
        row = pending.row.row
        names = [m for m in names if m[0] not in own and block_rows.get(m[0], 0) < row]
        numbers = [m for m in numbers if m[0] not in own and block_rows.get(m[0], 0) < row]
        known = {pid for pair in pending.duplicates for pid in pair.patient_ids}
        for other, reason in _pairs(pending.patient, names, numbers).items():
            if other not in known:
                pending.duplicates.append(DuplicatePair(sorted((pending.patient.patient_id, other)), reason))


def duplicate_issue(pending: Pending) -> RowIssue:
    reasons = sorted({pair.reason.replace("_", " ") for pair in pending.duplicates})
    own = pending.patient.patient_id
    others = sorted({pid for pair in pending.duplicates for pid in pair.patient_ids if pid != own})
    message = f"Probable duplicate ({', '.join(reasons)}) of patient {', '.join(others[:3])}."
    return RowIssue(pending.row.row, *DUPLICATE_FLAG, message, "warning")
