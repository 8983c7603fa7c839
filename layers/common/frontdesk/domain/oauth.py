"""OAuth 2.0 client credentials grant (RFC 6749 §4.4) as pure rules: reading a token request, client secrets.

A token request is form-encoded (the RFC) or JSON (API.md); the client authenticates with HTTP Basic (§2.3.1:
id and secret form-urlencoded, then base64) or with client_id/client_secret in the body, never both (§2.3).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

GRANT_TYPE = "client_credentials"
MAX_PARAMETER_LENGTH = 512
CLIENT_ID_PREFIX = "fdc_"


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: `error` is the registered code; the description never echoes what was sent."""

    def __init__(self, error: str, description: str, *, status: int = 400, basic: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic = basic  # the client tried HTTP Basic: a 401 must name the scheme (WWW-Authenticate)


class TooManyFailures(OAuthError):
    """429: too many failed requests for one client id in the window; `retry_after` seconds to its end."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_attempts", "Too many failed requests. Try again later.", status=429)
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str
    client_id: str
    client_secret: str
    basic: bool  # the client authenticated with HTTP Basic


MAX_BODY_BYTES = 16 * 1024


def parse_token_request(content_type: str, body: bytes, authorization: str | None) -> TokenRequest:
    """The grant type and the client's credentials, or OAuthError (invalid_request, invalid_client,
    unsupported_grant_type) in the order the RFC implies: a malformed request before a wrong grant type."""
    basic = bool(authorization) and authorization.split(" ", 1)[0].lower() == "basic"  # type: ignore[union-attr]
    if len(body) > MAX_BODY_BYTES:  # this route skips the shared HTTP layer's ceiling: a token request is tiny
        raise OAuthError("invalid_request", "The request body is too large.", basic=basic)
    params = _parameters(content_type, body, basic)
    header_client = _basic_credentials(authorization) if authorization else None
    body_client = params.get("client_id"), params.get("client_secret")
    if header_client is not None and (body_client[0] is not None or body_client[1] is not None):
        raise OAuthError("invalid_request", "Authenticate the client one way only: HTTP Basic or the body.")
    grant_type = params.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required.", basic=basic)
    if header_client is not None:
        client_id, client_secret = header_client
    else:
        client_id, client_secret = body_client[0] or "", body_client[1] or ""
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", "Only grant_type=client_credentials is supported.", basic=basic)
    if not client_id or not client_secret:
        raise OAuthError("invalid_client", "Client authentication is required.", status=401, basic=basic)
    return TokenRequest(grant_type, client_id, client_secret, basic)


def _parameters(content_type: str, body: bytes, basic: bool) -> dict[str, str]:
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "The body must be UTF-8.", basic=basic) from None
    pairs: list[tuple[str, object]]
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs = list(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=20))
        except ValueError:
            raise OAuthError("invalid_request", "The form body is malformed.", basic=basic) from None
    elif media_type == "application/json":
        try:
            document = json.loads(text) if text.strip() else {}
        except (ValueError, RecursionError):  # R-API-1: a deeply nested body is a bad request, never a 500
            raise OAuthError("invalid_request", "The JSON body is malformed.", basic=basic) from None
        if not isinstance(document, dict):
            raise OAuthError("invalid_request", "The JSON body must be an object.", basic=basic)
        pairs = list(document.items())
    else:
        raise OAuthError(
            "invalid_request", "Send application/x-www-form-urlencoded (or application/json).", basic=basic
        )
    params: dict[str, str] = {}
    for name, value in pairs:
        if not isinstance(value, str):
            raise OAuthError("invalid_request", "Every parameter must be a string.", basic=basic)
        if name in params:
            # RFC 6749 §3.2: parameters MUST NOT be included more than once.
            raise OAuthError("invalid_request", "A parameter is repeated.", basic=basic)
        if len(value) > MAX_PARAMETER_LENGTH:
            raise OAuthError("invalid_request", "A parameter is too long.", basic=basic)
        # An empty parameter counts as omitted (RFC 6749 §3.1).
        if value != "":
            params[name] = value
    return params


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "Authenticate the client with HTTP Basic or in the body.", status=401)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise OAuthError("invalid_client", "The Basic credentials are malformed.", status=401, basic=True) from None
    client_id, colon, client_secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "The Basic credentials are malformed.", status=401, basic=True)
    # RFC 6749 §2.3.1: each part is form-urlencoded before it is joined and base64-encoded.
    client_id, client_secret = unquote_plus(client_id), unquote_plus(client_secret)
    if len(client_id) > MAX_PARAMETER_LENGTH or len(client_secret) > MAX_PARAMETER_LENGTH:
        raise OAuthError("invalid_client", "The Basic credentials are malformed.", status=401, basic=True)
    return client_id, client_secret


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_hex(12)


def new_client_secret() -> str:
    """256 random bits, URL-safe (no character that needs form-encoding)."""
    return secrets.token_urlsafe(32)


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_secret(secret: str, salt: str) -> str:
    """Salted SHA-256: the secret is 256 random bits, so a slow hash adds nothing against guessing; the salt keeps
    equal hashes from showing up across credentials."""
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, salt: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), expected_hash)
