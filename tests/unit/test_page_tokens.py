"""R-API-2: the page-token codec (AES-GCM, bound to practice + list + caller, 24-hour expiry)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.adapters.clock import LOCAL_CLOCK
from frontdesk.errors import ValidationFailed
from frontdesk.store import page_tokens
from frontdesk.store.page_tokens import TOKEN_TTL_SECONDS, PageScope, decode_token, encode_token

KEY = {"pk": {"S": "practice#p1"}, "sk": {"S": "message#2026-11-29T10:00:00.000Z#m1"}, "gsi2pk": {"S": "x"}}
SCOPE = PageScope("p1", "inbox#mine", "s1")


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    LOCAL_CLOCK.reset()
    yield
    LOCAL_CLOCK.reset()


def _refused(token: str, scope: PageScope = SCOPE) -> str:
    with pytest.raises(ValidationFailed) as refused:
        decode_token(token, scope)
    assert refused.value.field == "next_token"
    return refused.value.message


def test_r_api_2_a_token_round_trips_in_its_scope_and_hides_the_key() -> None:
    token = encode_token(KEY, SCOPE)
    assert token is not None and decode_token(token, SCOPE) == KEY
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"practice" not in raw and b"p1" not in raw and b'"pk"' not in raw
    assert encode_token(KEY, SCOPE) != token  # a fresh nonce each time: equal keys do not give equal tokens
    assert encode_token(None, SCOPE) is None and decode_token(None, SCOPE) is None and decode_token("", SCOPE) is None


@pytest.mark.parametrize(
    "other",
    [PageScope("p2", "inbox#mine", "s1"), PageScope("p1", "inbox#unassigned", "s1"), PageScope("p1", "inbox#mine", "")],
)
def test_r_api_2_a_token_is_refused_in_another_practice_list_or_callers_scope(other: PageScope) -> None:
    _refused(str(encode_token(KEY, SCOPE)), other)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_r_api_2_any_changed_byte_is_refused(data: st.DataObject) -> None:
    token = str(encode_token(KEY, SCOPE))
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    _refused(base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))


def test_r_api_2_a_token_expires_after_24_hours() -> None:
    token = str(encode_token(KEY, SCOPE))
    LOCAL_CLOCK.advance(TOKEN_TTL_SECONDS - 1)
    assert decode_token(token, SCOPE) == KEY
    LOCAL_CLOCK.advance(1)
    assert "expired" in _refused(token)


def test_r_api_2_a_token_made_under_another_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    token = str(encode_token(KEY, SCOPE))
    monkeypatch.setattr(page_tokens, "_secrets_for_reading", lambda: ["another-secret"])
    _refused(token)


def test_r_api_2_a_token_made_before_a_rotation_of_the_key_still_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a token issued under the key of the moment
    monkeypatch.setattr(page_tokens, "_secret", lambda: "key-before")
    token = str(encode_token(KEY, SCOPE))
    # When the key is rotated (Secrets Manager keeps the previous version as AWSPREVIOUS)
    monkeypatch.setattr(page_tokens, "_secrets_for_reading", lambda: ["key-after", "key-before"])
    # Then the token in flight still reads, and one made under neither key does not
    assert decode_token(token, SCOPE) == KEY
    monkeypatch.setattr(page_tokens, "_secrets_for_reading", lambda: ["key-after", "key-other"])
    _refused(token)


def test_r_api_2_no_token_is_issued_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page_tokens, "_secret", lambda: "")
    with pytest.raises(RuntimeError):
        encode_token(KEY, SCOPE)
