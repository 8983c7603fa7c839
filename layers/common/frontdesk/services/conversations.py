"""Staff side of conversations: inboxes, reading, replies, assignment, closing, notifications (R-ROUTE-1, 8, 9, 10,
R-CREATE-3, R-SEC-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.sms import SmsSender
from frontdesk.auth import Principal
from frontdesk.domain.routing import UNASSIGNED, Holder, Settings, Subscriptions, matches_filters
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.services import outbound_sms, unread_replies
from frontdesk.services.messages import NewMessage
from frontdesk.services.patients import actor_of
from frontdesk.services.retry import retry_on_stale
from frontdesk.store import audit as audit_store
from frontdesk.store import conversations as store
from frontdesk.store import message_path
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store
from frontdesk.store import routing as routing_store
from frontdesk.store.conversations import Conversation, Message
from frontdesk.store.routing import Listing, Notification

_ATTEMPTS = 8


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
    audit_store.record_audit(
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
        author_id=_staff(caller),
        internal=internal,
    )
    # Sent before the record is written: a failing SMS provider leaves nothing half-written (R-REL-2).
    if permit is not None and not outbound_sms.deliver(permit, body, clock=clock, sms=sms).sent:
        # R-SMS-3: the provider refused (the number opted out with the carrier): a failed delivery, not a 500.
        raise _opted_out("The reply was not delivered: the carrier reports this number opted out of texts.")
    unread_due = unread_replies.first_due(now)  # R-HOURS-4: the oldest unread reply is reminded from 24 hours on
    first_read = [conversation]  # the first attempt writes at the version already read; a retry reads again

    @retry_on_stale(_ATTEMPTS)
    def append() -> None:
        current = first_read.pop() if first_read else _require(practice_id, conversation_id, consistent=True)
        message_path.append_reply(message, current, now, actor=actor_of(caller), unread_due=unread_due)

    append()
    return message, now


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
    """Holder and listings change together (store: message_path.move), at the version read; a lost race reads again."""
    now = (clock or get_clock()).now()

    @retry_on_stale(_ATTEMPTS)
    def move() -> Conversation:
        current = _require(practice_id, conversation_id, consistent=True)
        return message_path.move(current, status, holder, actor=actor, action=action, now=now)

    return move()


def notifications(
    caller: Principal, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[Notification], dict[str, Any] | None]:
    return routing_store.list_notifications(_practice(caller), _staff(caller), limit, start_key)


def _require(practice_id: str, conversation_id: str, *, consistent: bool = False) -> Conversation:
    conversation = store.get_conversation(practice_id, conversation_id, consistent=consistent)
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation
