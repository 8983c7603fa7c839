"""Conversations (one per patient) and their messages, in the conversation's own partition."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

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
    extra = MapAttribute[str, object](null=True)  # channel details (recording_url, extension) and routing audit
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def sort_key(created_at_iso: str, message_id: str) -> str:
        return f"MSG#{created_at_iso}#{message_id}"
