"""The store's one back-off: a full-jitter pause before a request is sent again (a batch's unprocessed items, a
transaction cancelled by a conflict with another transaction), so writers that collided spread out."""

from __future__ import annotations

import random
import time

BASE_SECONDS = 0.05  # the ceiling of the first pause; it doubles with every attempt


def jitter(attempt: int, *, cap: float | None = None) -> float:
    """A random pause in [0, BASE_SECONDS * 2**attempt), the ceiling held at `cap` when one is given."""
    ceiling = BASE_SECONDS * 2**attempt
    return random.uniform(0, ceiling if cap is None else min(cap, ceiling))  # noqa: S311 - jitter, not security


def pause(attempt: int, *, cap: float | None = None) -> None:
    """Sleeps jitter(attempt, cap=cap) seconds."""
    time.sleep(jitter(attempt, cap=cap))
