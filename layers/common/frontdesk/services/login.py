"""Patient login with a one-time SMS code (R-LOGIN-1)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from frontdesk import secrets
from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.sms import SmsSender
from frontdesk.auth import Principal, issue_token
from frontdesk.domain.dob import verification_required
from frontdesk.domain.login import (
    MAX_CODE_ATTEMPTS,
    check_login_code,
    hash_code,
    new_code,
    new_salt,
    pick_login_patient,
    well_formed_code,
)
from frontdesk.domain.phones import normalize_phone
from frontdesk.errors import TooManyAttempts, ValidationFailed
from frontdesk.services import outbound_sms
from frontdesk.services.outbound_sms import Purpose, sms_opted_out
from frontdesk.settings import get_settings
from frontdesk.store import login_codes, patient_updates
from frontdesk.store import patients as patient_store
from frontdesk.store.practices import get_practice

# Above the SMS provider's usual latency: known and unknown phones answer in the same time.
RESPONSE_FLOOR_SECONDS = 0.3


@dataclass(frozen=True)
class LoginResult:
    token: str
    patient_id: str
    dob_verification_required: bool


def _invalid_code() -> ValidationFailed:
    return ValidationFailed("The code is not valid.", field="code", code="invalid_code")


def request_code(
    practice_id: str,
    raw_phone: str,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Same answer whether or not the phone is known (no account enumeration): the same reads and the same
    write happen either way; only the SMS itself goes out just to a known cell phone, and the answer is held
    to a floor so the SMS call's latency does not tell the two apart."""
    started = time.monotonic()
    try:
        _request_code(practice_id, raw_phone, clock, sms)
    finally:
        sleep(pad_seconds(started, time.monotonic()))


def pad_seconds(started: float, now: float, floor: float = RESPONSE_FLOOR_SECONDS) -> float:
    """How long to wait so that every answer takes at least `floor` seconds (a duration, not a time of day)."""
    return max(0.0, floor - (now - started))


def _request_code(practice_id: str, raw_phone: str, clock: Clock | None, sms: SmsSender | None) -> None:
    practice = get_practice(practice_id)
    e164 = normalize_phone(raw_phone, practice.country if practice else "US", field="phone")
    if practice is None:
        return
    now = (clock or get_clock()).now()
    # R-SMS-3: the register is read for every number, known or not, so the 409 tells nothing about accounts.
    permit = outbound_sms.check(practice_id, e164, purpose=Purpose.LOGIN_CODE, practice=practice, clock=clock)
    if not isinstance(permit, outbound_sms.Permit):
        raise sms_opted_out(practice)
    # Several profiles may share a phone: the most recently active one (domain.login.pick_login_patient).
    patient_id = pick_login_patient(patient_store.patient_ids_by_phone(practice_id, e164))
    code, salt = new_code(), new_salt()
    issued = login_codes.put_login_code(practice_id, e164, patient_id, hash_code(code, salt), salt, now)
    if issued and patient_id is not None:
        body = f"{practice.name}: your login code is {code}. It expires in 10 minutes."
        if not outbound_sms.deliver(permit, body, code=code, clock=clock, sms=sms).sent:
            raise sms_opted_out(practice)  # the provider itself refused: the number is in the register now


def verify_code(practice_id: str, raw_phone: str, code: str, clock: Clock | None = None) -> LoginResult:
    """A correct, unused code younger than 10 minutes gives a patient session; the 6th try after 5 wrong ones
    is refused (429) even with the right code."""
    practice = get_practice(practice_id)
    e164 = normalize_phone(raw_phone, practice.country if practice else "US", field="phone")
    if not well_formed_code(code):
        raise ValidationFailed("The code is 6 digits.", field="code")
    now = (clock or get_clock()).now()
    state = login_codes.get_login_code(practice_id, e164) if practice else None
    verdict = check_login_code(state, code, now)
    if verdict == "too_many":
        raise TooManyAttempts("Too many wrong codes. Ask for a new code.")
    if verdict == "gone" or state is None:
        raise _invalid_code()
    if verdict == "invalid":
        if login_codes.count_login_failure(practice_id, e164, state.code_hash) > MAX_CODE_ATTEMPTS:
            raise TooManyAttempts("Too many wrong codes. Ask for a new code.")
        raise _invalid_code()
    if not login_codes.use_login_code(practice_id, e164, state.code_hash):
        raise _invalid_code()  # a concurrent verify used it first: single use
    patient = patient_store.get_patient(practice_id, state.patient_id or "", consistent=True)
    if patient is None or patient.cell_phone != e164:
        raise _invalid_code()  # merged away or the number changed since the code was sent
    patient_updates.touch_login(patient, now)
    settings = get_settings()
    principal = Principal(
        sub=patient.patient_id, role="patient", practice_id=practice_id, patient_id=patient.patient_id
    )
    token = issue_token(principal, secrets.get("jwt"), now, settings.token_ttl_seconds)
    return LoginResult(token, patient.patient_id, verification_required(patient, now))
