"""Phone-change requests (R-PHONE-2..7): created with the end of every older pending one, left `pending` exactly once
(confirm, decline, expiry, cancel, supersede), found by the expiry and reminder jobs on the sparse gsi3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.transactions import TransactWrite

from frontdesk.adapters.clock import iso
from frontdesk.domain.messages import Posted
from frontdesk.domain.patients import PatientChange
from frontdesk.domain.phone_change import PhoneRequest
from frontdesk.errors import Stale
from frontdesk.store import keys
from frontdesk.store.audit import audit_item
from frontdesk.store.base import TableItem, stale_on_lost_condition, transaction
from frontdesk.store.conversations import MessageItem, message_item
from frontdesk.store.patient_updates import write_change


class PhoneChangeRequestItem(TableItem, discriminator="PhoneChangeRequest"):
    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    old_phone = UnicodeAttribute(null=True)
    new_phone = UnicodeAttribute()
    status = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    salt = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    reminded = BooleanAttribute(default=False)
    created_by = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, patient_id: str, request_id: str) -> tuple[str, str]:
        return keys.patient_pk(practice_id, patient_id), f"PHONEREQ#{request_id}"


def _pending_sort_key(request: PhoneRequest) -> str:
    return f"{iso(request.expires_at)}#{request.practice_id}#{request.patient_id}#{request.request_id}"


def _to_request(item: PhoneChangeRequestItem) -> PhoneRequest:
    return PhoneRequest(
        request_id=item.request_id,
        practice_id=item.practice_id,
        patient_id=item.patient_id,
        conversation_id=item.conversation_id,
        old_phone=item.old_phone,
        new_phone=item.new_phone,
        status=item.status,
        code_hash=item.code_hash,
        salt=item.salt,
        created_at=item.created_at,
        expires_at=item.expires_at,
        attempts=int(item.attempts or 0),
        reminded=bool(item.reminded),
        created_by=item.created_by or "",
    )


def _request_ref(request: PhoneRequest) -> PhoneChangeRequestItem:
    return PhoneChangeRequestItem(
        *PhoneChangeRequestItem.key(request.practice_id, request.patient_id, request.request_id)
    )


def leave_pending(tx: TransactWrite, request: PhoneRequest, status: str) -> None:
    """The one way out of `pending`: conditioned on it, and off the sparse index (R-PHONE-3 exactly once)."""
    tx.update(
        _request_ref(request),
        actions=[
            PhoneChangeRequestItem.status.set(status),
            PhoneChangeRequestItem.gsi3pk.remove(),
            PhoneChangeRequestItem.gsi3sk.remove(),
        ],
        condition=PhoneChangeRequestItem.status == "pending",
    )


def requests_of(practice_id: str, patient_id: str) -> list[PhoneRequest]:
    """Newest first; a patient has a handful (A16)."""
    items = PhoneChangeRequestItem.query(
        keys.patient_pk(practice_id, patient_id),
        PhoneChangeRequestItem.sk.startswith("PHONEREQ#"),
        consistent_read=True,
    )
    return sorted((_to_request(i) for i in items), key=lambda r: r.created_at, reverse=True)


def create_request(
    request: PhoneRequest, superseded: list[PhoneRequest], messages: list[Posted], audit: tuple[str, str, datetime]
) -> None:
    """R-PHONE-5: the new request and the end of every older pending one commit together."""
    pk, sk = PhoneChangeRequestItem.key(request.practice_id, request.patient_id, request.request_id)
    item = PhoneChangeRequestItem(
        pk,
        sk,
        practice_id=request.practice_id,
        patient_id=request.patient_id,
        request_id=request.request_id,
        conversation_id=request.conversation_id,
        old_phone=request.old_phone,
        new_phone=request.new_phone,
        status="pending",
        code_hash=request.code_hash,
        salt=request.salt,
        attempts=0,
        reminded=False,
        created_by=request.created_by,
        created_at=request.created_at,
        expires_at=request.expires_at,
        gsi3pk=keys.PENDING_PHONE_CHANGES,
        gsi3sk=_pending_sort_key(request),
    )
    with stale_on_lost_condition(), transaction() as tx:
        tx.save(item, condition=PhoneChangeRequestItem.pk.does_not_exist())
        for older in superseded:
            leave_pending(tx, older, "superseded")
        for message in messages:
            tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
        actor, action, at = audit
        tx.save(audit_item(request.practice_id, request.patient_id, actor, action, at))


def close_request(
    request: PhoneRequest, status: str, messages: list[Posted], change: PatientChange | None = None
) -> None:
    """Confirm / decline / expire / cancel: exactly one writer takes a request out of pending (Stale for
    the others), together with its system message and, on confirmation, the new number (R-PHONE-7)."""
    with stale_on_lost_condition(), transaction() as tx:
        leave_pending(tx, request, status)
        for message in messages:
            tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
        if change is not None:
            write_change(tx, change)


def count_wrong_code(request: PhoneRequest) -> int:
    """R-PHONE-4: a wrong code counts an attempt on a still-pending request; the answer is the new count."""
    item = _request_ref(request)
    with stale_on_lost_condition():
        item.update(
            actions=[PhoneChangeRequestItem.attempts.add(1)], condition=PhoneChangeRequestItem.status == "pending"
        )
    return int(item.attempts or 0)


def due_requests(now: datetime, limit: int = 100) -> Iterator[PhoneRequest]:
    """A17: pending requests whose expiry has passed, oldest first. The index holds only pending requests, so
    this costs what is due, not the table."""
    bound = f"{iso(now)}#~"
    for item in PhoneChangeRequestItem.gsi3.query(
        keys.PENDING_PHONE_CHANGES, PhoneChangeRequestItem.gsi3sk <= bound, page_size=limit
    ):
        if isinstance(item, PhoneChangeRequestItem):  # the index is sparse: nothing else is ever in it
            yield _to_request(item)


def requests_expiring_before(now: datetime, until: datetime) -> Iterator[PhoneRequest]:
    """Pending, not yet due, expiring before `until` (the reminder window), not reminded yet."""
    for item in PhoneChangeRequestItem.gsi3.query(
        keys.PENDING_PHONE_CHANGES,
        PhoneChangeRequestItem.gsi3sk.between(f"{iso(now)}#~", f"{iso(until)}#~"),
        filter_condition=PhoneChangeRequestItem.reminded == False,  # noqa: E712 - a PynamoDB condition
    ):
        if isinstance(item, PhoneChangeRequestItem):
            yield _to_request(item)


def mark_reminded(request: PhoneRequest) -> bool:
    """R-PHONE-6: once. Two reminder runs race; one sets the flag, the other sends nothing."""
    try:
        with stale_on_lost_condition():
            _request_ref(request).update(
                actions=[PhoneChangeRequestItem.reminded.set(True)],
                condition=(PhoneChangeRequestItem.status == "pending") & (PhoneChangeRequestItem.reminded == False),  # noqa: E712
            )
    except Stale:
        return False
    return True
