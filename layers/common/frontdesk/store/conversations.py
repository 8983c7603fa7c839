"""Conversations (one per patient) and their messages, in the conversation's own partition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist

from frontdesk.adapters.clock import iso
from frontdesk.domain.conversations import Conversation, Message
from frontdesk.domain.messages import NewMessage
from frontdesk.store import keys
from frontdesk.store.base import TableItem


class ConversationItem(TableItem, discriminator="Conversation"):
    practice_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    status = UnicodeAttribute(default="closed")  # closed | open
    holder_type = UnicodeAttribute(null=True)  # unassigned | inbox | staff (None while closed)
    holder_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    last_message_at = UTCDateTimeAttribute(null=True)
    last_patient_message_at = UTCDateTimeAttribute(null=True)
    last_patient_reason = UnicodeAttribute(null=True)
    last_practice_message_at = UTCDateTimeAttribute(null=True)
    patient_read_at = UTCDateTimeAttribute(null=True)
    # The inbox listings ("unassigned", "inbox#i", "staff#s") that currently list this conversation, so moving or
    # closing it removes exactly those (no query over inboxes).
    listed_in = ListAttribute(of=UnicodeAttribute, null=True)
    # R-HOURS-3: the oldest unanswered patient message's time, and when that wait was escalated. While a wait is
    # not escalated yet the item sits in the sparse gsi3 partition WAIT#DUE, sorted by when it becomes overdue.
    waiting_since = UTCDateTimeAttribute(null=True)
    overdue_since = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(practice_id: str, conversation_id: str) -> tuple[str, str]:
        return keys.conversation_pk(practice_id, conversation_id), "META"


class MessageItem(TableItem, discriminator="Message"):
    practice_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    sender = UnicodeAttribute()  # patient | staff | system
    channel = UnicodeAttribute()  # messenger | app | sms | voicemail | system
    body = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    ambiguous_sender = BooleanAttribute(null=True)
    internal = BooleanAttribute(null=True)
    author_id = UnicodeAttribute(null=True)
    original_patient_id = UnicodeAttribute(null=True)
    extra = MapAttribute[str, object](null=True)  # channel details (recording_url, extension, target inbox)
    routing = JSONAttribute(null=True)  # why the message went where it went (set once, by routing)
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def sort_key(created_at_iso: str, message_id: str) -> str:
        return f"MSG#{created_at_iso}#{message_id}"


def to_conversation(item: ConversationItem) -> Conversation:
    return Conversation(
        practice_id=item.practice_id,
        conversation_id=item.conversation_id,
        patient_id=item.patient_id,
        status=item.status or "closed",
        holder_type=item.holder_type,
        holder_id=item.holder_id,
        reason=item.reason,
        location=item.location,
        last_message_at=item.last_message_at,
        last_patient_message_at=item.last_patient_message_at,
        last_patient_reason=item.last_patient_reason,
        last_practice_message_at=item.last_practice_message_at,
        patient_read_at=item.patient_read_at,
        listed_in=tuple(str(v) for v in item.listed_in or ()),
        created_at=item.created_at,
        version=int(item.version or 0),
        waiting_since=item.waiting_since,
        overdue_since=item.overdue_since,
    )


def to_message(item: MessageItem) -> Message:
    extra = item.extra.as_dict() if item.extra is not None else {}
    return Message(
        message_id=item.message_id,
        sender=item.sender,
        channel=item.channel,
        body=item.body,
        created_at=item.created_at,
        reason=item.reason,
        kind=item.kind,
        ambiguous_sender=bool(item.ambiguous_sender),
        internal=bool(item.internal),
        author_id=item.author_id,
        extra=dict(extra),
        routing=dict(item.routing) if item.routing else None,
    )


def get_conversation(practice_id: str, conversation_id: str, *, consistent: bool = False) -> Conversation | None:
    try:
        item = ConversationItem.get(*ConversationItem.key(practice_id, conversation_id), consistent_read=consistent)
    except DoesNotExist:
        return None
    return to_conversation(item)


def conversation_ref(conversation: Conversation) -> ConversationItem:
    """An item carrying only the keys and the version read: updates through it are optimistic (R-REL-2)."""
    pk, sk = ConversationItem.key(conversation.practice_id, conversation.conversation_id)
    item = ConversationItem(pk, sk)
    item.version = conversation.version
    return item


def list_messages(
    practice_id: str, conversation_id: str, limit: int, start_key: dict[str, Any] | None, *, newest_first: bool = False
) -> tuple[list[Message], dict[str, Any] | None]:
    """A23: the conversation's messages in time order, one Query per page."""
    result = MessageItem.query(
        keys.conversation_pk(practice_id, conversation_id),
        MessageItem.sk.startswith("MSG#"),
        scan_index_forward=not newest_first,
        limit=limit,
        last_evaluated_key=start_key,
    )
    messages = [to_message(item) for item in result if isinstance(item, MessageItem)]
    return messages, result.last_evaluated_key


def message_sort_key(at: datetime, message_id: str) -> str:
    """The message's sort key in its conversation's partition (ordered by time; MessageReceived carries it)."""
    return MessageItem.sort_key(iso(at), message_id)


def message_item(message: NewMessage, at: datetime) -> MessageItem:
    item = MessageItem(
        keys.conversation_pk(message.practice_id, message.conversation_id),
        message_sort_key(at, message.message_id),
        practice_id=message.practice_id,
        conversation_id=message.conversation_id,
        message_id=message.message_id,
        sender=message.sender,
        channel=message.channel,
        body=message.body,
        reason=message.reason,
        kind=message.kind,
        ambiguous_sender=message.ambiguous_sender or None,
        original_patient_id=message.patient_id,
        created_at=at,
    )
    if message.extra:
        item.extra = message.extra
    if message.author_id is not None:
        item.author_id = message.author_id
    if message.internal:
        item.internal = True
    return item
