"""R-API-2: `next_token` for every list — opaque, tamper-proof, bound to its list and expiring.

A token is AES-256-GCM (authenticated encryption) of `{"k": <LastEvaluatedKey>, "x": <expiry, epoch seconds>}`
under a key derived from the server secret PageTokenSecret (Secrets Manager, read at run time), with the list's
scope (practice, list, and caller where the list is the caller's own) as additional authenticated data:

- opaque: the table key is encrypted, a client sees random bytes;
- tamper-proof: any changed byte fails the tag; a token made without the secret cannot be forged;
- bound: a token issued for another practice, list or caller fails the tag (the scope is part of it);
- expiring: 24 hours after issue by the clock adapter.

Anything that fails is a 400 `validation_error` with field `next_token`, never a 500. The layout is
`base64url(version byte | 12-byte nonce | ciphertext+tag)`, without padding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from frontdesk.errors import ValidationFailed

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_TTL_SECONDS = 24 * 3600
_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16
MAX_TOKEN_CHARS = 2000  # a query's max_length; a table key with index attributes is ~ 500 characters as a token


@dataclass(frozen=True)
class PageScope:
    """What a token is bound to: the practice, the list (e.g. `inbox#mine`, `audit#<patient>`), and the caller for
    lists that are the caller's own (their inbox, their notifications)."""

    practice_id: str
    list_name: str
    caller_id: str = ""

    def aad(self) -> bytes:
        return json.dumps([self.practice_id, self.list_name, self.caller_id]).encode()


def _invalid() -> ValidationFailed:
    return ValidationFailed("The next_token is not valid for this list; start again without it.", field="next_token")


@lru_cache(maxsize=4)
def _cipher(secret: str) -> AESGCM:
    # Imported here: only a request that pages pays for it (cold starts, docs/performance.md).
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not secret:
        raise RuntimeError("the page-token secret is empty")  # fail closed: never issue tokens under an empty key
    return AESGCM(hashlib.sha256(b"frontdesk page token v1\x00" + secret.encode()).digest())


def _secret() -> str:
    """The current key (Secrets Manager, R-AUTH-5): a missing or empty one raises SecretUnavailable (fail closed)."""
    from frontdesk import secrets

    return secrets.get("page_token")


def _secrets_for_reading() -> list[str]:
    """The current key, then the one before the last rotation: a rotation does not break the tokens in flight."""
    from frontdesk import secrets

    return secrets.keys("page_token")


def _now() -> datetime:
    from frontdesk.adapters.clock import get_clock

    return get_clock().now()


def encode_token(last_key: dict[str, Any] | None, scope: PageScope) -> str | None:
    """The next page's token, or None when this was the last page."""
    if not last_key:
        return None
    expires = int(_now().timestamp()) + TOKEN_TTL_SECONDS
    plain = json.dumps({"k": last_key, "x": expires}, separators=(",", ":"), sort_keys=True).encode()
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(_secret()).encrypt(nonce, plain, scope.aad())
    return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode().rstrip("=")


def _open(nonce: bytes, sealed: bytes, scope: PageScope) -> Any:
    from cryptography.exceptions import InvalidTag

    for secret in _secrets_for_reading():
        try:
            return json.loads(_cipher(secret).decrypt(nonce, sealed, scope.aad()))
        except (InvalidTag, ValueError):
            continue
    raise _invalid()


def decode_token(token: str | None, scope: PageScope) -> dict[str, Any] | None:
    """The table key a token stands for; a 400 naming `next_token` for anything we did not issue for this scope."""
    if token is None or token == "":
        return None

    if len(token) > MAX_TOKEN_CHARS:
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise _invalid() from None
    # Only the one spelling we issue: base64 leaves spare bits in the last character, so another spelling of the
    # same bytes would otherwise pass as an "altered" token that still works.
    if base64.urlsafe_b64encode(raw).decode().rstrip("=") != token:
        raise _invalid()
    if len(raw) < 1 + _NONCE_BYTES + _TAG_BYTES or raw[:1] != _VERSION:
        raise _invalid()
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    value = _open(nonce, sealed, scope)
    if not isinstance(value, dict) or not isinstance(value.get("k"), dict) or not isinstance(value.get("x"), int):
        raise _invalid()
    if value["x"] <= int(_now().timestamp()):
        raise ValidationFailed("The next_token has expired; start again without it.", field="next_token")
    return dict(value["k"])
