"""Login codes (R-LOGIN-1): one live code per phone, sent within a limit, used once, burnt after wrong tries."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from frontdesk.domain.login import LOGIN_CODE_TTL, MAX_CODE_ATTEMPTS, SEND_WINDOW, CodeState, next_send
from frontdesk.errors import Stale
from frontdesk.store import keys
from frontdesk.store.base import TableItem, stale_on_lost_condition


class LoginCodeItem(TableItem, discriminator="LoginCode"):
    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute(null=True)  # None: nobody has that phone (the code was never sent)
    code_hash = UnicodeAttribute()
    salt = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    used = BooleanAttribute(default=False)
    expires_at = UTCDateTimeAttribute()
    window_start = UTCDateTimeAttribute(null=True)  # codes sent to this phone since window_start ...
    sends = NumberAttribute(default=0)  # ... (domain.login.next_send)

    @staticmethod
    def key(practice_id: str, e164: str) -> tuple[str, str]:
        return keys.login_pk(practice_id, e164), "CODE"


def put_login_code(
    practice_id: str, e164: str, patient_id: str | None, code_hash: str, salt: str, now: datetime
) -> bool:
    """A new code replaces the previous one for that phone (one live code per phone), within the send limit.
    False: no new code (limit reached, or a concurrent request issued one first)."""
    pk, sk = LoginCodeItem.key(practice_id, e164)
    try:
        previous: LoginCodeItem | None = LoginCodeItem.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        previous = None
    window = next_send(previous.window_start if previous else None, int(previous.sends or 0) if previous else 0, now)
    if window is None:
        return False
    expires = now + LOGIN_CODE_TTL
    item = LoginCodeItem(
        pk,
        sk,
        practice_id=practice_id,
        patient_id=patient_id,
        code_hash=code_hash,
        salt=salt,
        attempts=0,
        used=False,
        expires_at=expires,
        window_start=window[0],
        sends=window[1],
    )
    # TTL deletes eventually (hours later, never locally); every read checks expires_at itself.
    item.expires_ttl = max(expires, window[0] + SEND_WINDOW) + timedelta(hours=1)
    # the code we read is still the one we replace: two racing requests issue one code, not two
    same = LoginCodeItem.pk.does_not_exist() if previous is None else LoginCodeItem.code_hash == previous.code_hash
    try:
        with stale_on_lost_condition():
            item.save(condition=same)
    except Stale:
        return False
    return True


def get_login_code(practice_id: str, e164: str) -> CodeState | None:
    try:
        item = LoginCodeItem.get(*LoginCodeItem.key(practice_id, e164), consistent_read=True)
    except DoesNotExist:
        return None
    return CodeState(
        code_hash=item.code_hash,
        salt=item.salt,
        expires_at=item.expires_at,
        attempts=int(item.attempts or 0),
        used=bool(item.used),
        patient_id=item.patient_id,
    )


def count_login_failure(practice_id: str, e164: str, code_hash: str) -> int:
    """One more wrong try on that very code; the answer is the attempts so far (MAX+ once the code is burnt)."""
    item = LoginCodeItem(*LoginCodeItem.key(practice_id, e164))
    try:
        with stale_on_lost_condition():
            item.update(
                actions=[LoginCodeItem.attempts.add(1)],
                condition=(LoginCodeItem.code_hash == code_hash) & (LoginCodeItem.attempts < MAX_CODE_ATTEMPTS),
            )
    except Stale:
        return MAX_CODE_ATTEMPTS + 1  # burnt (or replaced by a newer code meanwhile)
    return int(item.attempts or 0)


def use_login_code(practice_id: str, e164: str, code_hash: str) -> bool:
    """Single use: exactly one verify of a code succeeds, however many race (R-LOGIN-1)."""
    item = LoginCodeItem(*LoginCodeItem.key(practice_id, e164))
    try:
        with stale_on_lost_condition():
            item.update(
                actions=[LoginCodeItem.used.set(True)],
                condition=(LoginCodeItem.code_hash == code_hash)
                & (LoginCodeItem.used == False)  # noqa: E712 - a PynamoDB condition, not a comparison
                & (LoginCodeItem.attempts < MAX_CODE_ATTEMPTS),
            )
    except Stale:
        return False
    return True
