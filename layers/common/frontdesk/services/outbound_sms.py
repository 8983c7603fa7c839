"""R-SMS-3 / R-SMS-4: the ONE path every SMS the platform sends takes.

It reads the opt-out register first (one GetItem per send, docs/data-model.md), keeps automated texts the patient
did not just ask for inside 08:00-21:00 of the practice's time zone, and turns the provider's own opt-out refusal
into a register entry instead of an error. No other module may call the SMS adapter
(tests/unit/test_one_sms_send_path.py reads the source and fails on a bypass).

    result = send_sms(practice_id, to, body, purpose=Purpose.STAFF_REPLY)
    result.status  # "sent" | "opted_out" | "deferred"
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.sms import RecipientOptedOut, SmsSender, get_sms_sender
from frontdesk.domain import quiet_hours
from frontdesk.domain.practices import Practice
from frontdesk.errors import Conflict
from frontdesk.store import sms_optout
from frontdesk.store.office_hours import practice_timezone
from frontdesk.store.practices import get_practice

SMS_ACTOR = "system:sms"


class OptOutRegister(Protocol):
    """The opt-out register as sending needs it (store/sms_optout.py; a service's in-memory fake in unit tests)."""

    def is_opted_out(self, practice_id: str, practice_number: str, phone: str) -> bool: ...

    def record(
        self, practice_id: str, practice_number: str, phone: str, opted_out: bool, at: datetime, source: str
    ) -> bool: ...


REGISTER: OptOutRegister = sms_optout


class Purpose(StrEnum):
    STAFF_REPLY = "staff_reply"
    LOGIN_CODE = "login_code"
    PHONE_CHANGE_CODE = "phone_change_code"
    PHONE_CHANGE_NOTICE = "phone_change_notice"  # R-PHONE-7: the old number is told it changed
    PHONE_CHANGE_REMINDER = "phone_change_reminder"
    DOB_CONFIRMED = "dob_confirmed"
    AFTER_HOURS_REPLY = "after_hours_reply"
    UNREAD_REMINDER = "unread_reminder"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    OPT_IN_CONFIRMATION = "opt_in_confirmation"
    HELP_REPLY = "help_reply"


# R-SMS-4: texts the patient did not just ask for wait for the practice's daytime window.
AUTOMATED = frozenset({Purpose.PHONE_CHANGE_REMINDER, Purpose.UNREAD_REMINDER})
# The only texts an opted-out number still gets: the one confirmation of its STOP, and the answer to HELP
# (carriers require HELP to be answered whatever the opt-out state).
REGISTER_EXEMPT = frozenset({Purpose.OPT_OUT_CONFIRMATION, Purpose.HELP_REPLY})


@dataclass(frozen=True)
class SendResult:
    status: str  # sent | opted_out | deferred
    opted_out_by: str | None = None  # register | provider (when status is opted_out)
    not_before: datetime | None = None  # the next window start (when status is deferred)

    @property
    def sent(self) -> bool:
        return self.status == "sent"


def may_send_automated(practice_id: str, now: datetime, timezone: str | None = None) -> datetime | None:
    """None when an automated text may go now; otherwise when the next window opens (UTC). Jobs call this BEFORE
    they claim a reminder, so a deferred reminder stays due and the next run inside the window sends it once.
    `timezone`: the practice's, when the caller already read it (a job reads it once per practice per run)."""
    timezone = timezone or practice_timezone(practice_id)  # R-HOURS-1: the office-hours settings (one GetItem)
    at = quiet_hours.send_at(now, timezone)
    return None if at == now else at


@dataclass(frozen=True)
class Permit:
    """What `check` allowed: the only way to `deliver`. Callers that must answer before they write (a login code,
    a staff reply) check first and deliver later, so the register is still read once per send."""

    practice_id: str
    to: str
    sender: str | None
    purpose: Purpose


def check(
    practice_id: str,
    to: str,
    *,
    purpose: Purpose,
    practice: Practice | None = None,
    clock: Clock | None = None,
    timezone: str | None = None,
    register: OptOutRegister = REGISTER,
) -> Permit | SendResult:
    """The quiet hours (automated texts only), then the register (one GetItem): a Permit, or why not."""
    practice = practice or get_practice(practice_id)
    sender = practice.textable_number if practice else None
    if purpose in AUTOMATED:
        not_before = may_send_automated(practice_id, (clock or get_clock()).now(), timezone)
        if not_before is not None:
            return SendResult("deferred", not_before=not_before)
    if sender and purpose not in REGISTER_EXEMPT and register.is_opted_out(practice_id, sender, to):
        return SendResult("opted_out", opted_out_by="register")
    return Permit(practice_id, to, sender, purpose)


def deliver(
    permit: Permit,
    body: str,
    *,
    code: str | None = None,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
    register: OptOutRegister = REGISTER,
) -> SendResult:
    """Hands the text to the provider; its own opt-out refusal marks the register and is answered, not raised."""
    try:
        (sms or get_sms_sender()).send(permit.to, body, sender=permit.sender, code=code)
    except RecipientOptedOut:
        if permit.sender:
            now = (clock or get_clock()).now()
            register.record(permit.practice_id, permit.sender, permit.to, True, now, "provider")
        return SendResult("opted_out", opted_out_by="provider")
    return SendResult("sent")


def send_sms(
    practice_id: str,
    to: str,
    body: str,
    *,
    purpose: Purpose,
    code: str | None = None,
    practice: Practice | None = None,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
    timezone: str | None = None,
    register: OptOutRegister = REGISTER,
) -> SendResult:
    """Sends `body` to `to` (E.164) from the practice's textable number, unless the register or the quiet hours
    say no. Never raises for an opted-out number: the caller maps `opted_out` to its answer (409, a recorded skip)."""
    permit = check(
        practice_id, to, purpose=purpose, practice=practice, clock=clock, timezone=timezone, register=register
    )
    if isinstance(permit, SendResult):
        return permit
    return deliver(permit, body, code=code, clock=clock, sms=sms, register=register)


def sms_opted_out(practice: Practice | None) -> Conflict:
    """R-SMS-3: 409 for a code that would go to an opted-out number; tells the patient how to opt back in."""
    if practice is None:
        return Conflict("This number opted out of texts. Text START to the practice first.", code="sms_opted_out")
    return Conflict(
        f"This number opted out of texts from {practice.name}. Text START to {practice.textable_number} "
        "to receive codes again.",
        code="sms_opted_out",
    )


def opted_out(practice_id: str, phone: str | None, practice: Practice | None = None) -> bool:
    """For views (sms_opted_out on the patient): one GetItem."""
    if not phone:
        return False
    practice = practice or get_practice(practice_id)
    if practice is None:
        return False
    return sms_optout.is_opted_out(practice_id, practice.textable_number, phone)
