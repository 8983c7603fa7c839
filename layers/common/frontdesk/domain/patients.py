"""Patient profile values: names and dates of birth (R-CREATE-1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from frontdesk.domain.messages import Posted
from frontdesk.errors import ValidationFailed

_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_DOB = date(1900, 1, 1)
MAX_NAME_LENGTH = 100


def parse_dob(text: str | None, today: date, *, field: str = "date_of_birth", allow_us: bool = False) -> date:
    """A DOB is a real calendar date, not in the future, not before 1900. The API takes ISO only."""
    raw = (text or "").strip()
    parsed = _parse_date(raw, allow_us)
    if parsed is None:
        expected = "YYYY-MM-DD or MM/DD/YYYY" if allow_us else "YYYY-MM-DD"
        raise ValidationFailed(f"The date of birth must be a valid date ({expected}).", field=field)
    if parsed > today or parsed < EARLIEST_DOB:
        raise ValidationFailed("The date of birth is out of range.", field=field)
    return parsed


def _parse_date(raw: str, allow_us: bool) -> date | None:
    try:
        if _ISO_DATE.match(raw):
            return date.fromisoformat(raw)
        us = _US_DATE.match(raw) if allow_us else None
        if us:
            month, day, year = (int(part) for part in us.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def clean_name(text: str | None, *, field: str) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise ValidationFailed("This name is required.", field=field)
    if len(value) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"A name has at most {MAX_NAME_LENGTH} characters.", field=field)
    return value


@dataclass
class Patient:
    """A patient profile as the services see it (never a store item)."""

    practice_id: str
    patient_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    conversation_id: str
    created_at: datetime
    cell_phone: str | None = None
    landlines: list[str] = field(default_factory=list)
    email: str | None = None
    external_id: str | None = None
    location: str | None = None
    verified: bool = False
    dob_verified_at: datetime | None = None
    dob_state: str = "none"  # none | review_pending | locked
    dob_failed_attempts: int = 0
    dob_reported: date | None = None
    merged_into: str | None = None
    last_active_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True)
class DuplicatePair:
    """Two profiles that are probably one patient (R-IMPORT-4, R-CREATE-4); `patient_ids` sorted."""

    patient_ids: list[str]
    reason: str  # same_name_and_dob | same_cell_phone


@dataclass
class PatientChange:
    """One atomic change of a patient's profile, with what must be written alongside it (store.patients applies
    it under the version read: a concurrent change makes all of it fail)."""

    before: Patient
    after: Patient
    at: datetime
    audit: tuple[str, str] | None = None  # (actor, action) - R-SEC-2
    messages: list[Posted] = field(default_factory=list)
    duplicate_of: list[str] = field(default_factory=list)  # R-CREATE-4: other profiles with the new cell phone
