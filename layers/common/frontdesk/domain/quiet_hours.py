"""R-SMS-4: automated texts the patient did not just ask for go only between 08:00 and 21:00 in the practice's
time zone; one that falls due outside waits for the start of the next window. Pure: no clock, no store."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

WINDOW_START = time(8, 0)
WINDOW_END = time(21, 0)  # exclusive: 21:00:00 is already quiet


def in_window(now: datetime, timezone: str) -> bool:
    """May an automated text go at `now` (an aware datetime) to a patient of a practice in `timezone`?"""
    local = now.astimezone(ZoneInfo(timezone)).time()
    return WINDOW_START <= local < WINDOW_END


def next_window_start(now: datetime, timezone: str) -> datetime:
    """The first 08:00 in `timezone` strictly after `now`, in UTC (DST-safe: 08:00 local always exists)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = local.date() if local.time() < WINDOW_START else local.date() + timedelta(days=1)
    return datetime.combine(day, WINDOW_START, tzinfo=zone).astimezone(UTC)


def send_at(now: datetime, timezone: str) -> datetime:
    """`now` when inside the window, otherwise the start of the next window (UTC)."""
    return now if in_window(now, timezone) else next_window_start(now, timezone)
