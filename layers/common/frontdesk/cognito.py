"""Verifying the stack's Cognito ID tokens (R-AUTH-1, R-AUTH-5) and mapping them to the API's principal.

RS256 only, against the user pool's JWKS: fetched once per container and again when a token names a key id we
do not hold (a rotated pool key), at most once a minute so random key ids cannot make every request fetch.
Issuer, audience (the app client), `token_use == "id"` and expiry (our clock, not PyJWT's) are checked. Role comes
from `cognito:groups`, practice and staff id from the custom attributes only an administrator can write.

PyJWT and cryptography are imported on first use, not at import: the authorizer's cold start stays small.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from frontdesk.auth import POOL_ROLES, InvalidToken, Principal

ALGORITHM = "RS256"
REFETCH_AFTER_SECONDS = 60
PRACTICE_ATTRIBUTE = "custom:practice_id"
STAFF_ATTRIBUTE = "custom:staff_id"

Fetcher = Callable[[str], dict[str, Any]]


def fetch_jwks(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise InvalidToken("jwks url")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a configured https URL (http only locally)  # nosec B310
        document: dict[str, Any] = json.loads(response.read())
    return document


class CognitoVerifier:
    def __init__(self, issuer: str, client_id: str, jwks_url: str, fetch: Fetcher = fetch_jwks) -> None:
        if not issuer or not client_id or not jwks_url:
            raise ValueError("issuer, client id and JWKS URL are all required")
        self.issuer = issuer
        self.client_id = client_id
        self.jwks_url = jwks_url
        self._fetch = fetch
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the JWKS was downloaded (tests and benchmarks read it)

    def verify(self, token: str, now: datetime) -> Principal:
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("algorithm")
        key = self._key(str(header.get("kid", "")), now)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.client_id,
                issuer=self.issuer,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "iss", "aud", "sub", "token_use"],
                },
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from None
        if claims.get("token_use") != "id":
            raise InvalidToken("token_use")
        if int(claims["exp"]) <= int(now.timestamp()):
            raise InvalidToken("expired")
        principal = principal_of(claims)
        if principal is None:
            raise InvalidToken("claims")
        return principal

    def _key(self, kid: str, now: datetime) -> Any:
        with self._lock:
            if kid not in self._keys and self._may_fetch(now.timestamp()):
                self._load(now.timestamp())
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown key")
        return key

    def _may_fetch(self, now: float) -> bool:
        return self._fetched_at is None or not (0 <= now - self._fetched_at < REFETCH_AFTER_SECONDS)

    def _load(self, now: float) -> None:
        from jwt import PyJWK, PyJWKError

        self.fetches += 1
        self._fetched_at = now
        try:
            document = self._fetch(self.jwks_url)
        except Exception as error:  # unreachable JWKS: refuse the token, keep the keys we had
            raise InvalidToken(f"jwks {type(error).__name__}") from None
        keys: dict[str, Any] = {}
        for entry in document.get("keys", []):
            if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[str(entry["kid"])] = PyJWK(entry, algorithm=ALGORITHM).key
            except PyJWKError:
                continue
        if keys:
            self._keys = keys


def principal_of(claims: dict[str, Any]) -> Principal | None:
    """The API's principal from a verified ID token: role from the groups, ids from the custom attributes."""
    groups = claims.get("cognito:groups") or []
    if not isinstance(groups, list):
        return None
    role = next((r for r in POOL_ROLES if r in groups), None)  # the strongest group a user is in
    if role is None:
        return None
    staff_id = claims.get(STAFF_ATTRIBUTE) or None
    return Principal.from_claims(
        {
            "sub": staff_id if role != "support" and staff_id else claims.get("sub"),
            "role": role,
            "practice_id": None if role == "support" else claims.get(PRACTICE_ATTRIBUTE),
            "staff_id": staff_id,
        }
    )


_verifier: CognitoVerifier | None = None
_verifier_lock = threading.Lock()


def get_verifier() -> CognitoVerifier | None:
    """The container's verifier (one JWKS cache per container), or None when no user pool is configured."""
    global _verifier
    with _verifier_lock:
        if _verifier is None:
            from frontdesk.settings import get_settings

            settings = get_settings()
            if not settings.user_pool_id or not settings.user_pool_client_id:
                return None
            issuer = settings.cognito_issuer or (
                f"https://cognito-idp.{settings.region}.amazonaws.com/{settings.user_pool_id}"
            )
            jwks_url = settings.cognito_jwks_url or f"{issuer}/.well-known/jwks.json"
            _verifier = CognitoVerifier(issuer, settings.user_pool_client_id, jwks_url)
        return _verifier
