"""An entry of a patient's audit trail (R-SEC-2): who did what, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    at: datetime
