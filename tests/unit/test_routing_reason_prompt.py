"""The reason prompt and the reason a message carries, over random histories (R-ROUTE-3, R-ROUTE-4, R-ROUTE-5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain.reasons import (
    REASONS,
    PromptInputs,
    ReasonRefused,
    choose_reason,
    offered_reasons,
    prompt_required,
    subscribers_by_reason,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
moments = st.one_of(st.none(), st.integers(min_value=0, max_value=4 * 3600).map(lambda s: NOW - timedelta(seconds=s)))


@st.composite
def histories(draw: st.DrawFn) -> PromptInputs:
    return PromptInputs(
        reasons_enabled=draw(st.booleans()),
        offered=tuple(draw(st.lists(st.sampled_from(REASONS), unique=True))),
        conversation_closed=draw(st.booleans()),
        last_practice_message_at=draw(moments),
        patient_read_at=draw(moments),
        last_patient_message_at=draw(moments),
    )


def _read(h: PromptInputs) -> bool:
    if h.last_practice_message_at is None:
        return True
    return h.patient_read_at is not None and h.patient_read_at >= h.last_practice_message_at


def _quiet(h: PromptInputs) -> bool:
    return h.last_patient_message_at is None or NOW - h.last_patient_message_at > timedelta(hours=1)


@settings(max_examples=800)
@given(histories())
def test_r_route_3_prompt_exactly_when_closed_read_and_last_message_over_an_hour_old(h: PromptInputs) -> None:
    expected = h.reasons_enabled and bool(h.offered) and h.conversation_closed and _read(h) and _quiet(h)
    assert prompt_required(h, NOW) == expected


@settings(max_examples=800)
@given(histories(), st.one_of(st.none(), st.sampled_from(REASONS)), st.one_of(st.none(), st.sampled_from(REASONS)))
def test_r_route_3_4_5_the_reason_a_message_carries(
    h: PromptInputs, given_reason: str | None, previous: str | None
) -> None:
    try:
        choice = choose_reason(h, given_reason, previous, NOW)
    except ReasonRefused as refused:
        # Refusals only when a reason was needed or an unoffered one was named, never inside the sticky hour
        assert h.reasons_enabled and _quiet(h)
        if refused.code == "reason_required":
            assert given_reason is None and prompt_required(h, NOW)
        else:
            assert given_reason is not None and given_reason not in h.offered
        return
    if not h.reasons_enabled:
        assert choice.reason is None
    elif not _quiet(h):
        assert (choice.reason, choice.source) == (previous, "sticky")  # R-ROUTE-5
    elif prompt_required(h, NOW):
        assert choice.reason == given_reason and given_reason in h.offered  # R-ROUTE-3 / R-ROUTE-4
    else:
        assert choice.reason == given_reason
        assert given_reason is None or given_reason in h.offered


@given(st.lists(st.frozensets(st.sampled_from(REASONS)), max_size=6))
def test_r_route_4_only_reasons_with_a_subscriber_are_offered(subscriptions: list[frozenset[str]]) -> None:
    offered = offered_reasons(subscriptions)
    assert set(offered) == set().union(*subscriptions) if subscriptions else offered == []
    assert offered == [r for r in REASONS if r in offered]  # catalogue order, fixed wording
    by_reason = subscribers_by_reason({f"s{i}": subs for i, subs in enumerate(subscriptions)})
    assert set(by_reason) == set(REASONS)
    assert {r for r, ids in by_reason.items() if ids} == set(offered)


def test_r_route_5_exactly_one_hour_is_still_sticky_one_second_more_is_not() -> None:
    base = PromptInputs(True, ("billing",), True, None, None, NOW - timedelta(hours=1))
    assert choose_reason(base, None, "billing", NOW).reason == "billing"
    later = PromptInputs(True, ("billing",), True, None, None, NOW - timedelta(hours=1, seconds=1))
    with pytest.raises(ReasonRefused) as refused:
        choose_reason(later, None, "billing", NOW)
    assert refused.value.code == "reason_required"


def test_r_route_3_unread_practice_message_suppresses_the_prompt() -> None:
    unread = PromptInputs(True, ("billing",), True, NOW - timedelta(minutes=5), NOW - timedelta(hours=2), None)
    assert prompt_required(unread, NOW) is False
    read = PromptInputs(True, ("billing",), True, NOW - timedelta(minutes=5), NOW - timedelta(minutes=1), None)
    assert prompt_required(read, NOW) is True
