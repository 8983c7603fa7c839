"""The phone-change request state machine (R-PHONE-2..7), pure: the store applies its transitions conditionally.

pending --confirm(right code, before expiry)--> confirmed
pending --5th wrong code--------------------> cancelled
pending --decline (before expiry)-----------> declined
pending --expire (at or after expiry)-------> expired
pending --a newer request-------------------> superseded
Every other state is final: nothing leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from frontdesk.domain.login import MAX_CODE_ATTEMPTS, code_matches

CONFIRM_WITHIN = timedelta(hours=72)
REMIND_WHEN_LESS_THAN = timedelta(hours=24)
STATUSES = ("pending", "confirmed", "expired", "declined", "cancelled", "superseded")
FINAL = frozenset(STATUSES) - {"pending"}


@dataclass(frozen=True)
class PhoneRequest:
    request_id: str
    practice_id: str
    patient_id: str
    conversation_id: str
    old_phone: str | None
    new_phone: str
    status: str
    code_hash: str
    salt: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    reminded: bool = False
    created_by: str = ""


class Refused(Exception):
    """The request cannot take this step; `code` is the API error to answer (not_found, expired, invalid_code)."""

    def __init__(self, code: str, request: PhoneRequest | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.request = request  # the request after the refusal (a wrong code still counts an attempt)


def expires_at(created_at: datetime) -> datetime:
    """R-PHONE-3: 72 hours to confirm."""
    return created_at + CONFIRM_WITHIN


def is_due(request: PhoneRequest, now: datetime) -> bool:
    return now >= request.expires_at


def visible_status(request: PhoneRequest, now: datetime) -> str:
    """A pending request past its expiry is expired for every reader, even before the job has run."""
    return "expired" if request.status == "pending" and is_due(request, now) else request.status


def confirm(request: PhoneRequest, code: str, now: datetime) -> PhoneRequest:
    """R-PHONE-2/R-PHONE-4: the number changes only with the right code, before expiry; a wrong code counts an
    attempt and the 5th cancels the request."""
    if request.status != "pending":
        raise Refused("not_found")
    if is_due(request, now):
        raise Refused("expired")  # R-PHONE-4: 410, and nothing changes
    if not code_matches(code, request.salt, request.code_hash):
        attempts = request.attempts + 1
        status = "cancelled" if attempts >= MAX_CODE_ATTEMPTS else "pending"
        after = replace(request, attempts=attempts, status=status)
        raise Refused("too_many_attempts" if status == "cancelled" else "invalid_code", after)
    return replace(request, status="confirmed")


def decline(request: PhoneRequest, now: datetime) -> PhoneRequest:
    if request.status != "pending":
        raise Refused("not_found")
    if is_due(request, now):
        raise Refused("expired")
    return replace(request, status="declined")


def expire(request: PhoneRequest, now: datetime) -> PhoneRequest:
    """R-PHONE-3: only a pending request whose 72 hours are over expires."""
    if request.status != "pending" or not is_due(request, now):
        raise Refused("not_due")
    return replace(request, status="expired")


def supersede(request: PhoneRequest) -> PhoneRequest:
    """R-PHONE-5: at most one pending request per patient; a newer one supersedes."""
    if request.status != "pending":
        raise Refused("not_found")
    return replace(request, status="superseded")


def needs_reminder(request: PhoneRequest, now: datetime) -> bool:
    """R-PHONE-6: once, when less than 24 hours remain of a pending request."""
    return (
        request.status == "pending"
        and not request.reminded
        and not is_due(request, now)
        and request.expires_at - now < REMIND_WHEN_LESS_THAN
    )
