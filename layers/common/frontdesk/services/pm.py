"""The PM/EHR feed: its locations and appointments (R-ROUTE-2, R-ROUTE-7)."""

from __future__ import annotations

from frontdesk.adapters.clock import Clock, get_clock, parse_iso
from frontdesk.auth import Principal
from frontdesk.domain.appointments import Appointment, Location
from frontdesk.errors import Conflict, NotFound, ValidationFailed
from frontdesk.store import appointments as store
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store


def _practice_with_pm(caller: Principal) -> str:
    assert caller.practice_id is not None
    practice = practices_store.get_practice(caller.practice_id)
    if practice is None:
        raise NotFound("No such practice.")
    if not practice.has_pm_integration:
        raise Conflict("This practice has no PM/EHR integration.", code="pm_integration_required")
    return caller.practice_id


def put_locations(caller: Principal, locations: list[Location]) -> list[Location]:
    practice_id = _practice_with_pm(caller)
    if len({location.location_id for location in locations}) != len(locations):
        raise ValidationFailed("Location ids must be unique.", field="items")
    store.replace_pm_locations(practice_id, locations)
    return locations


def put_appointment(
    caller: Principal,
    appointment_id: str,
    patient_id: str | None,
    external_id: str | None,
    location_id: str,
    starts_at: str,
    status: str,
    clock: Clock | None = None,
) -> Appointment:
    practice_id = _practice_with_pm(caller)
    if (patient_id is None) == (external_id is None):
        raise ValidationFailed("Give either patient_id or external_id.", field="patient_id")
    if patient_id is None and external_id is not None:
        patient_id = patients_store.patient_id_by_external_id(practice_id, external_id)
    if patient_id is None or patients_store.get_patient(practice_id, patient_id) is None:
        raise NotFound("No such patient.")
    try:
        starts = parse_iso(starts_at)
    except ValueError:
        raise ValidationFailed("starts_at must be an ISO-8601 time.", field="starts_at") from None
    appointment = Appointment(appointment_id, patient_id, location_id, starts, status)
    store.upsert_appointment(practice_id, appointment, (clock or get_clock()).now())
    return appointment
