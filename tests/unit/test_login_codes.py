"""R-LOGIN-1 in the pure domain: six-digit codes, hashed, single use, 10 minutes, 5 wrong tries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain.login import (
    LOGIN_CODE_TTL,
    MAX_CODE_ATTEMPTS,
    CodeState,
    check_login_code,
    code_matches,
    hash_code,
    new_code,
    new_salt,
    next_send,
    pick_login_patient,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _state(code: str, **overrides: object) -> CodeState:
    salt = new_salt()
    fields: dict[str, object] = {
        "code_hash": hash_code(code, salt),
        "salt": salt,
        "expires_at": NOW + LOGIN_CODE_TTL,
        "attempts": 0,
        "used": False,
        "patient_id": "p1",
    }
    fields.update(overrides)
    return CodeState(**fields)  # type: ignore[arg-type]


def test_r_login_1_codes_are_six_digits_and_stored_only_hashed() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150  # random, not a counter
    code, salt = new_code(), new_salt()
    digest = hash_code(code, salt)
    assert code not in digest and code_matches(code, salt, digest)
    assert hash_code(code, new_salt()) != digest  # per-item salt


def test_r_login_1_right_code_within_ten_minutes_is_ok() -> None:
    assert check_login_code(_state("123456"), "123456", NOW + timedelta(minutes=9, seconds=59)) == "ok"


def test_r_login_1_code_is_gone_at_ten_minutes_and_after_use() -> None:
    assert check_login_code(_state("123456"), "123456", NOW + LOGIN_CODE_TTL) == "gone"
    assert check_login_code(_state("123456", used=True), "123456", NOW) == "gone"
    assert check_login_code(None, "123456", NOW) == "gone"


def test_r_login_1_after_five_wrong_tries_even_the_right_code_is_refused() -> None:
    assert check_login_code(_state("123456", attempts=MAX_CODE_ATTEMPTS - 1), "123456", NOW) == "ok"
    assert check_login_code(_state("123456", attempts=MAX_CODE_ATTEMPTS), "123456", NOW) == "too_many"


def test_r_login_1_a_code_for_an_unknown_phone_never_matches() -> None:
    assert check_login_code(_state("123456", patient_id=None), "123456", NOW) == "invalid"


@given(st.text(max_size=8))
def test_r_login_1_only_the_sent_code_matches(guess: str) -> None:
    state = _state("493817")
    verdict = check_login_code(state, guess, NOW)
    assert verdict == ("ok" if guess == "493817" else "invalid")


def test_r_login_1_shared_phone_logs_into_the_most_recently_active_profile() -> None:
    older, newer = NOW - timedelta(days=3), NOW - timedelta(hours=1)
    candidates = [("a", "cell", older), ("b", "cell", newer), ("c", "landline", NOW), ("d", "cell", None)]
    assert pick_login_patient(candidates) == "b"
    # deterministic whatever the order the index returns
    assert pick_login_patient(list(reversed(candidates))) == "b"
    assert pick_login_patient([("x", "cell", None), ("y", "cell", None)]) == "y"
    assert pick_login_patient([("c", "landline", NOW)]) is None


def test_r_login_1_asking_for_new_codes_is_limited_to_five_an_hour() -> None:
    window, sends = NOW, 0
    for _ in range(5):
        step = next_send(window if sends else None, sends, NOW + timedelta(minutes=10))
        assert step is not None
        window, sends = step
    assert next_send(window, sends, NOW + timedelta(minutes=59)) is None
    assert next_send(window, sends, window + timedelta(hours=1)) == (window + timedelta(hours=1), 1)


def test_r_login_1_known_and_unknown_phones_answer_after_the_same_floor() -> None:
    from frontdesk.services.login import RESPONSE_FLOOR_SECONDS, pad_seconds

    assert pad_seconds(100.0, 100.0) == RESPONSE_FLOOR_SECONDS
    assert abs(pad_seconds(100.0, 100.1) - (RESPONSE_FLOOR_SECONDS - 0.1)) < 1e-9
    assert pad_seconds(100.0, 100.0 + RESPONSE_FLOOR_SECONDS + 1) == 0.0
