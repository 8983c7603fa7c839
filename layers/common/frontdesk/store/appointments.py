"""Locations (the practice's own and the PM/EHR feed's) and the feed's appointments (docs/data-model.md A26-A28)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from frontdesk.adapters.clock import iso
from frontdesk.domain.appointments import Appointment, Location
from frontdesk.store import keys
from frontdesk.store.base import TableItem


class LocationItem(TableItem, discriminator="Location"):
    practice_id = UnicodeAttribute()
    location_id = UnicodeAttribute()
    name = UnicodeAttribute()

    @staticmethod
    def key(practice_id: str, location_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), f"LOCATION#{location_id}"


class PmLocationItem(TableItem, discriminator="PmLocation"):
    practice_id = UnicodeAttribute()
    location_id = UnicodeAttribute()
    name = UnicodeAttribute()

    @staticmethod
    def key(practice_id: str, location_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), f"PMLOCATION#{location_id}"


class AppointmentItem(TableItem, discriminator="Appointment"):
    practice_id = UnicodeAttribute()
    appointment_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    location_id = UnicodeAttribute()
    starts_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # booked | cancelled
    updated_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, appointment_id: str) -> tuple[str, str]:
        return keys.appointment_pk(practice_id, appointment_id), "APPT"


# ----- locations -----


def list_locations(practice_id: str) -> list[Location]:
    items = LocationItem.query(keys.practice_pk(practice_id), LocationItem.sk.startswith("LOCATION#"))
    return [Location(i.location_id, i.name) for i in items]


def list_pm_locations(practice_id: str) -> list[Location]:
    items = PmLocationItem.query(keys.practice_pk(practice_id), PmLocationItem.sk.startswith("PMLOCATION#"))
    return [Location(i.location_id, i.name) for i in items]


def replace_pm_locations(practice_id: str, locations: list[Location]) -> None:
    """The PM feed's list replaces the previous one (fresh, unversioned items: batches are safe)."""
    wanted = {location.location_id for location in locations}
    stale = [loc for loc in list_pm_locations(practice_id) if loc.location_id not in wanted]
    with PmLocationItem.batch_write() as batch:
        for location in stale:
            batch.delete(PmLocationItem(*PmLocationItem.key(practice_id, location.location_id)))
        for location in locations:
            pk, sk = PmLocationItem.key(practice_id, location.location_id)
            batch.save(
                PmLocationItem(pk, sk, practice_id=practice_id, location_id=location.location_id, name=location.name)
            )


def save_locations(practice_id: str, locations: list[Location]) -> None:
    """A26: "Sync with EHR" copies the feed's locations into routing."""
    with LocationItem.batch_write() as batch:
        for location in locations:
            pk, sk = LocationItem.key(practice_id, location.location_id)
            batch.save(
                LocationItem(pk, sk, practice_id=practice_id, location_id=location.location_id, name=location.name)
            )


# ----- appointments -----


def upsert_appointment(practice_id: str, appointment: Appointment, at: datetime) -> None:
    """A27: gsi1 keys only while booked, so the upcoming index never holds a cancelled appointment."""
    pk, sk = AppointmentItem.key(practice_id, appointment.appointment_id)
    item = AppointmentItem(
        pk,
        sk,
        practice_id=practice_id,
        appointment_id=appointment.appointment_id,
        patient_id=appointment.patient_id,
        location_id=appointment.location_id,
        starts_at=appointment.starts_at,
        status=appointment.status,
        updated_at=at,
    )
    if appointment.status == "booked":
        item.gsi1pk = keys.upcoming_appointments_pk(practice_id, appointment.patient_id)
        item.gsi1sk = f"{iso(appointment.starts_at)}#{appointment.appointment_id}"
    item.save()


def next_appointment(practice_id: str, patient_id: str, now: datetime) -> Appointment | None:
    """A28: one Query of the sparse upcoming index, the earliest booked appointment after now."""
    result = AppointmentItem.gsi1.query(
        keys.upcoming_appointments_pk(practice_id, patient_id),
        AppointmentItem.gsi1sk > iso(now),
        limit=1,
    )
    for item in result:
        if isinstance(item, AppointmentItem) and item.status == "booked":
            return Appointment(item.appointment_id, item.patient_id, item.location_id, item.starts_at, item.status)
    return None
