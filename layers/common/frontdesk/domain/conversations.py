"""A conversation (one per patient and practice) and the messages in it, as read: domain values, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Conversation:
    practice_id: str
    conversation_id: str
    patient_id: str
    status: str
    holder_type: str | None
    holder_id: str | None
    reason: str | None
    location: str | None
    last_message_at: datetime | None
    last_patient_message_at: datetime | None
    last_patient_reason: str | None
    last_practice_message_at: datetime | None
    patient_read_at: datetime | None
    listed_in: tuple[str, ...]
    created_at: datetime
    version: int
    waiting_since: datetime | None = None
    overdue_since: datetime | None = None


@dataclass(frozen=True)
class Message:
    message_id: str
    sender: str
    channel: str
    body: str
    created_at: datetime
    reason: str | None = None
    kind: str | None = None
    ambiguous_sender: bool = False
    internal: bool = False
    author_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    routing: dict[str, Any] | None = None
