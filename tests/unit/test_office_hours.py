"""Office hours as pure time arithmetic (R-HOURS-1..3): random schedules, closures, time zones with DST changes
(and 30/45-minute offsets) against a brute-force oracle that asks is_open minute by minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.domain.office_hours import (
    DAYS,
    EMERGENCY_SENTENCE,
    OfficeHours,
    OfficeHoursInvalid,
    closed_period_id,
)

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST change
    "America/St_Johns",  # -03:30 / -02:30
    "Asia/Kolkata",  # no DST, +05:30
    "Pacific/Chatham",  # +12:45 / +13:45
    "UTC",
]
# Windows that straddle DST changes of the zones above in 2026 (north in March/October/November, south in April).
STARTS = [
    datetime(2026, 3, 6, tzinfo=UTC),
    datetime(2026, 3, 26, tzinfo=UTC),
    datetime(2026, 4, 2, tzinfo=UTC),
    datetime(2026, 10, 22, tzinfo=UTC),
    datetime(2026, 10, 30, tzinfo=UTC),
    datetime(2026, 9, 24, tzinfo=UTC),
    datetime(2026, 6, 10, tzinfo=UTC),
]
WINDOW = timedelta(days=5)


@st.composite
def day_intervals(draw: st.DrawFn) -> list[list[str]]:
    # Sorted distinct cut points on a 30-minute grid (some at odd minutes), paired into non-overlapping intervals.
    points = draw(
        st.lists(
            st.one_of(st.integers(0, 48).map(lambda h: h * 30), st.integers(0, 1440)),
            min_size=0,
            max_size=6,
            unique=True,
        )
    )
    points = sorted(points)
    pairs = [(points[i], points[i + 1]) for i in range(0, len(points) - 1, 2)]
    return [[_hhmm(a), _hhmm(b)] for a, b in pairs if a < b and a < 1440]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def schedules(draw: st.DrawFn) -> tuple[OfficeHours, datetime]:
    start = draw(st.sampled_from(STARTS))
    weekly = {day: draw(day_intervals()) for day in DAYS}
    closures = draw(st.lists(st.integers(-1, 6).map(lambda d: (start + timedelta(days=d)).date()), max_size=3))
    hours = OfficeHours.from_dict(
        {
            "timezone": draw(st.sampled_from(ZONES)),
            "weekly": weekly,
            "closures": [d.isoformat() for d in closures],
            "after_hours_message": "Closed.",
            "response_target_minutes": 240,
        }
    )
    return hours, start


def _oracle_minutes(hours: OfficeHours, start: datetime, end: datetime) -> list[bool]:
    minutes = int((end - start).total_seconds() // 60)
    return [hours.is_open(start + timedelta(minutes=i)) for i in range(minutes)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_r_hours_1_open_segments_match_minute_by_minute_oracle(case: tuple[OfficeHours, datetime]) -> None:
    # Given a random schedule in a zone with a DST change (or odd offset) inside the window
    hours, start = case
    end = start + WINDOW
    # When the open segments are computed
    segments = hours.open_segments(start, end)
    # Then each minute is open exactly when the oracle (is_open, minute by minute) says so
    expected = _oracle_minutes(hours, start, end)
    got = [False] * len(expected)
    for a, b in segments:
        assert a < b
        for i in range(int((a - start).total_seconds() // 60), int((b - start).total_seconds() // 60)):
            got[i] = True
    assert got == expected
    # And the segments are ordered, disjoint and merged
    assert all(segments[i][1] < segments[i + 1][0] for i in range(len(segments) - 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(), st.integers(0, WINDOW.days * 1440 - 1), st.integers(0, 2000))
def test_r_hours_3_office_minutes_match_oracle(case: tuple[OfficeHours, datetime], offset: int, target: int) -> None:
    # Given a schedule and an instant in the window
    hours, start = case
    at = start + timedelta(minutes=offset)
    oracle = _oracle_minutes(hours, at, start + WINDOW + timedelta(days=3))
    # When N office minutes are added
    due = hours.add_office_minutes(at, target)
    # Then the due instant is the minute after the N-th open minute counted by the oracle
    counted = 0
    expected = at if target == 0 else None
    for i, is_open in enumerate(oracle):
        if counted == target:
            break
        counted += is_open
        if counted == target and is_open:
            expected = at + timedelta(minutes=i + 1)
    if expected is not None and counted == target:
        assert due == expected
        # And office_minutes_between agrees with it
        assert hours.office_minutes_between(at, due) == pytest.approx(target)
    else:
        assert due is None or due > start + WINDOW + timedelta(days=3) - timedelta(minutes=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules(), st.integers(0, WINDOW.days * 1440 - 1))
def test_r_hours_2_closed_period_bounds_match_oracle(case: tuple[OfficeHours, datetime], offset: int) -> None:
    # Given an instant in a random schedule
    hours, start = case
    at = start + timedelta(minutes=offset)
    period = hours.closed_period(at)
    # Then open instants have no closed period; closed ones lie in one whose edges the oracle confirms
    if hours.is_open(at):
        assert period is None
        return
    assert period is not None
    begin, end = period
    if begin is not None:
        assert begin <= at
        assert hours.is_open(begin - timedelta(minutes=1))
        assert not hours.is_open(begin)
        assert hours.office_minutes_between(begin, at) == 0
    if end is not None:
        assert end > at
        assert hours.is_open(end)
        assert hours.office_minutes_between(at, end) == 0
    # And every closed instant of the same period has the same name (so one reply per period)
    if begin is not None and end is not None:
        middle = begin + (end - begin) / 2
        assert closed_period_id(hours.closed_period(middle) or (None, None)) == closed_period_id(period)


def test_r_hours_3_four_office_hours_over_a_weekend_end_monday() -> None:
    # Given the defaults (Mon-Fri 08:00-17:00 New York) and a message on Friday at 16:00 local
    hours = OfficeHours()
    friday = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # 16:00 EST
    # When 240 office minutes are added
    # Then one hour is Friday's and three are Monday's: due Monday 11:00 EST
    assert hours.add_office_minutes(friday, 240) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_r_hours_2_dst_spring_forward_keeps_local_opening_time() -> None:
    # Given the defaults in New York, the week DST starts (Sunday 8 March 2026)
    hours = OfficeHours()
    # Then Friday opens at 13:00 UTC (EST) and Monday at 12:00 UTC (EDT): 08:00 local both days
    assert not hours.is_open(datetime(2026, 3, 6, 12, 59, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 3, 6, 13, 0, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 9, 11, 59, tzinfo=UTC))
    assert hours.is_open(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))


def test_r_hours_2_a_closure_date_is_closed_all_day() -> None:
    # Given Thanksgiving as a closure
    hours = OfficeHours.from_dict({"closures": ["2026-11-26"]})
    # Then the practice is closed at noon that day, and the closed period runs from Wednesday 17:00 to Friday 08:00
    noon = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    assert not hours.is_open(noon)
    assert hours.closed_period(noon) == (
        datetime(2026, 11, 25, 22, 0, tzinfo=UTC),
        datetime(2026, 11, 27, 13, 0, tzinfo=UTC),
    )


def test_r_hours_1_overnight_hours_are_two_intervals_that_join() -> None:
    # Given a night shift written as Friday 22:00-24:00 and Saturday 00:00-06:00
    hours = OfficeHours.from_dict(
        {"timezone": "UTC", "weekly": {"fri": [["22:00", "24:00"]], "sat": [["00:00", "06:00"]]}}
    )
    friday = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    # Then they form one open period of 8 hours
    assert hours.open_segments(friday, friday + timedelta(days=2)) == [
        (datetime(2026, 11, 27, 22, 0, tzinfo=UTC), datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"weekly": {"mon": [["17:00", "08:00"]]}}, "weekly.mon[0]"),
        ({"weekly": {"tue": [["08:00", "12:00"], ["11:00", "13:00"]]}}, "weekly.tue[1]"),
        ({"weekly": {"wed": [["8:00", "12:00"]]}}, "weekly.wed[0]"),
        ({"weekly": {"thu": [["08:00", "24:30"]]}}, "weekly.thu[0]"),
        ({"weekly": {"fri": [["24:00", "24:00"]]}}, "weekly.fri[0]"),
        ({"weekly": {"fri": [["08:00"]]}}, "weekly.fri[0]"),
        ({"weekly": {"funday": []}}, "weekly.funday"),
        ({"weekly": {"mon": "08:00-17:00"}}, "weekly.mon"),
        ({"weekly": []}, "weekly"),
        ({"closures": ["2026-02-30"]}, "closures[0]"),
        ({"closures": ["2026-12-25", "25/12/2026"]}, "closures[1]"),
        ({"closures": "2026-12-25"}, "closures"),
        ({"after_hours_message": ""}, "after_hours_message"),
        ({"after_hours_message": "a\x00b"}, "after_hours_message"),
        ({"after_hours_message": "x" * 501}, "after_hours_message"),
        ({"response_target_minutes": -1}, "response_target_minutes"),
        ({"response_target_minutes": True}, "response_target_minutes"),
        ({"response_target_minutes": "240"}, "response_target_minutes"),
    ],
)
def test_r_hours_1_bad_settings_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(OfficeHoursInvalid) as refused:
        OfficeHours.from_dict(body)
    assert refused.value.field == field


def test_r_hours_1_settings_round_trip_and_reply_text() -> None:
    body = {
        "timezone": "Europe/London",
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:30"]], "sat": [["09:00", "11:00"]]},
        "closures": ["2026-12-25", "2026-12-26"],
        "after_hours_message": "We are closed.",
        "response_target_minutes": 0,
    }
    hours = OfficeHours.from_dict(body)
    again = OfficeHours.from_dict(hours.as_dict())
    assert again == hours
    assert hours.as_dict()["weekly"]["tue"] == []  # type: ignore[index]
    assert hours.reply_text() == f"We are closed. {EMERGENCY_SENTENCE}"
    assert date(2026, 12, 25) in hours.closures
