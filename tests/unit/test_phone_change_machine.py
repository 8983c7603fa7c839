"""R-PHONE-2..6 in the pure state machine, with hypothesis throwing random histories at it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain import phone_change as machine
from frontdesk.domain.login import hash_code, new_salt
from frontdesk.domain.phone_change import FINAL, PhoneRequest, Refused

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CODE = "246810"


def _request(**overrides: object) -> PhoneRequest:
    salt = new_salt()
    base = PhoneRequest(
        request_id="r",
        practice_id="pr",
        patient_id="pt",
        conversation_id="c",
        old_phone="+12125550100",
        new_phone="+12125550199",
        status="pending",
        code_hash=hash_code(CODE, salt),
        salt=salt,
        created_at=NOW,
        expires_at=machine.expires_at(NOW),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_r_phone_3_the_patient_has_72_hours() -> None:
    request = _request()
    assert request.expires_at - request.created_at == timedelta(hours=72)
    assert machine.confirm(request, CODE, NOW + timedelta(hours=71, minutes=59)).status == "confirmed"
    assert machine.expire(request, NOW + timedelta(hours=72)).status == "expired"
    with pytest.raises(Refused):
        machine.expire(request, NOW + timedelta(hours=71))


def test_r_phone_2_the_number_changes_only_with_the_right_code() -> None:
    with pytest.raises(Refused) as wrong:
        machine.confirm(_request(), "000000", NOW)
    assert wrong.value.code == "invalid_code" and wrong.value.request is not None
    assert wrong.value.request.status == "pending" and wrong.value.request.attempts == 1


def test_r_phone_4_confirmation_after_expiry_fails_and_changes_nothing() -> None:
    request = _request()
    with pytest.raises(Refused) as late:
        machine.confirm(request, CODE, NOW + timedelta(hours=72))
    assert late.value.code == "expired" and late.value.request is None
    with pytest.raises(Refused) as late_decline:
        machine.decline(request, NOW + timedelta(hours=73))
    assert late_decline.value.code == "expired"


def test_r_phone_4_the_fifth_wrong_code_cancels() -> None:
    request = _request(attempts=4)
    with pytest.raises(Refused) as fifth:
        machine.confirm(request, "111111", NOW)
    assert fifth.value.code == "too_many_attempts"
    assert fifth.value.request is not None and fifth.value.request.status == "cancelled"


def test_r_phone_4_the_patient_may_decline() -> None:
    assert machine.decline(_request(), NOW).status == "declined"


def test_r_phone_5_a_newer_request_supersedes() -> None:
    assert machine.supersede(_request()).status == "superseded"
    with pytest.raises(Refused):
        machine.supersede(_request(status="confirmed"))


def test_r_phone_6_one_reminder_when_less_than_24_hours_remain() -> None:
    request = _request()
    assert not machine.needs_reminder(request, NOW + timedelta(hours=48))
    assert machine.needs_reminder(request, NOW + timedelta(hours=48, seconds=1))
    assert not machine.needs_reminder(replace(request, reminded=True), NOW + timedelta(hours=60))
    assert not machine.needs_reminder(request, NOW + timedelta(hours=72))
    assert not machine.needs_reminder(replace(request, status="declined"), NOW + timedelta(hours=60))


EVENTS = st.one_of(
    st.tuples(st.just("confirm_right"), st.integers(0, 80)),
    st.tuples(st.just("confirm_wrong"), st.integers(0, 80)),
    st.tuples(st.just("decline"), st.integers(0, 80)),
    st.tuples(st.just("expire"), st.integers(0, 80)),
    st.tuples(st.just("supersede"), st.integers(0, 80)),
)


@settings(max_examples=500)
@given(st.lists(EVENTS, max_size=15))
def test_r_phone_2_to_5_any_history_leaves_pending_at_most_once_and_legally(events: list[tuple[str, int]]) -> None:
    request = _request()
    exits: list[str] = []
    wrong = 0
    for name, hour in sorted(events, key=lambda e: e[1]):
        now = NOW + timedelta(hours=hour)
        before = request
        try:
            if name == "confirm_right":
                request = machine.confirm(request, CODE, now)
            elif name == "confirm_wrong":
                request = machine.confirm(request, "999999", now)
            elif name == "decline":
                request = machine.decline(request, now)
            elif name == "expire":
                request = machine.expire(request, now)
            else:
                request = machine.supersede(request)
        except Refused as refused:
            assert before.status == "pending" or refused.code in ("not_found", "not_due")
            if refused.request is not None:
                wrong += 1
                request = refused.request
        if before.status in FINAL:
            assert request == before  # final states are absorbing
        if before.status == "pending" and request.status != "pending":
            exits.append(request.status)
            if request.status == "confirmed":
                assert now < request.expires_at and name == "confirm_right"
            if request.status == "expired":
                assert now >= request.expires_at
            if request.status == "cancelled":
                assert wrong == 5
    assert len(exits) <= 1
    assert request.attempts <= 5
