"""A message about to be appended to a conversation (patient, staff or system): a domain value, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frontdesk.ids import new_id


@dataclass(frozen=True)
class NewMessage:
    practice_id: str
    conversation_id: str
    patient_id: str
    sender: str  # patient | staff | system
    channel: str  # messenger | app | sms | voicemail | system
    body: str
    reason: str | None = None
    kind: str | None = None
    ambiguous_sender: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    message_id: str = field(default_factory=new_id)
    author_id: str | None = None  # staff replies and notes
    internal: bool = False  # a staff note, never shown to the patient


@dataclass(frozen=True)
class Posted:
    """A message and the moment it is appended (its place in the conversation): what the store writes."""

    message: NewMessage
    at: datetime
