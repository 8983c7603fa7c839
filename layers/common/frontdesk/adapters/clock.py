"""Clock adapter: the only source of the current time (the local runner can move it)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class LocalClock:
    """Real time shifted by an offset the developer controls (POST /_local/clock)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._offset = when - datetime.now(UTC)
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)


class FixedClock:
    """A clock for tests: stands still until moved."""

    def __init__(self, when: datetime) -> None:
        self._now = when

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


LOCAL_CLOCK = LocalClock()
_SYSTEM_CLOCK = SystemClock()


def get_clock() -> Clock:
    from frontdesk.settings import get_settings

    return LOCAL_CLOCK if get_settings().is_local else _SYSTEM_CLOCK


def iso(when: datetime) -> str:
    """ISO-8601 UTC with Z, millisecond precision, as API.md requires."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
