"""What routing writes for staff to see: inbox listings (a conversation listed in an inbox, gsi2 by last message)
and staff notifications (docs/data-model.md A22, A24)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute

from frontdesk.adapters.clock import iso
from frontdesk.domain.listings import Listing, Notification
from frontdesk.store import keys
from frontdesk.store.base import TableItem


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
