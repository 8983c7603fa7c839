"""Routing items: settings + subscriptions, inbox listings, notifications, locations, appointments, voicemail
extensions and idempotency records (docs/data-model.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError

from frontdesk.adapters.clock import iso
from frontdesk.domain.appointments import Appointment, Location
from frontdesk.domain.listings import Listing, Notification
from frontdesk.domain.routing import RoutingConfig, Settings, Subscriptions, VoicemailExtension
from frontdesk.errors import Conflict
from frontdesk.store import keys
from frontdesk.store.base import TableItem


class RoutingConfigItem(TableItem, discriminator="RoutingConfig"):
    """One per practice: settings and every staff member's subscriptions, so routing reads it in one GetItem."""

    practice_id = UnicodeAttribute()
    reasons_enabled = BooleanAttribute(default=False)
    locations_enabled = BooleanAttribute(default=False)
    subscriptions = JSONAttribute(null=True)  # {staff_id: {reasons: [], locations: [], inboxes: []}}
    version = VersionAttribute()

    @staticmethod
    def key(practice_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), "ROUTING"


class ListingItem(TableItem, discriminator="Listing"):
    """A conversation listed in an inbox; gsi2 orders an inbox by last message, newest first."""

    practice_id = UnicodeAttribute()
    listing = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    status = UnicodeAttribute()
    holder_type = UnicodeAttribute()
    holder_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    held = BooleanAttribute(default=False)  # the listing's owner holds the conversation (not only routed to them)
    last_message_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, listing: str, conversation_id: str) -> tuple[str, str]:
        return keys.listing_pk(practice_id, listing), f"CONV#{conversation_id}"


class NotificationItem(TableItem, discriminator="Notification"):
    practice_id = UnicodeAttribute()
    staff_id = UnicodeAttribute()
    notification_id = UnicodeAttribute()
    notification_type = UnicodeAttribute()  # new_message | system_message
    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, staff_id: str, created_at_iso: str, notification_id: str) -> tuple[str, str]:
        return keys.notifications_pk(practice_id, staff_id), f"{created_at_iso}#{notification_id}"


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


class VoicemailExtensionItem(TableItem, discriminator="VoicemailExtension"):
    practice_id = UnicodeAttribute()
    extension = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    inbox_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(practice_id: str, extension: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), f"VMEXT#{extension}"


class IdempotencyItem(TableItem, discriminator="Idempotency"):
    """The first answer to a request that may be repeated (ids only, never PHI); expires through `ttl`."""

    practice_id = UnicodeAttribute()
    answer = JSONAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, scope: str, key: str) -> tuple[str, str]:
        return keys.idempotency_pk(practice_id, scope, key), "RECORD"


# ----- routing config -----


def to_config(item: RoutingConfigItem | None, practice_id: str) -> RoutingConfig:
    if item is None:
        return RoutingConfig(practice_id, Settings(), {}, 0)
    raw = item.subscriptions or {}
    return RoutingConfig(
        practice_id=practice_id,
        settings=Settings(bool(item.reasons_enabled), bool(item.locations_enabled)),
        subscriptions={staff_id: Subscriptions.from_dict(value) for staff_id, value in raw.items()},
        version=int(item.version or 0),
    )


def get_config(practice_id: str, *, consistent: bool = False) -> RoutingConfig:
    try:
        item = RoutingConfigItem.get(*RoutingConfigItem.key(practice_id), consistent_read=consistent)
    except DoesNotExist:
        return to_config(None, practice_id)
    return to_config(item, practice_id)


def update_config(
    practice_id: str, change: Callable[[RoutingConfig], RoutingConfig], *, attempts: int = 25
) -> RoutingConfig:
    """Optimistic locking (R-REL-2): read, change, write conditioned on the version read; retry on a lost race, so
    concurrent edits end in a state equal to some serial order."""
    for _ in range(attempts):
        current = get_config(practice_id, consistent=True)
        wanted = change(current)
        pk, sk = RoutingConfigItem.key(practice_id)
        item = RoutingConfigItem(
            pk,
            sk,
            practice_id=practice_id,
            reasons_enabled=wanted.settings.reasons_enabled,
            locations_enabled=wanted.settings.locations_enabled,
            subscriptions={staff_id: subs.as_dict() for staff_id, subs in sorted(wanted.subscriptions.items())},
        )
        if current.version:
            item.version = current.version
        try:
            item.save()  # VersionAttribute: conditioned on the version read (or on the item not existing yet)
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                continue
            raise
        return to_config(item, practice_id)
    raise Conflict("The routing settings are being changed by someone else; try again.", code="concurrent_update")


# ----- listings -----


def listing_item(practice_id: str, listing: str, data: Listing) -> ListingItem:
    pk, sk = ListingItem.key(practice_id, listing, data.conversation_id)
    return ListingItem(
        pk,
        sk,
        practice_id=practice_id,
        listing=listing,
        conversation_id=data.conversation_id,
        patient_id=data.patient_id,
        status=data.status,
        holder_type=data.holder_type,
        holder_id=data.holder_id,
        reason=data.reason,
        location=data.location,
        held=data.held,
        last_message_at=data.last_message_at,
        gsi2pk=pk,
        gsi2sk=f"{iso(data.last_message_at)}#{data.conversation_id}",
    )


def listing_key_item(practice_id: str, listing: str, conversation_id: str) -> ListingItem:
    pk, sk = ListingItem.key(practice_id, listing, conversation_id)
    return ListingItem(pk, sk)


def delete_listings(practice_id: str, conversation_id: str, listings: list[str]) -> None:
    """Listings are unversioned: batch deletes are safe (PITFALLS: batches ignore VersionAttribute)."""
    if not listings:
        return
    with ListingItem.batch_write() as batch:
        for name in listings:
            batch.delete(listing_key_item(practice_id, name, conversation_id))


def list_inbox(
    practice_id: str, listing: str, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[Listing], dict[str, Any] | None]:
    """A22: one gsi2 Query per page, newest conversation first."""
    pk = keys.listing_pk(practice_id, listing)
    result = ListingItem.gsi2.query(pk, scan_index_forward=False, limit=limit, last_evaluated_key=start_key)
    items = [
        Listing(
            conversation_id=i.conversation_id,
            patient_id=i.patient_id,
            status=i.status,
            holder_type=i.holder_type,
            holder_id=i.holder_id,
            reason=i.reason,
            location=i.location,
            held=bool(i.held),
            last_message_at=i.last_message_at,
        )
        for i in result
        if isinstance(i, ListingItem)
    ]
    return items, result.last_evaluated_key


# ----- notifications -----


def notification_id(message_id: str, staff_id: str) -> str:
    """Derived from message and staff member: a re-delivered event writes the same item again (R-REL-1)."""
    return hashlib.sha256(f"{message_id}|{staff_id}".encode()).hexdigest()[:24]


def notification_item(
    practice_id: str, staff_id: str, message_id: str, conversation_id: str, kind: str, at: datetime
) -> NotificationItem:
    nid = notification_id(message_id, staff_id)
    pk, sk = NotificationItem.key(practice_id, staff_id, iso(at), nid)
    return NotificationItem(
        pk,
        sk,
        practice_id=practice_id,
        staff_id=staff_id,
        notification_id=nid,
        notification_type=kind,
        conversation_id=conversation_id,
        message_id=message_id,
        created_at=at,
    )


def list_notifications(
    practice_id: str, staff_id: str, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[Notification], dict[str, Any] | None]:
    result = NotificationItem.query(
        keys.notifications_pk(practice_id, staff_id),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start_key,
    )
    items = [
        Notification(i.notification_id, i.notification_type, i.conversation_id, i.created_at)
        for i in result
        if isinstance(i, NotificationItem)
    ]
    return items, result.last_evaluated_key


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


# ----- voicemail extensions -----


def put_extension(practice_id: str, extension: VoicemailExtension) -> None:
    pk, sk = VoicemailExtensionItem.key(practice_id, extension.extension)
    VoicemailExtensionItem(
        pk,
        sk,
        practice_id=practice_id,
        extension=extension.extension,
        reason=extension.reason,
        inbox_id=extension.inbox_id,
    ).save()


def get_extension(practice_id: str, extension: str) -> VoicemailExtension | None:
    try:
        item = VoicemailExtensionItem.get(*VoicemailExtensionItem.key(practice_id, extension))
    except DoesNotExist:
        return None
    return VoicemailExtension(item.extension, item.reason, item.inbox_id)


# ----- idempotency -----

IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600


def idempotency_item(practice_id: str, scope: str, key: str, answer: dict[str, Any], at: datetime) -> IdempotencyItem:
    pk, sk = IdempotencyItem.key(practice_id, scope, _safe(key))
    item = IdempotencyItem(pk, sk, practice_id=practice_id, answer=answer, created_at=at)
    item.expires_ttl = datetime.fromtimestamp(at.timestamp() + IDEMPOTENCY_TTL_SECONDS, tz=at.tzinfo)
    return item


def get_idempotent_answer(practice_id: str, scope: str, key: str, now: datetime) -> dict[str, Any] | None:
    """The first answer, unless expired (PITFALLS: TTL deletes only eventually, so check the expiry here)."""
    try:
        item = IdempotencyItem.get(*IdempotencyItem.key(practice_id, scope, _safe(key)), consistent_read=True)
    except DoesNotExist:
        return None
    if item.expires_ttl is not None and item.expires_ttl <= now:
        return None
    return dict(item.answer or {})


def _safe(key: str) -> str:
    # Client-chosen keys go into a partition key: hash them so no '#' or length games are possible.
    return hashlib.sha256(key.encode()).hexdigest()[:40]
