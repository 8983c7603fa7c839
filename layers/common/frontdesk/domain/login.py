"""One-time SMS codes: patient login (R-LOGIN-1) and phone-change confirmation (R-PHONE-2, R-PHONE-4)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

LOGIN_CODE_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
CODE_LENGTH = 6
_CODE = re.compile(r"^\d{6}$")


def new_code() -> str:
    """Six digits from the OS's CSPRNG."""
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_code(code: str, salt: str) -> str:
    """Codes are stored only as HMAC-SHA256 under a per-item salt: a table read does not reveal a live code."""
    return hmac.new(salt.encode(), code.encode(), hashlib.sha256).hexdigest()


def code_matches(code: str, salt: str, code_hash: str) -> bool:
    return well_formed_code(code) and hmac.compare_digest(hash_code(code, salt), code_hash)


def well_formed_code(code: str) -> bool:
    return bool(_CODE.match(code or ""))


@dataclass(frozen=True)
class CodeState:
    """A stored login code as the rules see it."""

    code_hash: str
    salt: str
    expires_at: datetime
    attempts: int
    used: bool
    patient_id: str | None  # None: the phone matched nobody (the code was never sent)


def check_login_code(state: CodeState | None, code: str, now: datetime) -> str:
    """'ok', 'invalid' (counts an attempt), 'too_many' or 'gone' (none, used or expired: nothing to count).

    R-LOGIN-1: single use, 10 minutes, 5 wrong tries. A code for a phone nobody has never matches.
    """
    if state is None or state.used or now >= state.expires_at:
        return "gone"
    if state.attempts >= MAX_CODE_ATTEMPTS:
        return "too_many"
    if state.patient_id is None or not code_matches(code, state.salt, state.code_hash):
        return "invalid"
    return "ok"


def pick_login_patient(candidates: list[tuple[str, str, datetime | None]]) -> str | None:
    """Several profiles may share a cell phone (families, R-CREATE-4): log in to the most recently active one.

    candidates are (patient_id, line_type, last_active_at); only cell lines can receive the code. Ties (and
    never-active profiles) fall back to the highest patient id, so the choice is deterministic.
    """
    cells = [(last or datetime.min.replace(tzinfo=None), pid) for pid, line, last in candidates if line == "cell"]
    if not cells:
        return None
    normalized = [(_naive(last), pid) for last, pid in cells]
    return max(normalized)[1]


def _naive(when: datetime) -> datetime:
    return when.replace(tzinfo=None)


SEND_WINDOW = timedelta(hours=1)
MAX_SENDS_PER_WINDOW = 5


def next_send(window_start: datetime | None, sends: int, now: datetime) -> tuple[datetime, int] | None:
    """Asking for a new code resets the 5 tries, so asking itself is limited: 5 codes per phone per hour
    (at most 25 guesses an hour at a one-in-a-million code). None: no new code now (the answer stays 202)."""
    if window_start is None or now - window_start >= SEND_WINDOW:
        return now, 1
    if sends >= MAX_SENDS_PER_WINDOW:
        return None
    return window_start, sends + 1
