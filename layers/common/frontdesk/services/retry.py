"""The one retry of the services: a write that lost an optimistic-lock race (`Stale`, raised by the store) reads
again and tries again, with full-jitter back-off so racing writers of one conversation spread out (R-REL-2)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from frontdesk.errors import Conflict, Stale

P = ParamSpec("P")
T = TypeVar("T")

_BACK_OFF_BASE = 0.01  # seconds: the cap doubles per attempt ...
_BACK_OFF_CAP = 0.5  # ... up to this


def busy() -> Exception:
    """What a client sees when every attempt lost its race (API.md: 409 concurrent_update)."""
    return Conflict("The conversation is busy; try again.", code="concurrent_update")


def back_off(attempt: int) -> None:
    """Full jitter, capped: sleep a random time below min(cap, base * 2**attempt)."""
    time.sleep(random.uniform(0, min(_BACK_OFF_CAP, _BACK_OFF_BASE * 2**attempt)))  # noqa: S311 - jitter, not security


def retry_on_stale(
    attempts: int, *, exhausted: Callable[[], Exception] = busy
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Call the function up to `attempts` times while it raises `Stale`, backing off between attempts; then raise
    `exhausted()` (by default the 409 concurrent_update). Each attempt must read what it conditions on afresh."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            for attempt in range(attempts):
                if attempt:
                    back_off(attempt)
                try:
                    return function(*args, **kwargs)
                except Stale:
                    continue
            raise exhausted()

        return wrapper

    return decorate
