"""`?limit=` of every list (API.md: default 50, max 200). `next_token` is frontdesk.store.page_tokens (R-API-2)."""

from __future__ import annotations

from frontdesk.errors import ValidationFailed

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    return limit
