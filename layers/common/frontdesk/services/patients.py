"""Creating, reading and finding patients (R-CREATE-1, R-CREATE-2, R-CREATE-4, R-SEC-2 audit)."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.auth import Principal
from frontdesk.domain import duplicates
from frontdesk.domain.patients import DuplicatePair, Patient, clean_name, parse_dob
from frontdesk.domain.phones import normalize_phone
from frontdesk.errors import NotFound, ValidationFailed
from frontdesk.ids import new_id
from frontdesk.services.practices import require_practice
from frontdesk.store import audit as audit_store
from frontdesk.store import patients as store


@dataclass(frozen=True)
class NewPatient:
    first_name: str
    last_name: str
    date_of_birth: str
    cell_phone: str | None = None
    landline: str | None = None
    email: str | None = None
    external_id: str | None = None


def actor_of(caller: Principal) -> str:
    return f"{caller.role}:{caller.staff_id or caller.sub}"


def create_patient(practice_id: str, data: NewPatient, caller: Principal, clock: Clock | None = None) -> Patient:
    practice = require_practice(practice_id)
    now = (clock or get_clock()).now()
    patient = Patient(
        practice_id=practice_id,
        patient_id=new_id(),
        first_name=clean_name(data.first_name, field="first_name"),
        last_name=clean_name(data.last_name, field="last_name"),
        date_of_birth=parse_dob(data.date_of_birth, now.date()),
        conversation_id=new_id(),
        created_at=now,
        # R-CREATE-1: the cell phone is optional, but a malformed one is a 400 naming the field.
        cell_phone=normalize_phone(data.cell_phone, practice.country, field="cell_phone") if data.cell_phone else None,
        landlines=[normalize_phone(data.landline, practice.country, field="landline")] if data.landline else [],
        email=_clean_email(data.email),
        external_id=_clean_external_id(data.external_id),
    )
    store.create_patient(patient, actor=actor_of(caller), duplicates=probable_duplicates(patient))
    return patient


def probable_duplicates(patient: Patient) -> list[DuplicatePair]:
    """R-IMPORT-4 / R-CREATE-4: same name and DOB, or same cell phone, without the same external id."""
    dob = patient.date_of_birth.isoformat()
    names = store.patient_ids_by_name_dob(patient.practice_id, patient.first_name, patient.last_name, dob)
    numbers = store.patient_ids_by_phone(patient.practice_id, patient.cell_phone) if patient.cell_phone else []
    found = duplicates.probable_duplicates(patient.patient_id, patient.external_id, names, [n[:2] for n in numbers])
    return [DuplicatePair(sorted((patient.patient_id, other_id)), reason) for other_id, reason in found.items()]


def read_patient(practice_id: str, patient_id: str, caller: Principal, clock: Clock | None = None) -> Patient:
    patient = store.get_patient(practice_id, patient_id)
    if patient is None:
        raise NotFound("No such patient.")
    # R-SEC-2: every staff read of a patient record is audited.
    audit_store.record_audit(practice_id, patient_id, actor_of(caller), "patient.read", (clock or get_clock()).now())
    return patient


def search_by_phone(practice_id: str, raw_phone: str, caller: Principal, clock: Clock | None = None) -> list[Patient]:
    practice = require_practice(practice_id)
    e164 = normalize_phone(raw_phone, practice.country, field="phone")
    ids = [patient_id for patient_id, _, _ in store.patient_ids_by_phone(practice_id, e164)]
    patients = store.patients_by_ids(practice_id, ids) if ids else []
    now = (clock or get_clock()).now()
    for patient in patients:
        audit_store.record_audit(practice_id, patient.patient_id, actor_of(caller), "patient.search", now)
    return patients


def _clean_email(email: str | None) -> str | None:
    value = (email or "").strip()
    if not value:
        return None
    if "@" not in value or len(value) > 254:
        raise ValidationFailed("The email address is not valid.", field="email")
    return value


def _clean_external_id(external_id: str | None) -> str | None:
    value = (external_id or "").strip()
    if len(value) > 64 or "#" in value:
        raise ValidationFailed("The external id has at most 64 characters and no '#'.", field="external_id")
    return value or None
