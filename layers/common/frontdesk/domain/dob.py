"""Date-of-birth verification: when a patient may see their conversation (R-DOB-1, R-DOB-2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from frontdesk.domain.patients import Patient

REVERIFY_AFTER = timedelta(days=30)


def conversation_block(patient: Patient, now: datetime) -> str | None:
    """The 403 code that keeps the patient out of the conversation, or None when they may see it."""
    if patient.dob_state == "locked":
        return "dob_locked"
    if patient.dob_state == "review_pending":
        return "dob_review_pending"
    if patient.dob_verified_at is None or now - patient.dob_verified_at > REVERIFY_AFTER:
        return "dob_verification_required"
    return None
