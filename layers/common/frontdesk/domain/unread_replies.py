"""R-HOURS-4: the oldest staff reply a patient has not read, and how far its reminders have gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UnreadReply:
    practice_id: str
    conversation_id: str
    patient_id: str
    reply_at: datetime
    reminders_sent: int
    due_at: datetime
