"""A practice, its staff members and its custom shared inboxes: domain values, no storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Practice:
    practice_id: str
    name: str
    country: str
    textable_number: str
    has_pm_integration: bool
    created_at: datetime


@dataclass(frozen=True)
class Staff:
    practice_id: str
    staff_id: str
    name: str
    email: str
    role: str
    created_at: datetime
    status: str = "active"


@dataclass(frozen=True)
class Inbox:
    practice_id: str
    inbox_id: str
    name: str
    created_at: datetime
