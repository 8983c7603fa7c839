"""Appending messages to a conversation and announcing them (MessageReceived) for routing.

Intake (patient messages, SMS, voicemail) and the platform's own system messages both land here, so a system
message reaches the team's inbox exactly like a patient message does (SPEC: system message).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from frontdesk.adapters.clock import Clock, get_clock, iso
from frontdesk.adapters.events import EventPublisher, get_publisher
from frontdesk.domain.messages import NewMessage
from frontdesk.store import message_path
from frontdesk.store.conversations import message_sort_key

__all__ = ["NewMessage", "announce", "message_received_detail", "post_system_message"]

INTAKE_SOURCE = "frontdesk.intake"
MESSAGE_RECEIVED = "MessageReceived"

SYSTEM_KINDS = frozenset(
    {
        "phone_change_requested",
        "phone_change_expired",
        "phone_change_declined",
        "phone_change_confirmed",
        "dob_reported_different",
        "dob_verification_failed",
        "profiles_merged",
        "staff_deactivated",
        "after_hours_reply",  # R-HOURS-2
        "response_overdue",  # R-HOURS-3
        "patient_not_reading",  # R-HOURS-4
    }
)


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


def post_system_message(
    practice_id: str,
    patient_id: str,
    conversation_id: str,
    kind: str,
    body: str,
    *,
    clock: Clock | None = None,
    publisher: EventPublisher | None = None,
) -> NewMessage:
    """Writes a system message and announces it so routing puts it in the team's inbox."""
    if kind not in SYSTEM_KINDS:
        raise ValueError(f"unknown system message kind {kind}")
    at = (clock or get_clock()).now()
    message = NewMessage(practice_id, conversation_id, patient_id, "system", "system", body, kind=kind)
    message_path.post_system(message, at)
    announce(message, at, publisher)
    return message
