"""What staff see of routing's outcome: a conversation listed in an inbox, and a staff member's notification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Listing:
    conversation_id: str
    patient_id: str
    status: str
    holder_type: str
    holder_id: str | None
    reason: str | None
    location: str | None
    held: bool
    last_message_at: datetime


@dataclass(frozen=True)
class Notification:
    notification_id: str
    type: str
    conversation_id: str
    created_at: datetime
