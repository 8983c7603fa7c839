"""What the office-hours rules remember (R-HOURS-2..4): after-hours reply claims, response waits and their
escalation, overdue listings, unread staff replies. Every decision that must happen once is a conditional write.

The two scheduled jobs read sparse gsi3 partitions (like the phone-change expiry, A17): an item is in the index only
while it waits, so a run costs what is due, not what the table holds (docs/data-model.md A53-A60).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError

from frontdesk.adapters.clock import iso
from frontdesk.domain.conversations import Conversation
from frontdesk.domain.messages import Posted
from frontdesk.domain.unread_replies import UnreadReply
from frontdesk.errors import Stale
from frontdesk.store import backoff, keys
from frontdesk.store.base import TableItem, cancellation_codes, transaction
from frontdesk.store.conversations import ConversationItem, MessageItem, conversation_ref, message_item, to_conversation

_CLAIM_ATTEMPTS = 6
_TX_ROOM = 95  # of DynamoDB's 100 items per transaction, after the conversation, the message and the listing


class AfterHoursReplyItem(TableItem, discriminator="AfterHoursReply"):
    """R-HOURS-2: exists once a conversation got its reply for one closed period (named by the period's start)."""

    practice_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    period = UnicodeAttribute()
    message_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, conversation_id: str, period: str) -> tuple[str, str]:
        return keys.conversation_pk(practice_id, conversation_id), f"AFTERHOURS#{period}"


class OverdueItem(TableItem, discriminator="Overdue"):
    """R-HOURS-3: a conversation whose wait was escalated, listed until a staff reply ends the wait."""

    practice_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    overdue_since = UTCDateTimeAttribute()
    waiting_since = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, conversation_id: str) -> tuple[str, str]:
        return keys.overdue_pk(practice_id), f"CONV#{conversation_id}"


class UnreadReplyItem(TableItem, discriminator="UnreadReply"):
    """R-HOURS-4: the oldest staff reply the patient has not read; in gsi3 UNREAD#DUE by its next reminder."""

    practice_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    reply_at = UTCDateTimeAttribute()
    reminders_sent = NumberAttribute()
    due_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, conversation_id: str) -> tuple[str, str]:
        return keys.conversation_pk(practice_id, conversation_id), "UNREAD"


def _lost(error: Exception) -> bool:
    if isinstance(error, TransactWriteError):
        codes = cancellation_codes(error)
        return "ConditionalCheckFailed" in codes or "TransactionConflict" in codes
    if isinstance(error, UpdateError):
        return error.cause_response_code == "ConditionalCheckFailedException"
    return False


def _due_key(due: datetime, practice_id: str, conversation_id: str) -> str:
    return f"{iso(due)}#{practice_id}#{conversation_id}"


# ----- R-HOURS-2: after-hours reply -----


def claim_after_hours_reply(
    practice_id: str, conversation_id: str, period: str, message: Posted, now: datetime, keep_until: datetime
) -> bool:
    """The claim and the system message commit together, conditioned on no claim for this period: two messages at
    once give one reply. False: the conversation already had its reply this period."""
    pk, sk = AfterHoursReplyItem.key(practice_id, conversation_id, period)
    claim = AfterHoursReplyItem(
        pk,
        sk,
        practice_id=practice_id,
        conversation_id=conversation_id,
        period=period,
        message_id=message.message.message_id,
        created_at=now,
    )
    claim.expires_ttl = keep_until  # housekeeping only: a later period has another name, so an old claim never matters
    for attempt in range(_CLAIM_ATTEMPTS):
        try:
            with transaction() as tx:
                tx.save(claim, condition=AfterHoursReplyItem.pk.does_not_exist())
                tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if "ConditionalCheckFailed" in codes:
                return False  # this period's reply exists
            if "TransactionConflict" in codes and attempt + 1 < _CLAIM_ATTEMPTS:
                # Another claim in flight: it may still fail, so try again rather than leave the period unanswered.
                backoff.pause(attempt)
                continue
            raise
        return True
    return False


# ----- R-HOURS-3: response waits -----


def start_wait_actions(conversation: Conversation, now: datetime, due: datetime | None) -> list[Any]:
    """Update actions for intake's transaction: a patient message starts a wait when none is running (the wait
    starts at the OLDEST unanswered message). `due` None: no target (0) or none reachable, nothing to escalate."""
    if conversation.waiting_since is not None:
        return []
    actions: list[Any] = [ConversationItem.waiting_since.set(now), ConversationItem.overdue_since.remove()]
    if due is not None:
        actions += [
            ConversationItem.gsi3pk.set(keys.RESPONSE_WAITS),
            ConversationItem.gsi3sk.set(_due_key(due, conversation.practice_id, conversation.conversation_id)),
        ]
    return actions


def end_wait_actions() -> list[Any]:
    """A staff reply (not an internal note) ends the wait: off the due index and out of the overdue list."""
    return [
        ConversationItem.waiting_since.remove(),
        ConversationItem.overdue_since.remove(),
        ConversationItem.gsi3pk.remove(),
        ConversationItem.gsi3sk.remove(),
    ]


def overdue_key_item(practice_id: str, conversation_id: str) -> OverdueItem:
    return OverdueItem(*OverdueItem.key(practice_id, conversation_id))


def due_waits(now: datetime, page_size: int = 100) -> Iterator[Conversation]:
    """A56: conversations whose wait is overdue at `now`, oldest first. The index holds only waits not escalated
    yet; an entry read from it is eventually consistent, so the caller decides on a consistent read."""
    for item in ConversationItem.gsi3.query(
        keys.RESPONSE_WAITS, ConversationItem.gsi3sk <= f"{iso(now)}#~", page_size=page_size
    ):
        if isinstance(item, ConversationItem):
            yield to_conversation(item)


def get_conversation_consistent(practice_id: str, conversation_id: str) -> Conversation | None:
    try:
        return to_conversation(
            ConversationItem.get(*ConversationItem.key(practice_id, conversation_id), consistent_read=True)
        )
    except DoesNotExist:
        return None


def escalate(conversation: Conversation, now: datetime, message: Posted, notifications: list[TableItem]) -> None:
    """Exactly once per wait: conditioned on the version read (a staff reply, a new message, another run all change
    it) and on the wait being the one read and not escalated. Raises errors.Stale when another writer came first."""
    assert conversation.waiting_since is not None
    pk, sk = OverdueItem.key(conversation.practice_id, conversation.conversation_id)
    listed = OverdueItem(
        pk,
        sk,
        practice_id=conversation.practice_id,
        conversation_id=conversation.conversation_id,
        overdue_since=now,
        waiting_since=conversation.waiting_since,
    )
    in_tx, after = notifications[:_TX_ROOM], notifications[_TX_ROOM:]
    try:
        with transaction() as tx:
            tx.update(
                conversation_ref(conversation),
                actions=[
                    ConversationItem.overdue_since.set(now),
                    ConversationItem.gsi3pk.remove(),
                    ConversationItem.gsi3sk.remove(),
                ],
                condition=(ConversationItem.waiting_since == conversation.waiting_since)
                & ConversationItem.overdue_since.does_not_exist(),
            )
            tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
            tx.save(listed)
            for item in in_tx:
                tx.save(item)
    except TransactWriteError as error:
        if _lost(error):
            raise Stale("another writer decided first (a second run, a staff reply, a read)") from None
        raise
    if after:  # deterministic keys: a crash here loses notifications, never the escalation's uniqueness
        with TableItem.batch_write() as batch:
            for item in after:
                batch.save(item)


def overdue_page(
    practice_id: str, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[tuple[str, datetime]], dict[str, Any] | None]:
    """A57: (conversation_id, overdue_since) of the practice's overdue conversations, one Query per page."""
    result = OverdueItem.query(
        keys.overdue_pk(practice_id), OverdueItem.sk.startswith("CONV#"), limit=limit, last_evaluated_key=start_key
    )
    found = [(item.conversation_id, item.overdue_since) for item in result if isinstance(item, OverdueItem)]
    return found, result.last_evaluated_key


def conversations_by_ids(practice_id: str, conversation_ids: list[str]) -> dict[str, Conversation]:
    """One BatchGetItem (per 100) for a page of listed conversations."""
    wanted = [ConversationItem.key(practice_id, cid) for cid in dict.fromkeys(conversation_ids)]
    found: dict[str, Conversation] = {}
    for item in TableItem.batch_get(wanted):
        if isinstance(item, ConversationItem):
            found[item.conversation_id] = to_conversation(item)
    return found


# ----- R-HOURS-4: unread staff replies -----


def unread_after_reply(
    practice_id: str, conversation_id: str, patient_id: str, now: datetime, first_due: datetime
) -> tuple[UnreadReplyItem, list[Any]]:
    """For the staff reply's transaction: the item and update actions that keep the OLDEST unread reply (a second
    reply before the patient read does not restart the reminders)."""
    item = UnreadReplyItem(*UnreadReplyItem.key(practice_id, conversation_id))
    actions = [
        UnreadReplyItem.item_type.set(UnreadReplyItem),  # the discriminator
        UnreadReplyItem.practice_id.set(practice_id),
        UnreadReplyItem.conversation_id.set(conversation_id),
        UnreadReplyItem.patient_id.set(patient_id),
        UnreadReplyItem.reply_at.set(UnreadReplyItem.reply_at | now),
        UnreadReplyItem.reminders_sent.set(UnreadReplyItem.reminders_sent | 0),
        UnreadReplyItem.due_at.set(UnreadReplyItem.due_at | first_due),
        UnreadReplyItem.gsi3pk.set(UnreadReplyItem.gsi3pk | keys.UNREAD_REPLIES),
        UnreadReplyItem.gsi3sk.set(UnreadReplyItem.gsi3sk | _due_key(first_due, practice_id, conversation_id)),
    ]
    return item, actions


def unread_key_item(practice_id: str, conversation_id: str) -> UnreadReplyItem:
    return UnreadReplyItem(*UnreadReplyItem.key(practice_id, conversation_id))


def clear_unread(practice_id: str, conversation_id: str, read_at: datetime | None = None) -> None:
    """Reading the conversation stops the reminders (one DeleteItem; nothing to delete is fine). With `read_at`,
    only a reply sent before the read goes: a reply that arrived since stays unread."""
    condition = None if read_at is None else UnreadReplyItem.reply_at <= read_at
    try:
        unread_key_item(practice_id, conversation_id).delete(condition=condition)
    except DeleteError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise


def due_unread(now: datetime, page_size: int = 100) -> Iterator[UnreadReply]:
    """A58: unread replies whose next reminder (or the final staff message) is due, oldest first."""
    for item in UnreadReplyItem.gsi3.query(
        keys.UNREAD_REPLIES, UnreadReplyItem.gsi3sk <= f"{iso(now)}#~", page_size=page_size
    ):
        if isinstance(item, UnreadReplyItem):
            yield _to_unread(item)


def _to_unread(item: UnreadReplyItem) -> UnreadReply:
    return UnreadReply(
        practice_id=item.practice_id,
        conversation_id=item.conversation_id,
        patient_id=item.patient_id,
        reply_at=item.reply_at,
        reminders_sent=int(item.reminders_sent),
        due_at=item.due_at,
    )


def claim_reminder(reply: UnreadReply, next_due: datetime) -> None:
    """Exactly once per reminder: the count moves from the value read to the next, and the next due time with it.
    Raises errors.Stale when another run claimed it first or the patient read (the item is gone)."""
    item = unread_key_item(reply.practice_id, reply.conversation_id)
    try:
        item.update(
            actions=[
                UnreadReplyItem.reminders_sent.set(reply.reminders_sent + 1),
                UnreadReplyItem.due_at.set(next_due),
                UnreadReplyItem.gsi3sk.set(_due_key(next_due, reply.practice_id, reply.conversation_id)),
            ],
            condition=UnreadReplyItem.pk.exists() & (UnreadReplyItem.reminders_sent == reply.reminders_sent),
        )
    except UpdateError as error:
        if _lost(error):
            raise Stale("another writer decided first (a second run, a staff reply, a read)") from None
        raise


def finish_unread(reply: UnreadReply, message: Posted) -> None:
    """After the last reminder: the staff message and the end of the reminders commit together, once."""
    try:
        with transaction() as tx:
            tx.delete(
                unread_key_item(reply.practice_id, reply.conversation_id),
                condition=UnreadReplyItem.pk.exists() & (UnreadReplyItem.reminders_sent == reply.reminders_sent),
            )
            tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
    except TransactWriteError as error:
        if _lost(error):
            raise Stale("another writer decided first (a second run, a staff reply, a read)") from None
        raise


def keep_for(period_end: datetime | None, now: datetime) -> datetime:
    return max(period_end or now, now) + timedelta(days=7)
