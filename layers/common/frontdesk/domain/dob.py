"""Date-of-birth verification: when a patient may see their conversation, and what a DOB answer does.

States on the patient (R-DOB-1..4): dob_state none | review_pending | locked; dob_verified_at (the last match,
None before the first); dob_failed_attempts (failed re-verifications in the current lock-out); dob_reported
(the DOB the patient gave on a first-login mismatch, kept until staff resolve it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from frontdesk.domain.patients import Patient

REVERIFY_AFTER = timedelta(days=30)
MAX_DOB_FAILURES = 3


def conversation_block(patient: Patient, now: datetime) -> str | None:
    """The 403 code that keeps the patient out of the conversation, or None when they may see it."""
    if patient.dob_state == "locked":
        return "dob_locked"
    if patient.dob_state == "review_pending":
        return "dob_review_pending"
    # R-DOB-2: a failed re-verification keeps the patient out until a later answer matches.
    if patient.dob_failed_attempts > 0:
        return "dob_verification_required"
    if patient.dob_verified_at is None or now - patient.dob_verified_at > REVERIFY_AFTER:
        return "dob_verification_required"
    return None


def verification_required(patient: Patient, now: datetime) -> bool:
    """What the login answer's `dob_verification_required` says: the patient must answer the DOB question now.

    A patient waiting for staff (review_pending) or locked out cannot help it by answering: false, and the
    conversation answers them with dob_review_pending / dob_locked.
    """
    return conversation_block(patient, now) == "dob_verification_required"


@dataclass(frozen=True)
class DobOutcome:
    result: str  # verified | reported_different | failed
    patient: Patient  # the patient after the answer (persist it)
    notify: str | None  # the system message kind the team must see, if any (R-DOB-3: never on a match)


class DobBlocked(Exception):
    """The patient cannot answer now: the code is dob_review_pending or dob_locked."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def answer_dob(patient: Patient, entered: date, now: datetime) -> DobOutcome:
    """The patient's answer to "what is your date of birth?" (R-DOB-1, R-DOB-2, R-DOB-3)."""
    if patient.dob_state in ("locked", "review_pending"):
        raise DobBlocked("dob_locked" if patient.dob_state == "locked" else "dob_review_pending")
    if entered == patient.date_of_birth:
        # A match: through, and the 30 days start again; a lock-out in progress ends.
        verified = replace(patient, dob_verified_at=now, dob_failed_attempts=0, dob_state="none", dob_reported=None)
        return DobOutcome("verified", verified, None)
    if patient.dob_verified_at is None:
        # R-DOB-1: first login, a different DOB. The DOB on file is NOT changed; the team reviews it.
        waiting = replace(patient, dob_state="review_pending", dob_reported=entered)
        return DobOutcome("reported_different", waiting, "dob_reported_different")
    # R-DOB-2: a failed re-verification. The team hears once per lock-out (on its first failure), not per attempt.
    attempts = patient.dob_failed_attempts + 1
    failed = replace(
        patient, dob_failed_attempts=attempts, dob_state="locked" if attempts >= MAX_DOB_FAILURES else "none"
    )
    return DobOutcome("failed", failed, "dob_verification_failed" if attempts == 1 else None)


def staff_may_change_dob(patient: Patient, role: str) -> bool:
    """R-DOB-4 (and R-DOB-2): staff may edit the DOB of a never-logged-in patient or while a first-login
    report is open; otherwise only support may."""
    if role == "support":
        return True
    return (not patient.verified) or patient.dob_state == "review_pending"


@dataclass(frozen=True)
class DobChange:
    patient: Patient
    completes_verification: bool  # R-DOB-1: staff set the DOB the patient reported: text the patient


def change_dob(patient: Patient, new_dob: date, now: datetime) -> DobChange:
    """The DOB on file changes (permission already checked). Resolves an open report, lifts a lock."""
    if patient.dob_state == "review_pending":
        if new_dob == patient.dob_reported:
            # R-DOB-1: staff confirmed what the patient said: the patient's verification completes.
            done = replace(
                patient,
                date_of_birth=new_dob,
                dob_state="none",
                dob_reported=None,
                dob_verified_at=now,
                dob_failed_attempts=0,
            )
            return DobChange(done, True)
        # Corrected to something else: the report is closed and the patient answers again.
        return DobChange(replace(patient, date_of_birth=new_dob, dob_state="none", dob_reported=None), False)
    # R-DOB-2: support updating the DOB of a locked-out patient ends the lock; the patient answers again.
    return DobChange(replace(patient, date_of_birth=new_dob, dob_state="none", dob_failed_attempts=0), False)


def reset_lock(patient: Patient) -> Patient:
    """R-DOB-2: support resets the lock; the patient answers the DOB question again (3 fresh attempts)."""
    return replace(patient, dob_state="none", dob_failed_attempts=0)
