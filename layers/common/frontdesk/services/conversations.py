"""Staff side of conversations: inboxes, reading, replies, assignment, closing, notifications (R-ROUTE-1, 8, 9, 10,
R-CREATE-3, R-SEC-2)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.sms import SmsSender
from frontdesk.auth import Principal
from frontdesk.domain.routing import UNASSIGNED, Holder, Settings, Subscriptions, matches_filters
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.services import outbound_sms, unread_replies
from frontdesk.services.messages import NewMessage, message_item
from frontdesk.services.patients import actor_of
from frontdesk.store import conversations as store
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store
from frontdesk.store import routing as routing_store
from frontdesk.store import waits
from frontdesk.store.base import cancellation_codes, transaction
from frontdesk.store.conversations import Conversation, ConversationItem, Message
from frontdesk.store.patients import audit_item
from frontdesk.store.routing import Listing, Notification

_ATTEMPTS = 8
_STALE_IN_TX = 90


@dataclass(frozen=True)
class InboxPage:
    items: list[Listing]
    labels: bool
    next_key: dict[str, Any] | None


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    messages: list[Message]
    next_key: dict[str, Any] | None


def _practice(caller: Principal) -> str:
    assert caller.practice_id is not None
    return caller.practice_id


def _staff(caller: Principal) -> str:
    assert caller.staff_id is not None
    return caller.staff_id


def list_inbox(caller: Principal, inbox: str, limit: int, start_key: dict[str, Any] | None) -> InboxPage:
    """`unassigned`, `mine` or a custom inbox id. R-ROUTE-10: subscriptions filter `unassigned` and `mine`, and seeing
    `unassigned` needs its subscription; R-ROUTE-9: labels only in `unassigned` and `mine`."""
    practice_id, staff_id = _practice(caller), _staff(caller)
    if inbox in ("unassigned", "mine"):
        config = routing_store.get_config(practice_id)
        subs = config.subscriptions.get(staff_id, Subscriptions())
        if inbox == "unassigned" and UNASSIGNED not in subs.inboxes:
            # R-ROUTE-10: its own 403 code, so a client can offer the subscription (the role may use the route).
            raise Forbidden("Subscribe to the Unassigned inbox to see it.", code="subscription_required")
        listing = UNASSIGNED if inbox == "unassigned" else f"staff#{staff_id}"
        items, next_key = routing_store.list_inbox(practice_id, listing, limit, start_key)
        visible = [i for i in items if i.held or _in_filter(config.settings, subs, i)]
        return InboxPage(visible, True, next_key)
    if practices_store.get_inbox(practice_id, inbox) is None:
        raise NotFound("No such inbox.")
    items, next_key = routing_store.list_inbox(practice_id, f"inbox#{inbox}", limit, start_key)
    return InboxPage(items, False, next_key)


def _in_filter(settings: Settings, subs: Subscriptions, listing: Listing) -> bool:
    return matches_filters(settings, subs, listing.reason, listing.location)


def read_conversation(
    caller: Principal, conversation_id: str, limit: int, start_key: dict[str, Any] | None, clock: Clock | None = None
) -> ConversationView:
    practice_id = _practice(caller)
    conversation = _require(practice_id, conversation_id)
    messages, next_key = store.list_messages(practice_id, conversation_id, limit, start_key)
    # R-SEC-2: a staff read of a patient's conversation is a read of the patient record.
    patients_store.record_audit(
        practice_id, conversation.patient_id, actor_of(caller), "conversation.read", (clock or get_clock()).now()
    )
    return ConversationView(conversation, messages, next_key)


def reply(
    caller: Principal,
    conversation_id: str,
    body: str,
    internal: bool,
    *,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
) -> tuple[NewMessage, datetime]:
    """A staff reply goes to the patient's cell phone by SMS (from the practice's number) and in-app; R-CREATE-3: a
    profile without a cell phone only takes internal notes (409 patient_unreachable otherwise)."""
    practice_id = _practice(caller)
    if not body.strip():
        raise ValidationFailed("The message is empty.", field="body")
    conversation = _require(practice_id, conversation_id, consistent=True)  # also the first attempt's version
    patient = patients_store.get_patient(practice_id, conversation.patient_id)
    if patient is None:
        raise NotFound("No such conversation.")
    if not internal and not patient.cell_phone:
        raise Conflict("This patient has no cell phone: only internal notes are possible.", code="patient_unreachable")
    permit: outbound_sms.Permit | None = None
    if not internal:
        assert patient.cell_phone is not None
        checked = outbound_sms.check(practice_id, patient.cell_phone, purpose=outbound_sms.Purpose.STAFF_REPLY)
        if not isinstance(checked, outbound_sms.Permit):
            raise _opted_out("This patient opted out of texts (STOP): only internal notes are possible.")
        permit = checked
    now = (clock or get_clock()).now()
    message = NewMessage(
        practice_id,
        conversation_id,
        patient.patient_id,
        "staff",
        "app" if internal else "sms",
        body,
    )
    item = message_item(message, now)
    item.author_id = _staff(caller)
    item.internal = internal or None
    # Sent before the record is written: a failing SMS provider leaves nothing half-written (R-REL-2).
    if permit is not None and not outbound_sms.deliver(permit, body, clock=clock, sms=sms).sent:
        # R-SMS-3: the provider refused (the number opted out with the carrier): a failed delivery, not a 500.
        raise _opted_out("The reply was not delivered: the carrier reports this number opted out of texts.")
    for attempt in range(_ATTEMPTS):
        current = conversation if attempt == 0 else _require(practice_id, conversation_id, consistent=True)
        actions: list[Any] = [ConversationItem.last_message_at.set(max(filter(None, (current.last_message_at, now))))]
        if not internal:
            actions.append(ConversationItem.last_practice_message_at.set(now))
            actions += waits.end_wait_actions()  # R-HOURS-3: a staff reply (not a note) ends the wait
        try:
            with transaction() as tx:
                tx.save(item, condition=store.MessageItem.pk.does_not_exist())
                tx.update(store.conversation_ref(current), actions=actions)
                tx.save(audit_item(practice_id, patient.patient_id, actor_of(caller), "conversation.reply", now))
                if not internal:
                    tx.delete(waits.overdue_key_item(practice_id, conversation_id))
                    # R-HOURS-4: the oldest unread reply is reminded from 24 hours on (kept if one is pending).
                    unread, unread_actions = waits.unread_after_reply(
                        practice_id, conversation_id, patient.patient_id, now, unread_replies.first_due(now)
                    )
                    tx.update(unread, actions=unread_actions)
        except TransactWriteError as error:
            if "ConditionalCheckFailed" in cancellation_codes(error):
                continue
            raise
        return message, now
    raise Conflict("The conversation is busy; try again.", code="concurrent_update")


def _opted_out(text: str) -> Conflict:
    return Conflict(text, code="patient_opted_out")


def assign(
    caller: Principal,
    conversation_id: str,
    *,
    staff_id: str | None,
    inbox_id: str | None,
    unassigned: bool,
    clock: Clock | None = None,
) -> Conversation:
    practice_id = _practice(caller)
    if sum((staff_id is not None, inbox_id is not None, bool(unassigned))) != 1:
        raise ValidationFailed("Give exactly one of staff_id, inbox_id or unassigned: true.", field="staff_id")
    if staff_id is not None:
        if practices_store.get_staff(practice_id, staff_id) is None:
            raise NotFound("No such staff member.")
        holder = Holder("staff", staff_id)
    elif inbox_id is not None:
        if practices_store.get_inbox(practice_id, inbox_id) is None:
            raise NotFound("No such inbox.")
        holder = Holder("inbox", inbox_id)
    else:
        holder = Holder(UNASSIGNED)
    return _move(_practice(caller), actor_of(caller), conversation_id, "open", holder, "conversation.assign", clock)


def close(caller: Principal, conversation_id: str, clock: Clock | None = None) -> Conversation:
    return _move(_practice(caller), actor_of(caller), conversation_id, "closed", None, "conversation.close", clock)


def _move(
    practice_id: str,
    actor: str,
    conversation_id: str,
    status: str,
    holder: Holder | None,
    action: str,
    clock: Clock | None,
) -> Conversation:
    """Holder and listings change together: every listing the conversation had goes, the new holder's comes."""
    now = (clock or get_clock()).now()
    for _ in range(_ATTEMPTS):
        current = _require(practice_id, conversation_id, consistent=True)
        listings = [holder.listing()] if holder is not None else []
        # Beyond what one transaction holds (very many routed recipients), stale listings go right after it commits.
        stale = [name for name in current.listed_in if name not in listings]
        try:
            with transaction() as tx:
                tx.update(
                    store.conversation_ref(current),
                    actions=[
                        ConversationItem.status.set(status),
                        _set_or_remove(ConversationItem.holder_type, holder.type if holder else None),
                        _set_or_remove(ConversationItem.holder_id, holder.id if holder else None),
                        ConversationItem.listed_in.set(listings),  # type: ignore[arg-type]
                    ],
                )
                for name in stale[:_STALE_IN_TX]:
                    tx.delete(routing_store.listing_key_item(practice_id, name, conversation_id))
                if holder is not None:
                    tx.save(
                        routing_store.listing_item(
                            practice_id,
                            holder.listing(),
                            Listing(
                                conversation_id=conversation_id,
                                patient_id=current.patient_id,
                                status=status,
                                holder_type=holder.type,
                                holder_id=holder.id,
                                reason=current.reason,
                                location=current.location,
                                held=holder.type != UNASSIGNED,
                                last_message_at=current.last_message_at or current.created_at,
                            ),
                        )
                    )
                tx.save(audit_item(practice_id, current.patient_id, actor, action, now))
        except TransactWriteError as error:
            if "ConditionalCheckFailed" in cancellation_codes(error):
                continue
            raise
        routing_store.delete_listings(practice_id, conversation_id, stale[_STALE_IN_TX:])
        # What the committed transaction wrote (its versioned update added 1): no read-back.
        return replace(
            current,
            status=status,
            holder_type=holder.type if holder else None,
            holder_id=holder.id if holder else None,
            listed_in=tuple(listings),
            version=current.version + 1,
        )
    raise Conflict("The conversation is busy; try again.", code="concurrent_update")


def notifications(
    caller: Principal, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[Notification], dict[str, Any] | None]:
    return routing_store.list_notifications(_practice(caller), _staff(caller), limit, start_key)


def _require(practice_id: str, conversation_id: str, *, consistent: bool = False) -> Conversation:
    conversation = store.get_conversation(practice_id, conversation_id, consistent=consistent)
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.set(value) if value is not None else attribute.remove()
