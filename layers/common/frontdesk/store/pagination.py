"""Opaque next_token <-> DynamoDB LastEvaluatedKey."""

from __future__ import annotations

import base64
import json
from typing import Any

from frontdesk.errors import ValidationFailed

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("The next_token is not valid.", field="next_token") from None
    if not isinstance(value, dict):
        raise ValidationFailed("The next_token is not valid.", field="next_token")
    return value


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    return limit
