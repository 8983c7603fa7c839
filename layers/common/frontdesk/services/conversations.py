"""Staff side of conversations: inboxes, reading, replies, assignment, closing, notifications (R-ROUTE-1, 8, 9, 10,
R-CREATE-3, R-SEC-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.events import EventPublisher
from frontdesk.adapters.sms import SmsSender
from frontdesk.auth import Principal
from frontdesk.domain.conversations import Conversation, Message
from frontdesk.domain.listings import Listing, Notification
from frontdesk.domain.patients import Patient
from frontdesk.domain.practices import Inbox, Staff
from frontdesk.domain.routing import UNASSIGNED, Holder, RoutingConfig, Settings, Subscriptions, matches_filters
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.services import outbound_sms, unread_replies
from frontdesk.services.messages import NewMessage, announce
from frontdesk.services.patients import actor_of
from frontdesk.services.retry import retry_on_stale
from frontdesk.store import audit as audit_store
from frontdesk.store import conversations as conversations_store
from frontdesk.store import listings as listings_store
from frontdesk.store import message_path
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store
from frontdesk.store import routing as routing_store

_ATTEMPTS = 8
STAFF_DEACTIVATED = "staff_deactivated"  # R-AUTH-3: the system message of a conversation released by deactivation


class ConversationStore(Protocol):
    """What the staff side of conversations needs from the store (A22-A25); DynamoDB below, an in-memory fake in the
    unit tests. Writes take and return domain values; a lost optimistic-lock race raises `frontdesk.errors.Stale`."""

    def get_conversation(
        self, practice_id: str, conversation_id: str, *, consistent: bool = False
    ) -> Conversation | None: ...

    def list_messages(
        self,
        practice_id: str,
        conversation_id: str,
        limit: int,
        start_key: dict[str, Any] | None,
        *,
        newest_first: bool = False,
    ) -> tuple[list[Message], dict[str, Any] | None]: ...

    def get_patient(self, practice_id: str, patient_id: str, *, consistent: bool = False) -> Patient | None: ...

    def record_audit(self, practice_id: str, patient_id: str, actor: str, action: str, at: datetime) -> None: ...

    def get_config(self, practice_id: str, *, consistent: bool = False) -> RoutingConfig: ...

    def get_inbox(self, practice_id: str, inbox_id: str) -> Inbox | None: ...

    def get_staff(self, practice_id: str, staff_id: str) -> Staff | None: ...

    def list_inbox(
        self, practice_id: str, listing: str, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[Listing], dict[str, Any] | None]: ...

    def list_notifications(
        self, practice_id: str, staff_id: str, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[Notification], dict[str, Any] | None]: ...

    def append_reply(
        self, message: NewMessage, conversation: Conversation, now: datetime, *, actor: str, unread_due: datetime
    ) -> None: ...

    def move(
        self,
        conversation: Conversation,
        status: str,
        holder: Holder | None,
        *,
        actor: str,
        action: str,
        now: datetime,
        only_from: Holder | None = None,
        note: NewMessage | None = None,
        end_wait: bool = False,
    ) -> Conversation: ...

    def check_sms(
        self, practice_id: str, to: str, *, purpose: outbound_sms.Purpose
    ) -> outbound_sms.Permit | outbound_sms.SendResult: ...


class DynamoConversationStore:
    """The table (store/message_path.py and the look-ups of store/conversations, patients, practices, routing); the
    staff reply's opt-out check is the one send path's (services/outbound_sms.check: the register, one GetItem)."""

    get_conversation = staticmethod(conversations_store.get_conversation)
    list_messages = staticmethod(conversations_store.list_messages)
    get_patient = staticmethod(patients_store.get_patient)
    record_audit = staticmethod(audit_store.record_audit)
    get_config = staticmethod(routing_store.get_config)
    get_inbox = staticmethod(practices_store.get_inbox)
    get_staff = staticmethod(practices_store.get_staff)
    list_inbox = staticmethod(listings_store.list_inbox)
    list_notifications = staticmethod(listings_store.list_notifications)
    append_reply = staticmethod(message_path.append_reply)
    move = staticmethod(message_path.move)
    check_sms = staticmethod(outbound_sms.check)


_DYNAMO = DynamoConversationStore()


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


def list_inbox(
    caller: Principal,
    inbox: str,
    limit: int,
    start_key: dict[str, Any] | None,
    *,
    store: ConversationStore | None = None,
) -> InboxPage:
    """`unassigned`, `mine` or a custom inbox id. R-ROUTE-10: subscriptions filter `unassigned` and `mine`, and seeing
    `unassigned` needs its subscription; R-ROUTE-9: labels only in `unassigned` and `mine`."""
    store = store or _DYNAMO
    practice_id, staff_id = _practice(caller), _staff(caller)
    if inbox in ("unassigned", "mine"):
        config = store.get_config(practice_id)
        subs = config.subscriptions.get(staff_id, Subscriptions())
        if inbox == "unassigned" and UNASSIGNED not in subs.inboxes:
            # R-ROUTE-10: its own 403 code, so a client can offer the subscription (the role may use the route).
            raise Forbidden("Subscribe to the Unassigned inbox to see it.", code="subscription_required")
        listing = UNASSIGNED if inbox == "unassigned" else f"staff#{staff_id}"
        items, next_key = store.list_inbox(practice_id, listing, limit, start_key)
        visible = [i for i in items if i.held or _in_filter(config.settings, subs, i)]
        return InboxPage(visible, True, next_key)
    if store.get_inbox(practice_id, inbox) is None:
        raise NotFound("No such inbox.")
    items, next_key = store.list_inbox(practice_id, f"inbox#{inbox}", limit, start_key)
    return InboxPage(items, False, next_key)


def _in_filter(settings: Settings, subs: Subscriptions, listing: Listing) -> bool:
    return matches_filters(settings, subs, listing.reason, listing.location)


def read_conversation(
    caller: Principal,
    conversation_id: str,
    limit: int,
    start_key: dict[str, Any] | None,
    clock: Clock | None = None,
    *,
    store: ConversationStore | None = None,
) -> ConversationView:
    store = store or _DYNAMO
    practice_id = _practice(caller)
    conversation = _require(store, practice_id, conversation_id)
    messages, next_key = store.list_messages(practice_id, conversation_id, limit, start_key)
    # R-SEC-2: a staff read of a patient's conversation is a read of the patient record.
    store.record_audit(
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
    store: ConversationStore | None = None,
) -> tuple[NewMessage, datetime]:
    """A staff reply goes to the patient's cell phone by SMS (from the practice's number) and in-app; R-CREATE-3: a
    profile without a cell phone only takes internal notes (409 patient_unreachable otherwise)."""
    store = store or _DYNAMO
    practice_id = _practice(caller)
    if not body.strip():
        raise ValidationFailed("The message is empty.", field="body")
    conversation = _require(store, practice_id, conversation_id, consistent=True)  # also the first attempt's version
    patient = store.get_patient(practice_id, conversation.patient_id)
    if patient is None:
        raise NotFound("No such conversation.")
    if not internal and not patient.cell_phone:
        raise Conflict("This patient has no cell phone: only internal notes are possible.", code="patient_unreachable")
    permit: outbound_sms.Permit | None = None
    if not internal:
        assert patient.cell_phone is not None
        checked = store.check_sms(practice_id, patient.cell_phone, purpose=outbound_sms.Purpose.STAFF_REPLY)
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
    writer = store

    @retry_on_stale(_ATTEMPTS)
    def append() -> None:
        current = first_read.pop() if first_read else _require(writer, practice_id, conversation_id, consistent=True)
        writer.append_reply(message, current, now, actor=actor_of(caller), unread_due=unread_due)

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
    store: ConversationStore | None = None,
) -> Conversation:
    store = store or _DYNAMO
    practice_id = _practice(caller)
    if sum((staff_id is not None, inbox_id is not None, bool(unassigned))) != 1:
        raise ValidationFailed("Give exactly one of staff_id, inbox_id or unassigned: true.", field="staff_id")
    if staff_id is not None:
        member = store.get_staff(practice_id, staff_id)
        if member is None:
            raise NotFound("No such staff member.")
        if member.status == "deactivated":  # R-AUTH-3: nothing waits on someone who left
            raise Conflict("That staff member is deactivated.", field="staff_id", code="staff_deactivated")
        holder = Holder("staff", staff_id)
    elif inbox_id is not None:
        if store.get_inbox(practice_id, inbox_id) is None:
            raise NotFound("No such inbox.")
        holder = Holder("inbox", inbox_id)
    else:
        holder = Holder(UNASSIGNED)
    now = (clock or get_clock()).now()
    moved = _move(
        practice_id, actor_of(caller), conversation_id, "open", holder, "conversation.assign", now, store=store
    )
    assert moved is not None  # no `only_from`: the move always happens
    return moved


def close(
    caller: Principal, conversation_id: str, clock: Clock | None = None, *, store: ConversationStore | None = None
) -> Conversation:
    now = (clock or get_clock()).now()
    moved = _move(
        _practice(caller), actor_of(caller), conversation_id, "closed", None, "conversation.close", now, store=store
    )
    assert moved is not None
    return moved


def _move(
    practice_id: str,
    actor: str,
    conversation_id: str,
    status: str,
    holder: Holder | None,
    action: str,
    now: datetime,
    *,
    store: ConversationStore | None = None,
    only_from: Holder | None = None,
    note: NewMessage | None = None,
) -> Conversation | None:
    """Holder and listings change together (store: message_path.move), at the version read; a lost race reads again.
    With `only_from`, only while that holder holds it: None (nothing written) once someone else does."""
    writer = store or _DYNAMO

    @retry_on_stale(_ATTEMPTS)
    def move() -> Conversation | None:
        current = _require(writer, practice_id, conversation_id, consistent=True)
        if only_from is not None and Holder(current.holder_type or "", current.holder_id) != only_from:
            return None
        return writer.move(
            current,
            status,
            holder,
            actor=actor,
            action=action,
            now=now,
            only_from=only_from,
            note=note,
            # R-HOURS-3: closing ends the response wait (nothing is left to answer); a reassignment does not (the
            # patient still waits, and an escalation goes to whoever holds the conversation then).
            end_wait=status == "closed",
        )

    return move()


def release(
    practice_id: str,
    actor: str,
    listing: Listing,
    staff_id: str,
    note: str,
    *,
    clock: Clock | None = None,
    publisher: EventPublisher | None = None,
    store: ConversationStore | None = None,
) -> bool:
    """R-AUTH-3: a conversation a deactivated member holds goes back to Unassigned with a `staff_deactivated` system
    message, in one transaction conditioned on the member still holding it: a stale inbox entry, or a conversation
    reassigned or closed since, is left alone (False). The message is announced so routing notifies Unassigned."""
    now = (clock or get_clock()).now()
    message = NewMessage(
        practice_id, listing.conversation_id, listing.patient_id, "system", "system", note, kind=STAFF_DEACTIVATED
    )
    try:
        moved = _move(
            practice_id,
            actor,
            listing.conversation_id,
            "open",
            Holder(UNASSIGNED),
            "conversation.assign",
            now,
            store=store,
            only_from=Holder("staff", staff_id),
            note=message,
        )
    except NotFound:
        return False  # the conversation went (a merge): its listing is only a stale entry
    if moved is None:
        return False
    announce(message, now, publisher)
    return True


def notifications(
    caller: Principal, limit: int, start_key: dict[str, Any] | None, *, store: ConversationStore | None = None
) -> tuple[list[Notification], dict[str, Any] | None]:
    return (store or _DYNAMO).list_notifications(_practice(caller), _staff(caller), limit, start_key)


def _require(
    store: ConversationStore, practice_id: str, conversation_id: str, *, consistent: bool = False
) -> Conversation:
    conversation = store.get_conversation(practice_id, conversation_id, consistent=consistent)
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation
