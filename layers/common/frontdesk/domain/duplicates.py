"""The one probable-duplicate rule (R-IMPORT-4, R-CREATE-4), for a patient being created (API or import) or given a
new cell phone: which other profiles make a pair with it, and why. The callers find the candidates (index entries);
the rule decides."""

from __future__ import annotations

from collections.abc import Iterable

SAME_NAME_AND_DOB = "same_name_and_dob"
SAME_CELL_PHONE = "same_cell_phone"


def probable_duplicates(
    patient_id: str,
    external_id: str | None,
    same_name_and_dob: Iterable[tuple[str, str | None]] = (),
    same_number: Iterable[tuple[str, str]] = (),
) -> dict[str, str]:
    """{other patient id: reason}, in the order found.

    `same_name_and_dob`: (patient_id, external_id) of the profiles with the patient's first name, last name and DOB;
    each is a probable duplicate unless both have the same external id (an update of one patient, R-IMPORT-2).
    `same_number`: (patient_id, line_type) of the profiles with the patient's cell phone among their numbers; only
    another cell phone makes a pair (a shared landline does not). The name reason wins when both hold; a patient
    is never its own duplicate."""
    pairs: dict[str, str] = {}
    for other_id, other_external_id in same_name_and_dob:
        if other_id != patient_id and not (other_external_id and other_external_id == external_id):
            pairs.setdefault(other_id, SAME_NAME_AND_DOB)
    for other_id, line_type in same_number:
        if other_id != patient_id and line_type == "cell":
            pairs.setdefault(other_id, SAME_CELL_PHONE)
    return pairs
