"""R-SEC-1: tokens are verified for signature, expiry (on our clock) and claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from frontdesk.auth import InvalidToken, Principal, issue_token, verify_token

SECRET = "unit-secret-0123456789abcdef0123456789"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STAFF = Principal(sub="s1", role="staff", practice_id="p1", staff_id="s1")


def test_r_sec_1_a_valid_token_gives_back_its_principal() -> None:
    token = issue_token(STAFF, SECRET, NOW, 3600)
    assert verify_token(token, SECRET, NOW + timedelta(minutes=59)) == STAFF


def test_r_sec_1_an_expired_token_is_refused_by_our_clock() -> None:
    token = issue_token(STAFF, SECRET, NOW, 3600)
    with pytest.raises(InvalidToken):
        verify_token(token, SECRET, NOW + timedelta(hours=1))


def test_r_sec_1_a_token_signed_with_another_key_is_refused() -> None:
    token = issue_token(STAFF, "another-secret-0123456789abcdef012345", NOW, 3600)
    with pytest.raises(InvalidToken):
        verify_token(token, SECRET, NOW)


def test_r_sec_1_alg_none_and_garbage_are_refused() -> None:
    unsigned = jwt.encode({**STAFF.claims(), "exp": int(NOW.timestamp()) + 60}, key="", algorithm="none")
    for token in (unsigned, "not-a-jwt", ""):
        with pytest.raises(InvalidToken):
            verify_token(token, SECRET, NOW)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x", "role": "root", "practice_id": "p1"},
        {"sub": "x", "role": "staff", "practice_id": "p1"},  # staff without staff_id
        {"sub": "x", "role": "patient", "practice_id": "p1"},  # patient without patient_id
        {"sub": "x", "role": "admin", "staff_id": "s1"},  # no practice
        {"role": "support"},
    ],
)
def test_r_sec_1_tokens_with_incomplete_claims_are_refused(claims: dict[str, str]) -> None:
    token = jwt.encode({**claims, "exp": int(NOW.timestamp()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verify_token(token, SECRET, NOW)


def test_r_sec_1_support_needs_no_practice() -> None:
    support = Principal(sub="sup", role="support", practice_id=None)
    assert verify_token(issue_token(support, SECRET, NOW, 60), SECRET, NOW).role == "support"
