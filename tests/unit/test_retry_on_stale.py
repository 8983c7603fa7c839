"""R-REL-2: a write that lost an optimistic-lock race reads again and retries (one helper for every service)."""

from __future__ import annotations

import pytest

from frontdesk.errors import Conflict, Stale
from frontdesk.services import retry
from frontdesk.services.retry import retry_on_stale


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    return slept


def test_r_rel_2_a_lost_race_is_retried_until_the_write_wins(no_sleep: list[float]) -> None:
    # Given a write that loses its race twice, then wins
    calls: list[int] = []

    @retry_on_stale(5)
    def write(value: int) -> int:
        calls.append(value)
        if len(calls) < 3:
            raise Stale("changed since read")
        return value * 2

    # When it is called once
    result = write(21)
    # Then it ran three times (each attempt reads afresh), backed off twice, and returned the winner's answer
    assert result == 42 and calls == [21, 21, 21]
    assert len(no_sleep) == 2 and all(0 <= s <= 0.5 for s in no_sleep)


def test_r_rel_2_every_attempt_lost_is_a_409_concurrent_update_by_default() -> None:
    # Given a write that always loses
    calls: list[None] = []

    @retry_on_stale(4)
    def write() -> None:
        calls.append(None)
        raise Stale("changed since read")

    # When it is called, Then after exactly 4 attempts the client gets 409 concurrent_update
    with pytest.raises(Conflict) as refused:
        write()
    assert refused.value.code == "concurrent_update" and refused.value.status == 409
    assert len(calls) == 4


def test_r_rel_2_the_exhausted_error_is_the_callers_choice_and_other_errors_are_not_retried() -> None:
    # Given a caller (routing) that wants its own error when every attempt lost
    @retry_on_stale(2, exhausted=lambda: RuntimeError("EventBridge will retry"))
    def route() -> None:
        raise Stale("changed since read")

    with pytest.raises(RuntimeError, match="EventBridge"):
        route()

    # And an error that is not a lost race
    calls: list[None] = []

    @retry_on_stale(5)
    def broken() -> None:
        calls.append(None)
        raise ValueError("not a race")

    # Then it propagates at once, never retried
    with pytest.raises(ValueError):
        broken()
    assert len(calls) == 1


def test_retry_on_stale_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError):
        retry_on_stale(0)
