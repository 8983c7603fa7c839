"""Announcing an appended message (MessageReceived) for routing.

Intake (patient messages, SMS, voicemail) and the platform's own system messages (written by the store with the
change they report) are announced the same way, so a system message reaches the team's inbox exactly like a patient
message does (SPEC: system message).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from frontdesk.adapters.clock import iso
from frontdesk.adapters.events import EventPublisher, get_publisher
from frontdesk.domain.messages import NewMessage
from frontdesk.store.conversations import message_sort_key

__all__ = ["NewMessage", "announce", "message_received_detail"]

INTAKE_SOURCE = "frontdesk.intake"
MESSAGE_RECEIVED = "MessageReceived"


def message_received_detail(message: NewMessage, at: datetime) -> dict[str, Any]:
    """The MessageReceived schema (docs/events.md): ids and routing inputs only, never the body (PHI)."""
    return {
        "practice_id": message.practice_id,
        "conversation_id": message.conversation_id,
        "patient_id": message.patient_id,
        "message_id": message.message_id,
        "message_sk": message_sort_key(at, message.message_id),
        "sender": message.sender,
        "channel": message.channel,
        "reason": message.reason,
        "kind": message.kind,
        "extension": message.extra.get("extension"),
        "at": iso(at),
    }


def announce(message: NewMessage, at: datetime, publisher: EventPublisher | None = None) -> None:
    (publisher or get_publisher()).publish(INTAKE_SOURCE, MESSAGE_RECEIVED, message_received_detail(message, at))
