"""R-HOURS-1: a practice's office hours as a value object, and time arithmetic over them. Pure: no clock, no store.

Open means: the practice's wall clock (its IANA time zone) is inside one of the day's intervals and the local date
is not a closure date. Everything else (the closed period an instant falls in, office minutes between two instants,
the instant N office minutes after another) is derived from that one definition, so DST changes are honoured the
way a person reading the office clock would honour them (tests/unit/test_office_hours.py checks it minute by minute).

Intervals never cross midnight: an overnight shift is written as two intervals (`["22:00","24:00"]` then the next
day's `["00:00","06:00"]`), which join into one open period. `"24:00"` is accepted as an interval's end only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TIMEZONE = "America/New_York"
DEFAULT_RESPONSE_TARGET_MINUTES = 240
DEFAULT_AFTER_HOURS_MESSAGE = "Our office is closed right now. We will answer your message when we open again."
EMERGENCY_SENTENCE = "If this is a medical emergency, call 911."
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
MAX_AFTER_HOURS_MESSAGE = 500
MAX_RESPONSE_TARGET_MINUTES = 60 * 24 * 14
MAX_CLOSURES = 366
MAX_INTERVALS_PER_DAY = 12
_HORIZON = timedelta(days=400)  # searches for the next/previous open minute stop here: "never" beyond
_CHUNK = timedelta(days=8)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

Interval = tuple[int, int]  # minutes since local midnight, start < end <= 1440
DEFAULT_WEEKLY: tuple[tuple[Interval, ...], ...] = (*(((8 * 60, 17 * 60),),) * 5, (), ())  # Mon-Fri 08-17


class OfficeHoursInvalid(ValueError):
    """Bad office-hours settings; `field` names the offending field (API.md: 400 naming the field)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class OfficeHours:
    timezone: str = DEFAULT_TIMEZONE
    weekly: tuple[tuple[Interval, ...], ...] = DEFAULT_WEEKLY
    closures: frozenset[date] = frozenset()
    after_hours_message: str = DEFAULT_AFTER_HOURS_MESSAGE
    response_target_minutes: int = DEFAULT_RESPONSE_TARGET_MINUTES
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", ZoneInfo(self.timezone))

    # ----- conversions -----

    def as_dict(self) -> dict[str, object]:
        """API.md shape: {timezone, weekly: {mon: [["08:00","17:00"]], ...}, closures, after_hours_message, ...}."""
        return {
            "timezone": self.timezone,
            "weekly": {
                day: [[_hhmm(start), _hhmm(end)] for start, end in self.weekly[index]] for index, day in enumerate(DAYS)
            },
            "closures": sorted(day.isoformat() for day in self.closures),
            "after_hours_message": self.after_hours_message,
            "response_target_minutes": self.response_target_minutes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> OfficeHours:
        """Strict: raises OfficeHoursInvalid naming the field (e.g. `weekly.mon[1]`, `closures[0]`, `timezone`)."""
        timezone = data.get("timezone", DEFAULT_TIMEZONE)
        if not isinstance(timezone, str) or not _valid_timezone(timezone):
            raise OfficeHoursInvalid("Unknown time zone: use an IANA name such as America/New_York.", "timezone")
        weekly_raw = data.get("weekly")
        weekly = DEFAULT_WEEKLY if weekly_raw is None else _parse_weekly(weekly_raw)
        closures_raw = data.get("closures") or []
        if not isinstance(closures_raw, list) or len(closures_raw) > MAX_CLOSURES:
            raise OfficeHoursInvalid(f"closures is a list of at most {MAX_CLOSURES} dates.", "closures")
        closures = frozenset(_parse_date(value, f"closures[{index}]") for index, value in enumerate(closures_raw))
        message = data.get("after_hours_message", DEFAULT_AFTER_HOURS_MESSAGE)
        if not isinstance(message, str) or not message.strip() or len(message) > MAX_AFTER_HOURS_MESSAGE:
            raise OfficeHoursInvalid(
                f"after_hours_message is 1 to {MAX_AFTER_HOURS_MESSAGE} characters.", "after_hours_message"
            )
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in message):
            raise OfficeHoursInvalid("after_hours_message holds a control character.", "after_hours_message")
        target = data.get("response_target_minutes", DEFAULT_RESPONSE_TARGET_MINUTES)
        if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target <= MAX_RESPONSE_TARGET_MINUTES:
            raise OfficeHoursInvalid(
                f"response_target_minutes is a whole number from 0 to {MAX_RESPONSE_TARGET_MINUTES}.",
                "response_target_minutes",
            )
        return cls(timezone, weekly, closures, message.strip(), target)

    def reply_text(self) -> str:
        """R-HOURS-2: the practice's message followed by the emergency sentence."""
        return f"{self.after_hours_message} {EMERGENCY_SENTENCE}"

    # ----- the one definition of "open" -----

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self._zone)
        if local.date() in self.closures:
            return False
        minute = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        return any(start <= minute < end for start, end in self.weekly[local.weekday()])

    # ----- derived arithmetic -----

    def open_segments(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open periods overlapping [start, end), clipped to it, merged, in UTC."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        segments: list[tuple[datetime, datetime]] = []
        for piece_start, piece_end, offset in _constant_offset_pieces(self._zone, start, end):
            # Within a piece the wall clock is UTC + offset: an interval's wall times map to one UTC range.
            first_day = (piece_start + offset).date() - timedelta(days=1)
            last_day = (piece_end + offset).date()
            day = first_day
            while day <= last_day:
                if day not in self.closures:
                    midnight = datetime.combine(day, time(0), tzinfo=UTC) - offset
                    for open_minute, close_minute in self.weekly[day.weekday()]:
                        a = max(midnight + timedelta(minutes=open_minute), piece_start)
                        b = min(midnight + timedelta(minutes=close_minute), piece_end)
                        if a < b:
                            _append_merged(segments, a, b)
                day += timedelta(days=1)
        return segments

    def closed_period(self, at: datetime) -> tuple[datetime | None, datetime | None] | None:
        """None when open; otherwise (start, end) of the closed period `at` falls in (None: beyond 400 days)."""
        if self.is_open(at):
            return None
        return self._previous_close(at), self._next_open(at)

    def office_minutes_between(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        return sum((b - a).total_seconds() for a, b in self.open_segments(start, end)) / 60

    def add_office_minutes(self, start: datetime, minutes: float) -> datetime | None:
        """The instant at which `minutes` office minutes have elapsed since `start` (None: not within 400 days)."""
        remaining = timedelta(minutes=minutes)
        cursor = start.astimezone(UTC)
        if minutes <= 0:
            return cursor
        limit = cursor + _HORIZON
        while cursor < limit:
            for a, b in self.open_segments(cursor, cursor + _CHUNK):
                if b - a >= remaining:
                    return a + remaining
                remaining -= b - a
            cursor += _CHUNK
        return None

    def _next_open(self, at: datetime) -> datetime | None:
        cursor = at.astimezone(UTC)
        limit = cursor + _HORIZON
        while cursor < limit:
            segments = self.open_segments(cursor, cursor + _CHUNK)
            if segments:
                return segments[0][0]
            cursor += _CHUNK
        return None

    def _previous_close(self, at: datetime) -> datetime | None:
        cursor = at.astimezone(UTC)
        limit = cursor - _HORIZON
        while cursor > limit:
            segments = self.open_segments(cursor - _CHUNK, cursor)
            if segments:
                return segments[-1][1]
            cursor -= _CHUNK
        return None


def closed_period_id(period: tuple[datetime | None, datetime | None]) -> str:
    """A stable name for one closed period (its start), used to reply once per conversation per period."""
    start = period[0]
    return "open-ended" if start is None else start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----- parsing -----


def _valid_timezone(name: str) -> bool:
    if name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES: set[str] = set()


def _zone_names() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def _parse_weekly(raw: object) -> tuple[tuple[Interval, ...], ...]:
    if not isinstance(raw, Mapping):
        raise OfficeHoursInvalid("weekly is an object with a list of intervals per day (mon..sun).", "weekly")
    unknown = sorted(str(key) for key in raw if key not in DAYS)
    if unknown:
        raise OfficeHoursInvalid("weekly has days mon, tue, wed, thu, fri, sat, sun only.", f"weekly.{unknown[0]}")
    days: list[tuple[Interval, ...]] = []
    for day in DAYS:
        value = raw.get(day) or []
        if not isinstance(value, list) or len(value) > MAX_INTERVALS_PER_DAY:
            raise OfficeHoursInvalid(
                f"A day is a list of at most {MAX_INTERVALS_PER_DAY} [start, end] intervals.", f"weekly.{day}"
            )
        intervals = [_parse_interval(item, f"weekly.{day}[{index}]") for index, item in enumerate(value)]
        ordered = sorted(enumerate(intervals), key=lambda pair: pair[1])
        for (_, previous), (index, current) in zip(ordered, ordered[1:], strict=False):
            if current[0] < previous[1]:
                raise OfficeHoursInvalid("Intervals of one day must not overlap.", f"weekly.{day}[{index}]")
        days.append(tuple(interval for _, interval in ordered))
    return tuple(days)


def _parse_interval(item: object, name: str) -> Interval:
    if not isinstance(item, list) or len(item) != 2 or not all(isinstance(v, str) for v in item):
        raise OfficeHoursInvalid('An interval is ["HH:MM", "HH:MM"].', name)
    start, end = (_parse_hhmm(str(v), name) for v in item)
    if start >= 24 * 60:
        raise OfficeHoursInvalid("24:00 may only end an interval.", name)
    if end <= start:
        # Overnight intervals are refused: write them as two (..-24:00 and the next day's 00:00-..).
        raise OfficeHoursInvalid("An interval ends after it starts, on the same day (split overnight hours).", name)
    return start, end


def _parse_hhmm(value: str, name: str) -> int:
    if not _HHMM.match(value):
        raise OfficeHoursInvalid("Times are HH:MM (00:00 to 24:00).", name)
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _parse_date(value: object, name: str) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise OfficeHoursInvalid("A closure is a date YYYY-MM-DD.", name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise OfficeHoursInvalid("A closure is a date YYYY-MM-DD.", name) from None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# ----- time zone pieces -----


def _constant_offset_pieces(
    zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """[start, end) cut where the zone's UTC offset changes (DST), each piece with its offset."""
    cursor = start
    while cursor < end:
        offset = _offset(zone, cursor)
        step_end = min(end, cursor + timedelta(days=1))
        while step_end > cursor and _offset(zone, step_end - timedelta(microseconds=1)) != offset:
            step_end = _first_change(zone, cursor, step_end, offset)
        yield cursor, step_end, offset
        cursor = step_end


def _first_change(zone: ZoneInfo, low: datetime, high: datetime, offset: timedelta) -> datetime:
    """The first instant in (low, high] whose offset differs from `offset`; tzdata transitions fall on whole
    seconds, so a binary search over seconds finds it."""
    lo, hi = math.floor(low.timestamp()), math.ceil(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(zone, datetime.fromtimestamp(mid, UTC)) == offset:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(zone).utcoffset() or timedelta(0)


def _append_merged(segments: list[tuple[datetime, datetime]], a: datetime, b: datetime) -> None:
    if segments and a <= segments[-1][1]:
        segments[-1] = (segments[-1][0], max(segments[-1][1], b))
    else:
        segments.append((a, b))


def weekly_from_lists(weekly: Mapping[str, Sequence[Sequence[str]]]) -> tuple[tuple[Interval, ...], ...]:
    """For stored settings (already validated when saved)."""
    return _parse_weekly({day: [list(pair) for pair in weekly.get(day, [])] for day in DAYS})
