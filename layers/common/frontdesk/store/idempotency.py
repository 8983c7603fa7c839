"""Idempotency records: the first answer to a request that may be repeated (ids only, never PHI), expiring."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from frontdesk.store import keys
from frontdesk.store.base import TableItem


class IdempotencyItem(TableItem, discriminator="Idempotency"):
    """The first answer to a request that may be repeated (ids only, never PHI); expires through `ttl`."""

    practice_id = UnicodeAttribute()
    answer = JSONAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, scope: str, key: str) -> tuple[str, str]:
        return keys.idempotency_pk(practice_id, scope, key), "RECORD"


IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600


def idempotency_item(practice_id: str, scope: str, key: str, answer: dict[str, Any], at: datetime) -> IdempotencyItem:
    pk, sk = IdempotencyItem.key(practice_id, scope, _safe(key))
    item = IdempotencyItem(pk, sk, practice_id=practice_id, answer=answer, created_at=at)
    item.expires_ttl = datetime.fromtimestamp(at.timestamp() + IDEMPOTENCY_TTL_SECONDS, tz=at.tzinfo)
    return item


def get_idempotent_answer(practice_id: str, scope: str, key: str, now: datetime) -> dict[str, Any] | None:
    """The first answer, unless expired (PITFALLS: TTL deletes only eventually, so check the expiry here)."""
    try:
        item = IdempotencyItem.get(*IdempotencyItem.key(practice_id, scope, _safe(key)), consistent_read=True)
    except DoesNotExist:
        return None
    if item.expires_ttl is not None and item.expires_ttl <= now:
        return None
    return dict(item.answer or {})


def _safe(key: str) -> str:
    # Client-chosen keys go into a partition key: hash them so no '#' or length games are possible.
    return hashlib.sha256(key.encode()).hexdigest()[:40]
