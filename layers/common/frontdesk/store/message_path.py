"""The writes of the message path, at the level of intent: appending an inbound or a staff message, reading and
committing a routing decision, moving a conversation, marking it read, posting a system message, claiming a keyword's
idempotency key. Each takes and returns domain values; items, keys, conditions and cancellation-reason positions stay
here. A lost optimistic-lock race raises `frontdesk.errors.Stale` (the services re-read and retry)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from frontdesk.domain.conversations import Conversation
from frontdesk.domain.listings import Listing
from frontdesk.domain.messages import NewMessage
from frontdesk.domain.office_hours import OfficeHours
from frontdesk.domain.patients import Patient
from frontdesk.domain.routing import UNASSIGNED, Decision, Holder, RoutingInputs
from frontdesk.errors import Stale
from frontdesk.store import idempotency as idempotency_store
from frontdesk.store import listings as listings_store
from frontdesk.store import routing as routing_store
from frontdesk.store import waits
from frontdesk.store.audit import audit_item
from frontdesk.store.base import TableItem, cancellation_codes, transaction
from frontdesk.store.conversations import (
    ConversationItem,
    MessageItem,
    conversation_ref,
    message_item,
    to_conversation,
    to_message,
)
from frontdesk.store.idempotency import IdempotencyItem
from frontdesk.store.listings import ListingItem
from frontdesk.store.patients import PatientItem, PhoneIndexItem, to_patient
from frontdesk.store.routing import RoutingConfigItem

_CONDITION_FAILED = "ConditionalCheckFailed"
_TRANSACTION_LIMIT = 100  # DynamoDB's items per TransactWriteItems
# Stale listings deleted inside the decision's transaction; the rest go in batches right after it commits. Routing
# keeps room for the message, conversation, profile and up to 57 listings/notifications; a move writes at most the
# conversation, one listing, one audit item, a system message and the overdue entry, so it can take more.
_STALE_IN_DECISION = 40
_STALE_IN_MOVE = 90


# ----- routing (A21) -----


def read_for_routing(practice_id: str, conversation_id: str, message_sk: str, patient_id: str) -> RoutingInputs:
    """One consistent BatchGetItem for the four items routing needs (A21)."""
    wanted = [
        RoutingConfigItem.key(practice_id),
        ConversationItem.key(practice_id, conversation_id),
        (ConversationItem.key(practice_id, conversation_id)[0], message_sk),
        PatientItem.key(practice_id, patient_id),
    ]
    pick = {type(item): item for item in TableItem.batch_get(wanted, consistent_read=True)}
    config_item, conversation_item = pick.get(RoutingConfigItem), pick.get(ConversationItem)
    message_item_, patient_item = pick.get(MessageItem), pick.get(PatientItem)
    return RoutingInputs(
        config=routing_store.to_config(config_item, practice_id),  # type: ignore[arg-type]
        conversation=to_conversation(conversation_item) if conversation_item is not None else None,  # type: ignore[arg-type]
        message=to_message(message_item_) if message_item_ is not None else None,  # type: ignore[arg-type]
        patient=to_patient(patient_item) if patient_item is not None else None,  # type: ignore[arg-type]
    )


def commit_decision(
    conversation: Conversation,
    message_sk: str,
    message_id: str,
    message_at: datetime,
    decision: Decision,
    explanation: dict[str, Any],
    notification_type: str,
    relocated: Patient | None = None,
) -> bool:
    """Writes a routing decision in one transaction conditioned on the message not being routed yet (R-REL-1): the
    routing explanation, the conversation (holder, labels, listings), listings, notifications and, when given, the
    profile's sticky location (`relocated` carries the new location and the version read). True when written, False
    when the message was already routed; Stale when the conversation or the profile changed since they were read."""
    practice_id, conversation_id = conversation.practice_id, conversation.conversation_id
    last_message_at = max(filter(None, (conversation.last_message_at, message_at)))
    holder = decision.holder
    listings = list(decision.listings)
    stale = [name for name in conversation.listed_in if name not in listings]
    extra_items: list[Any] = []
    for name in listings:
        held = holder.type != "unassigned" and name == holder.listing()
        extra_items.append(
            listings_store.listing_item(
                practice_id,
                name,
                Listing(
                    conversation_id=conversation_id,
                    patient_id=conversation.patient_id,
                    status="open",
                    holder_type=holder.type,
                    holder_id=holder.id,
                    reason=decision.labels["reason"],
                    location=decision.labels["location"],
                    held=held,
                    last_message_at=last_message_at,
                ),
            )
        )
    for staff_id in decision.recipients:
        extra_items.append(
            listings_store.notification_item(
                practice_id, staff_id, message_id, conversation_id, notification_type, message_at
            )
        )
    # Listings and notifications have deterministic keys: writing them again is harmless. What does not fit in the
    # transaction (very many recipients) is written first in batches, so a crash before the transaction re-does it.
    # Stale listings beyond what the transaction holds are deleted right after it commits (a listing whose
    # conversation moved on is only a stale entry in someone's inbox until then).
    stale_in_tx, stale_after = stale[:_STALE_IN_DECISION], stale[_STALE_IN_DECISION:]
    room = _TRANSACTION_LIMIT - 3 - len(stale_in_tx)
    overflow = extra_items[room:] if len(extra_items) > room else []
    in_tx = extra_items[: len(extra_items) - len(overflow)]
    if overflow:
        with ListingItem.batch_write() as batch:
            for item in overflow:
                batch.save(item)
    pk, _ = ConversationItem.key(practice_id, conversation_id)
    # PynamoDB sends a transaction's condition checks, deletes, puts, then updates, whatever order they were added in
    # (see store/base.cancellation_codes): the message, the first update, comes after the stale listings' deletes and
    # the listings' and notifications' puts.
    message_position = len(stale_in_tx) + len(in_tx)
    try:
        with transaction() as tx:
            tx.update(  # the message, not routed yet (at message_position)
                MessageItem(pk, message_sk),
                actions=[MessageItem.routing.set(explanation)],
                condition=MessageItem.pk.exists() & MessageItem.routing.does_not_exist(),
            )
            tx.update(
                conversation_ref(conversation),
                actions=[
                    ConversationItem.status.set("open"),
                    ConversationItem.holder_type.set(holder.type),
                    _set_or_remove(ConversationItem.holder_id, holder.id),
                    _set_or_remove(ConversationItem.reason, decision.labels["reason"]),
                    _set_or_remove(ConversationItem.location, decision.labels["location"]),
                    ConversationItem.last_message_at.set(last_message_at),
                    ConversationItem.listed_in.set(listings),  # type: ignore[arg-type]
                ],
            )
            if relocated is not None and relocated.location:
                tx.update(_patient_ref(relocated), actions=[PatientItem.location.set(relocated.location)])
            for name in stale_in_tx:
                tx.delete(listings_store.listing_key_item(practice_id, name, conversation_id))
            for item in in_tx:
                tx.save(item)
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes[message_position : message_position + 1] == [_CONDITION_FAILED]:
            return False
        if _CONDITION_FAILED in codes:
            raise Stale("the conversation or the profile changed since it was read") from error
        raise
    listings_store.delete_listings(practice_id, conversation_id, stale_after)
    return True


def _patient_ref(patient: Patient) -> PatientItem:
    pk, sk = PatientItem.key(patient.practice_id, patient.patient_id)
    item = PatientItem(pk, sk)
    item.version = patient.version
    return item


# ----- intake (A20) -----


def append_inbound(
    message: NewMessage,
    conversation: Conversation,
    now: datetime,
    scope: str,
    key: str,
    answer: dict[str, Any],
    *,
    activity: tuple[str, str] | None,
    hours: OfficeHours,
) -> dict[str, Any]:
    """A20: idempotency record + message + conversation update in one transaction. R-HOURS-3: the first unanswered
    message starts the conversation's response wait (due after the target in office minutes); R-HOURS-4: a patient
    message ends the unread-reply reminders (the patient answered, so the reply reached them). `activity` (phone,
    patient id) stamps the phone index entry's last activity, if the entry still exists.

    Returns `answer` when stored, the first answer when the idempotency key was already used; Stale when the
    conversation changed since it was read (the caller reads it again)."""
    record = idempotency_store.idempotency_item(message.practice_id, scope, key, answer, now)
    due = None
    if conversation.waiting_since is None and hours.response_target_minutes > 0:
        due = hours.add_office_minutes(now, hours.response_target_minutes)
    wait_actions = waits.start_wait_actions(conversation, now, due)
    try:
        with transaction() as tx:
            # position 0: the idempotency record
            tx.save(record, condition=IdempotencyItem.pk.does_not_exist() | (IdempotencyItem.expires_ttl < now))
            tx.save(message_item(message, now), condition=MessageItem.pk.does_not_exist())
            tx.update(  # position 2: the conversation, at the version read
                conversation_ref(conversation),
                actions=[
                    ConversationItem.last_patient_message_at.set(now),
                    ConversationItem.last_patient_reason.set(message.reason)
                    if message.reason
                    else ConversationItem.last_patient_reason.remove(),
                    *wait_actions,
                ],
            )
            if activity is not None:  # position 3: the phone index entry
                phone, patient_id = activity
                pk, sk = PhoneIndexItem.key(message.practice_id, phone, patient_id)
                tx.update(
                    PhoneIndexItem(pk, sk),
                    actions=[PhoneIndexItem.last_active_at.set(now)],
                    condition=PhoneIndexItem.pk.exists(),
                )
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes and codes[0] == _CONDITION_FAILED:
            first = idempotency_store.get_idempotent_answer(message.practice_id, scope, key, now)
            if first is not None:
                return first
        if len(codes) > 3 and codes[3] == _CONDITION_FAILED:
            # The phone index entry went (a phone change or a merge): store the message without stamping it.
            return append_inbound(message, conversation, now, scope, key, answer, activity=None, hours=hours)
        if _CONDITION_FAILED in codes:
            raise Stale("the conversation changed since it was read") from error
        raise
    if _unread_reply_possible(conversation):
        # R-HOURS-4: the patient answered, so the reply reached them. Its own request, after the commit and only
        # when a reply may be unread: the message's transaction keeps its items (and its contention) unchanged.
        waits.clear_unread(message.practice_id, message.conversation_id, read_at=now)
    return answer


def _unread_reply_possible(conversation: Conversation) -> bool:
    replied, read = conversation.last_practice_message_at, conversation.patient_read_at
    return replied is not None and (read is None or read < replied)


def mark_read(conversation: Conversation, now: datetime) -> None:
    """The patient read the practice's messages so far (feeds R-ROUTE-3); reading stops the unread-reply reminders
    (R-HOURS-4). Stale when the conversation changed since it was read."""
    try:
        conversation_ref(conversation).update(actions=[ConversationItem.patient_read_at.set(now)])
    except UpdateError as error:
        if error.cause_response_code == f"{_CONDITION_FAILED}Exception":
            raise Stale("the conversation changed since it was read") from error
        raise
    if _unread_reply_possible(conversation):  # the item exists only then: no delete on every read
        waits.clear_unread(conversation.practice_id, conversation.conversation_id, read_at=now)


# ----- staff (replies, assignment, closing) -----


def append_reply(
    message: NewMessage,
    conversation: Conversation,
    now: datetime,
    *,
    actor: str,
    unread_due: datetime,
) -> None:
    """A staff reply or internal note, the conversation's timestamps and an audit entry in one transaction. A reply
    (not a note) ends the response wait and its overdue entry (R-HOURS-3) and starts the unread-reply reminder due
    at `unread_due` (R-HOURS-4). Stale when the conversation changed since it was read."""
    practice_id, conversation_id = message.practice_id, message.conversation_id
    actions: list[Any] = [ConversationItem.last_message_at.set(max(filter(None, (conversation.last_message_at, now))))]
    if not message.internal:
        actions.append(ConversationItem.last_practice_message_at.set(now))
        actions += waits.end_wait_actions()
    try:
        with transaction() as tx:
            tx.save(message_item(message, now), condition=MessageItem.pk.does_not_exist())
            tx.update(conversation_ref(conversation), actions=actions)
            tx.save(audit_item(practice_id, message.patient_id, actor, "conversation.reply", now))
            if not message.internal:
                tx.delete(waits.overdue_key_item(practice_id, conversation_id))
                unread, unread_actions = waits.unread_after_reply(
                    practice_id, conversation_id, message.patient_id, now, unread_due
                )
                tx.update(unread, actions=unread_actions)
    except TransactWriteError as error:
        if _CONDITION_FAILED in cancellation_codes(error):
            raise Stale("the conversation changed since it was read") from error
        raise


def move(
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
) -> Conversation:
    """Holder and listings change together: every listing the conversation had goes, the new holder's comes; with an
    audit entry. `end_wait`: the response wait ends with the move (R-HOURS-3: off the due index, out of the overdue
    list). `only_from`: only while that holder still holds it (R-AUTH-3: a conversation reassigned or closed
    since an inbox listing said otherwise is left alone). `note`: a system message in the same transaction, so the
    move and its message happen once, together. Returns the conversation as written; Stale when it changed since it
    was read (the holder included)."""
    practice_id, conversation_id = conversation.practice_id, conversation.conversation_id
    waiting = conversation.waiting_since is not None or conversation.overdue_since is not None
    wait_actions = waits.end_wait_actions() if end_wait and waiting else []
    condition = None
    if only_from is not None:
        condition = ConversationItem.holder_type == only_from.type
        condition &= (
            ConversationItem.holder_id == only_from.id
            if only_from.id is not None
            else ConversationItem.holder_id.does_not_exist()
        )
    listings = [holder.listing()] if holder is not None else []
    # Beyond what one transaction holds (very many routed recipients), stale listings go right after it commits.
    stale = [name for name in conversation.listed_in if name not in listings]
    try:
        with transaction() as tx:
            tx.update(
                conversation_ref(conversation),
                actions=[
                    ConversationItem.status.set(status),
                    _set_or_remove(ConversationItem.holder_type, holder.type if holder else None),
                    _set_or_remove(ConversationItem.holder_id, holder.id if holder else None),
                    ConversationItem.listed_in.set(listings),  # type: ignore[arg-type]
                    *wait_actions,
                ],
                condition=condition,
            )
            if wait_actions and conversation.overdue_since is not None:
                tx.delete(waits.overdue_key_item(practice_id, conversation_id))
            for name in stale[:_STALE_IN_MOVE]:
                tx.delete(listings_store.listing_key_item(practice_id, name, conversation_id))
            if holder is not None:
                tx.save(
                    listings_store.listing_item(
                        practice_id,
                        holder.listing(),
                        Listing(
                            conversation_id=conversation_id,
                            patient_id=conversation.patient_id,
                            status=status,
                            holder_type=holder.type,
                            holder_id=holder.id,
                            reason=conversation.reason,
                            location=conversation.location,
                            held=holder.type != UNASSIGNED,
                            last_message_at=conversation.last_message_at or conversation.created_at,
                        ),
                    )
                )
            tx.save(audit_item(practice_id, conversation.patient_id, actor, action, now))
            if note is not None:
                tx.save(message_item(note, now), condition=MessageItem.pk.does_not_exist())
    except TransactWriteError as error:
        if _CONDITION_FAILED in cancellation_codes(error):
            raise Stale("the conversation changed since it was read") from error
        raise
    listings_store.delete_listings(practice_id, conversation_id, stale[_STALE_IN_MOVE:])
    # What the committed transaction wrote (its versioned update added 1): no read-back.
    return replace(
        conversation,
        status=status,
        holder_type=holder.type if holder else None,
        holder_id=holder.id if holder else None,
        listed_in=tuple(listings),
        version=conversation.version + 1,
        waiting_since=None if wait_actions else conversation.waiting_since,
        overdue_since=None if wait_actions else conversation.overdue_since,
    )


# ----- system messages with an idempotency claim -----


def claim_with_messages(
    claim: tuple[str, str, str, dict[str, Any]] | None, messages: list[NewMessage], now: datetime
) -> bool:
    """The idempotency record `claim` (practice id, scope, key, answer) and the system messages in one transaction;
    False when the key was already used (and not expired)."""
    if claim is None and not messages:
        return True
    try:
        with transaction() as tx:
            if claim is not None:  # position 0: the idempotency record
                practice_id, scope, key, answer = claim
                tx.save(
                    idempotency_store.idempotency_item(practice_id, scope, key, answer, now),
                    condition=IdempotencyItem.pk.does_not_exist() | (IdempotencyItem.expires_ttl < now),
                )
            for message in messages:
                tx.save(message_item(message, now))
    except TransactWriteError as error:
        if claim is not None and cancellation_codes(error)[:1] == [_CONDITION_FAILED]:
            return False
        raise
    return True


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.set(value) if value is not None else attribute.remove()
