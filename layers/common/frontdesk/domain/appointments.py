"""The practice's locations (its own, and the PM/EHR feed's) and the feed's appointments: domain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Location:
    location_id: str
    name: str


@dataclass(frozen=True)
class Appointment:
    appointment_id: str
    patient_id: str
    location_id: str
    starts_at: datetime
    status: str
