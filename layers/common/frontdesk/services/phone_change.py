"""Cell phone changes: immediate before the first login, patient-confirmed after it (R-PHONE-1..7)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from frontdesk.adapters.clock import Clock, get_clock, iso
from frontdesk.adapters.events import EventPublisher
from frontdesk.adapters.sms import SmsSender
from frontdesk.auth import Principal
from frontdesk.domain import duplicates
from frontdesk.domain import phone_change as machine
from frontdesk.domain.login import MAX_CODE_ATTEMPTS, hash_code, new_code, new_salt, well_formed_code
from frontdesk.domain.messages import Posted
from frontdesk.domain.patients import Patient, PatientChange
from frontdesk.domain.phone_change import PhoneRequest, Refused
from frontdesk.domain.phones import mask_phone, normalize_phone
from frontdesk.domain.practices import Practice
from frontdesk.errors import Conflict, Expired, NotFound, Stale, TooManyAttempts, ValidationFailed
from frontdesk.ids import new_id
from frontdesk.services import outbound_sms
from frontdesk.services.identity import concurrent_change
from frontdesk.services.messages import NewMessage, announce
from frontdesk.services.outbound_sms import OptOutRegister, Purpose, sms_opted_out
from frontdesk.services.patients import actor_of
from frontdesk.store import audit, office_hours, patient_updates, patients, phone_requests, practices, sms_optout


class PhoneChangeStore(Protocol):
    """What the phone change needs from the store: DynamoPhoneChangeStore below, an in-memory fake with the same
    contract in the unit tests (tests/fake_phone_change_store.py). Writes are conditional: a request leaves `pending`
    once, a profile changes under the version read; a lost race raises errors.Stale."""

    @property
    def register(self) -> OptOutRegister: ...  # the SMS opt-out register (R-SMS-3)

    def get_practice(self, practice_id: str) -> Practice | None: ...

    def practice_timezone(self, practice_id: str) -> str: ...

    def get_patient(self, practice_id: str, patient_id: str, *, consistent: bool = False) -> Patient | None: ...

    def patient_ids_by_phone(self, practice_id: str, e164: str) -> list[tuple[str, str, datetime | None]]: ...

    def record_audit(self, practice_id: str, patient_id: str, actor: str, action: str, at: datetime) -> None: ...

    def apply_patient_change(self, change: PatientChange) -> None: ...

    def requests_of(self, practice_id: str, patient_id: str) -> list[PhoneRequest]: ...

    def create_request(
        self,
        request: PhoneRequest,
        superseded: list[PhoneRequest],
        messages: list[Posted],
        audit: tuple[str, str, datetime],
    ) -> None: ...

    def close_request(
        self, request: PhoneRequest, status: str, messages: list[Posted], change: PatientChange | None = None
    ) -> None: ...

    def count_wrong_code(self, request: PhoneRequest) -> int: ...

    def due_requests(self, now: datetime) -> Iterable[PhoneRequest]: ...

    def requests_expiring_before(self, now: datetime, until: datetime) -> Iterable[PhoneRequest]: ...

    def mark_reminded(self, request: PhoneRequest) -> bool: ...


class DynamoPhoneChangeStore:
    """The table: store/phone_requests.py, store/patient_updates.py, store/patients.py, store/audit.py, the practice,
    its office hours and the opt-out register."""

    register: OptOutRegister = sms_optout
    get_practice = staticmethod(practices.get_practice)
    practice_timezone = staticmethod(office_hours.practice_timezone)
    get_patient = staticmethod(patients.get_patient)
    patient_ids_by_phone = staticmethod(patients.patient_ids_by_phone)
    record_audit = staticmethod(audit.record_audit)
    apply_patient_change = staticmethod(patient_updates.apply_patient_change)
    requests_of = staticmethod(phone_requests.requests_of)
    create_request = staticmethod(phone_requests.create_request)
    close_request = staticmethod(phone_requests.close_request)
    count_wrong_code = staticmethod(phone_requests.count_wrong_code)
    due_requests = staticmethod(phone_requests.due_requests)
    requests_expiring_before = staticmethod(phone_requests.requests_expiring_before)
    mark_reminded = staticmethod(phone_requests.mark_reminded)


_DYNAMO = DynamoPhoneChangeStore()


@dataclass(frozen=True)
class PhoneChangeResult:
    status: str  # updated | pending_confirmation
    patient: Patient | None = None
    request: PhoneRequest | None = None


def _system(patient_or_request: Patient | PhoneRequest, kind: str, body: str) -> NewMessage:
    p = patient_or_request
    return NewMessage(p.practice_id, p.conversation_id, p.patient_id, "system", "system", body, kind=kind)


def _practice(store: PhoneChangeStore, practice_id: str) -> Practice:
    practice = store.get_practice(practice_id)
    if practice is None:
        raise NotFound("No such practice.")
    return practice


def _patient(store: PhoneChangeStore, practice_id: str, patient_id: str) -> Patient:
    patient = store.get_patient(practice_id, patient_id, consistent=True)
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def _sharing_cell(store: PhoneChangeStore, patient: Patient, e164: str) -> list[str]:
    """R-CREATE-4: a number another profile already has is allowed, and the pair is a probable duplicate."""
    others = store.patient_ids_by_phone(patient.practice_id, e164)
    return sorted(duplicates.probable_duplicates(patient.patient_id, None, same_number=[o[:2] for o in others]))


def request_change(
    practice_id: str,
    patient_id: str,
    raw_phone: str,
    caller: Principal,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
    *,
    store: PhoneChangeStore = _DYNAMO,
    publisher: EventPublisher | None = None,
) -> PhoneChangeResult:
    practice = _practice(store, practice_id)
    patient = _patient(store, practice_id, patient_id)
    e164 = normalize_phone(raw_phone, practice.country, field="cell_phone")
    now = (clock or get_clock()).now()
    actor = actor_of(caller)
    if e164 == patient.cell_phone:
        store.record_audit(practice_id, patient_id, actor, "patient.cell_phone.unchanged", now)
        return PhoneChangeResult("updated", patient=patient)
    if not patient.verified:
        # R-PHONE-1: never logged in - the team owns the profile, the number changes at once.
        after = replace(patient, cell_phone=e164)
        change = PatientChange(
            patient,
            after,
            at=now,
            audit=(actor, "patient.cell_phone.update"),
            duplicate_of=_sharing_cell(store, patient, e164),
        )
        with concurrent_change():
            store.apply_patient_change(change)
        return PhoneChangeResult("updated", patient=after)
    # R-PHONE-2: a verified patient controls their account: ask them, with a code to the new number.
    # R-SMS-3: refused before anything is written when the new number opted out.
    permit = outbound_sms.check(
        practice_id, e164, purpose=Purpose.PHONE_CHANGE_CODE, practice=practice, clock=clock, register=store.register
    )
    if not isinstance(permit, outbound_sms.Permit):
        raise sms_opted_out(practice)
    older = [r for r in store.requests_of(practice_id, patient_id) if r.status == "pending"]
    code, salt = new_code(), new_salt()
    request = PhoneRequest(
        request_id=new_id(),
        practice_id=practice_id,
        patient_id=patient_id,
        conversation_id=patient.conversation_id,
        old_phone=patient.cell_phone,
        new_phone=e164,
        status="pending",
        code_hash=hash_code(code, salt),
        salt=salt,
        created_at=now,
        expires_at=machine.expires_at(now),
        created_by=actor,
    )
    body = (
        f"The team asked to change the patient's cell phone to {mask_phone(e164)}. "
        f"The patient has until {iso(request.expires_at)} to confirm it with the code sent to the new number."
    )
    message = _system(patient, "phone_change_requested", body)
    with concurrent_change():
        # R-PHONE-5: every older pending request is superseded in the same transaction.
        store.create_request(
            request, older, [Posted(message, now)], (actor, "patient.cell_phone.change_requested", now)
        )
    announce(message, now, publisher)
    text = f"{practice.name}: your code to confirm this number for your account is {code}. It is valid for 3 days."
    # A provider refusal here leaves the request pending without a code; the register now has the number, so the
    # next request is refused up front (409 sms_opted_out).
    outbound_sms.deliver(permit, text, code=code, clock=clock, sms=sms, register=store.register)
    return PhoneChangeResult("pending_confirmation", request=request)


def list_requests(
    practice_id: str,
    patient_id: str,
    caller: Principal,
    clock: Clock | None = None,
    *,
    store: PhoneChangeStore = _DYNAMO,
) -> list[PhoneRequest]:
    now = (clock or get_clock()).now()
    _patient(store, practice_id, patient_id)
    store.record_audit(practice_id, patient_id, actor_of(caller), "patient.phone_change_requests.read", now)
    return [replace(r, status=machine.visible_status(r, now)) for r in store.requests_of(practice_id, patient_id)]


def _pending(
    store: PhoneChangeStore, practice_id: str, patient_id: str, *, expired_is_gone: bool = False
) -> PhoneRequest:
    requests = store.requests_of(practice_id, patient_id)  # newest first
    for request in requests:
        if request.status == "pending":
            return request
    if expired_is_gone and requests and requests[0].status == "expired":
        # R-PHONE-4: the latest request expired and the expiry job has already closed it: 410, as before the job ran.
        raise Expired("The phone change request has expired.")
    raise NotFound("There is no pending phone change.")


def pending_for_patient(
    practice_id: str, patient_id: str, clock: Clock | None = None, *, store: PhoneChangeStore = _DYNAMO
) -> PhoneRequest:
    now = (clock or get_clock()).now()
    request = _pending(store, practice_id, patient_id)
    if machine.is_due(request, now):
        raise NotFound("There is no pending phone change.")
    return request


def _lost_race(store: PhoneChangeStore, request: PhoneRequest) -> Exception:
    """Our conditional write lost: say what happened to the request (expired by the job, declined...)."""
    latest = next(
        (r for r in store.requests_of(request.practice_id, request.patient_id) if r.request_id == request.request_id),
        None,
    )
    if latest is None or latest.status == "pending":
        return Conflict("The profile changed meanwhile; nothing was changed. Try again.", code="conflict")
    if latest.status == "expired":
        return Expired("The phone change request has expired.")
    return NotFound("There is no pending phone change.")


def confirm(
    practice_id: str,
    patient_id: str,
    code: str,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
    *,
    store: PhoneChangeStore = _DYNAMO,
    publisher: EventPublisher | None = None,
) -> Patient:
    if not well_formed_code(code):
        raise ValidationFailed("The code is 6 digits.", field="code")
    now = (clock or get_clock()).now()
    request = _pending(store, practice_id, patient_id, expired_is_gone=True)
    try:
        machine.confirm(request, code, now)
    except Refused as refused:
        _refuse(store, request, refused)
    patient = _patient(store, practice_id, patient_id)
    after = replace(patient, cell_phone=request.new_phone)
    old = mask_phone(request.old_phone) if request.old_phone else "none"
    message = _system(
        request,
        "phone_change_confirmed",
        f"The patient confirmed the new cell phone. Old: {old}. New: {mask_phone(request.new_phone)}.",
    )
    change = PatientChange(
        patient,
        after,
        at=now,
        audit=(f"patient:{patient_id}", "patient.cell_phone.confirmed"),
        duplicate_of=_sharing_cell(store, patient, request.new_phone),
    )
    try:
        store.close_request(request, "confirmed", [Posted(message, now)], change)
    except Stale:
        raise _lost_race(store, request) from None
    announce(message, now, publisher)
    if patient.cell_phone:
        # R-PHONE-7: the old number learns that the account's number changed.
        practice = store.get_practice(practice_id)
        name = practice.name if practice else "Your practice"
        body = f"{name}: the cell phone number on your account was changed. Not you? Call the practice."
        outbound_sms.send_sms(
            practice_id,
            patient.cell_phone,
            body,
            purpose=Purpose.PHONE_CHANGE_NOTICE,
            practice=practice,
            clock=clock,
            sms=sms,
            register=store.register,
        )
    return after


def _refuse(store: PhoneChangeStore, request: PhoneRequest, refused: Refused) -> None:
    if refused.code == "expired":
        raise Expired("The phone change request has expired.")
    if refused.code not in ("invalid_code", "too_many_attempts"):
        raise NotFound("There is no pending phone change.")
    try:
        attempts = store.count_wrong_code(request)
    except Stale:
        raise _lost_race(store, request) from None
    if attempts >= MAX_CODE_ATTEMPTS:
        # R-PHONE-4: the 5th wrong code cancels the request.
        with suppress(Stale):  # already out of pending (expired, or a concurrent wrong code cancelled it)
            store.close_request(request, "cancelled", [])
        raise TooManyAttempts("Too many wrong codes: the phone change was cancelled.")
    raise ValidationFailed("The code is not valid.", field="code", code="invalid_code")


def decline(
    practice_id: str,
    patient_id: str,
    clock: Clock | None = None,
    *,
    store: PhoneChangeStore = _DYNAMO,
    publisher: EventPublisher | None = None,
) -> None:
    now = (clock or get_clock()).now()
    request = _pending(store, practice_id, patient_id, expired_is_gone=True)
    try:
        machine.decline(request, now)
    except Refused as refused:
        _refuse(store, request, refused)
    message = _system(
        request,
        "phone_change_declined",
        f"The patient declined the change of cell phone to {mask_phone(request.new_phone)}.",
    )
    try:
        store.close_request(request, "declined", [Posted(message, now)])
    except Stale:
        raise _lost_race(store, request) from None
    announce(message, now, publisher)


def expire_due(
    clock: Clock | None = None, *, store: PhoneChangeStore = _DYNAMO, publisher: EventPublisher | None = None
) -> dict[str, int]:
    """R-PHONE-3: every due request expires exactly once, even when runs overlap or race a confirmation."""
    now = (clock or get_clock()).now()
    expired = skipped = 0
    for request in store.due_requests(now):
        try:
            machine.expire(request, now)
        except Refused:
            continue
        body = (
            f"The request to change the patient's cell phone to {mask_phone(request.new_phone)} expired after 3 days "
            "without confirmation: the phone number was not updated."
        )
        message = _system(request, "phone_change_expired", body)
        try:
            store.close_request(request, "expired", [Posted(message, now)])
        except Stale:
            skipped += 1  # confirmed, declined or expired by someone else first
            continue
        announce(message, now, publisher)
        expired += 1
    return {"expired": expired, "skipped": skipped}


def remind_pending(
    clock: Clock | None = None, sms: SmsSender | None = None, *, store: PhoneChangeStore = _DYNAMO
) -> dict[str, int]:
    """R-PHONE-6: one SMS, to the number on file, when less than 24 hours of a pending request remain.

    R-SMS-4: outside 08:00-21:00 of the practice's time zone the reminder is not claimed, so it stays due and the
    first run inside the next window sends it (claimed once: runs that overlap send one). R-SMS-3: a reminder to an
    opted-out number is claimed but skipped, and the skip is in the patient's audit trail."""
    now = (clock or get_clock()).now()
    reminded = deferred = skipped = 0
    practices_read: dict[str, Practice | None] = {}  # one read per practice per run, not one per reminder
    zones: dict[str, str] = {}  # one time-zone read per practice per run
    for request in store.requests_expiring_before(now, now + machine.REMIND_WHEN_LESS_THAN):
        if not machine.needs_reminder(request, now) or not request.old_phone:
            continue
        if request.practice_id not in zones:
            zones[request.practice_id] = store.practice_timezone(request.practice_id)
        zone = zones[request.practice_id]
        if outbound_sms.may_send_automated(request.practice_id, now, zone) is not None:
            deferred += 1
            continue
        if not store.mark_reminded(request):
            continue
        if request.practice_id not in practices_read:
            practices_read[request.practice_id] = store.get_practice(request.practice_id)
        practice = practices_read[request.practice_id]
        name = practice.name if practice else "Your practice"
        until = iso(request.expires_at)
        body = f"{name}: please confirm or decline the change of your phone number in the app before {until}."
        result = outbound_sms.send_sms(
            request.practice_id,
            request.old_phone,
            body,
            purpose=Purpose.PHONE_CHANGE_REMINDER,
            practice=practice,
            clock=clock,
            sms=sms,
            timezone=zone,
            register=store.register,
        )
        if result.sent:
            reminded += 1
        else:
            skipped += 1
            store.record_audit(
                request.practice_id,
                request.patient_id,
                outbound_sms.SMS_ACTOR,
                "sms.phone_change_reminder.skipped_opted_out",
                now,
            )
    return {"reminded": reminded, "deferred": deferred, "skipped_opted_out": skipped}
