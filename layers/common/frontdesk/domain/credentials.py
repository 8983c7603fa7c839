"""A PM/EHR integration client credential (R-AUTH-4): a domain value (the secret only as salt and hash)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Credential:
    practice_id: str
    credential_id: str
    client_id: str
    name: str
    secret_salt: str
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None
