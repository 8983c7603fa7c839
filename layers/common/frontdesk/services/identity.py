"""Date-of-birth verification by the patient and DOB changes by staff and support (R-DOB-1..4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.sms import SmsSender
from frontdesk.auth import Principal
from frontdesk.domain import dob as rules
from frontdesk.domain.audit import AuditEntry
from frontdesk.domain.messages import Posted
from frontdesk.domain.patients import Patient, PatientChange, parse_dob
from frontdesk.errors import Conflict, Forbidden, NotFound, Stale
from frontdesk.services.messages import NewMessage, announce
from frontdesk.services.patients import actor_of
from frontdesk.store import audit as audit_store
from frontdesk.store import patient_updates
from frontdesk.store import patients as patient_store
from frontdesk.store.page_tokens import PageScope, decode_token, encode_token
from frontdesk.store.pagination import clamp_limit
from frontdesk.store.practices import get_practice


@contextmanager
def concurrent_change() -> Iterator[None]:
    try:
        yield
    except Stale:
        raise Conflict("The profile changed meanwhile; nothing was changed. Try again.", code="conflict") from None


def require_patient(practice_id: str, patient_id: str) -> Patient:
    patient = patient_store.get_patient(practice_id, patient_id, consistent=True)
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def _dob_message(patient: Patient, kind: str, reported: str | None) -> NewMessage:
    if kind == "dob_reported_different":
        body = (
            "The patient reported a different date of birth at first login. "
            f"On file: {patient.date_of_birth.isoformat()}. Reported: {reported}. "
            "Check with the patient and update the date of birth if needed."
        )
    else:
        body = (
            "The patient failed date of birth verification and cannot see the conversation. "
            "Only support can change this date of birth or reset the lock."
        )
    return NewMessage(
        patient.practice_id, patient.conversation_id, patient.patient_id, "system", "system", body, kind=kind
    )


def verify_dob(practice_id: str, patient_id: str, raw_dob: str, clock: Clock | None = None) -> str:
    """The patient answers the DOB question: verified | reported_different | failed."""
    now = (clock or get_clock()).now()
    patient = require_patient(practice_id, patient_id)
    entered = parse_dob(raw_dob, now.date())
    try:
        outcome = rules.answer_dob(patient, entered, now)
    except rules.DobBlocked as blocked:
        raise Forbidden("Date of birth verification is not possible now.", code=blocked.code) from None
    message = _dob_message(patient, outcome.notify, entered.isoformat()) if outcome.notify else None
    change = PatientChange(patient, outcome.patient, at=now, messages=[Posted(message, now)] if message else [])
    with concurrent_change():
        patient_updates.apply_patient_change(change)
    if message is not None:
        announce(message, now)  # after the commit: routing puts it in the team's inbox
    return outcome.result


def change_dob(
    practice_id: str,
    patient_id: str,
    raw_dob: str,
    caller: Principal,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
) -> Patient:
    """R-DOB-4: staff may edit before the first login or while a first-login report is open; support always."""
    now = (clock or get_clock()).now()
    patient = require_patient(practice_id, patient_id)
    new_dob = parse_dob(raw_dob, now.date())
    if not rules.staff_may_change_dob(patient, caller.role):
        raise Conflict("Only support can change this patient's date of birth.", code="support_required")
    change = rules.change_dob(patient, new_dob, now)
    with concurrent_change():
        patient_updates.apply_patient_change(
            PatientChange(patient, change.patient, at=now, audit=(actor_of(caller), "patient.date_of_birth.update"))
        )
    if change.completes_verification and patient.cell_phone:
        # R-DOB-1: the patient is told they can continue.
        practice = get_practice(practice_id)
        name = practice.name if practice else "Your practice"
        body = f"{name}: your date of birth is confirmed. You can continue in the app."
        from frontdesk.services.outbound_sms import Purpose, send_sms

        send_sms(
            practice_id,
            patient.cell_phone,
            body,
            purpose=Purpose.DOB_CONFIRMED,
            practice=practice,
            clock=clock,
            sms=sms,
        )
    return change.patient


def reset_dob_lock(practice_id: str, patient_id: str, caller: Principal, clock: Clock | None = None) -> Patient:
    """R-DOB-2: support lifts the lock; the patient answers again with 3 fresh attempts."""
    now = (clock or get_clock()).now()
    patient = require_patient(practice_id, patient_id)
    after = rules.reset_lock(patient)
    with concurrent_change():
        patient_updates.apply_patient_change(
            PatientChange(patient, after, at=now, audit=(actor_of(caller), "patient.dob_lock.reset"))
        )
    return after


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_token: str | None


def audit_trail(
    practice_id: str,
    patient_id: str,
    caller: Principal,
    limit: int | None,
    token: str | None,
    clock: Clock | None = None,
) -> AuditPage:
    """R-SEC-2: newest first; reading the trail is itself audited."""
    now = (clock or get_clock()).now()
    if patient_store.load_patient(practice_id, patient_id) is None:
        raise NotFound("No such patient.")
    scope = PageScope(practice_id, f"audit#{patient_id}")
    start = decode_token(token, scope)
    entries, last = audit_store.list_audit(practice_id, patient_id, clamp_limit(limit), start)
    audit_store.record_audit(practice_id, patient_id, actor_of(caller), "patient.audit.read", now)
    return AuditPage(entries, encode_token(last, scope))
