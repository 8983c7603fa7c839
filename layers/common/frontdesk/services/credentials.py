"""PM/EHR integration credentials (R-AUTH-4): create, list, revoke, exchange for a token, check a token.

A credential's secret is shown once, at creation, and stored only as a salted hash. The token endpoint
(OAuth 2.0 client credentials) gives a short-lived `integration` bearer signed with the run-time signing key
(frontdesk.secrets); the authorizer refuses a token whose credential was revoked since (one GetItem).
Brute force: after MAX_FAILURES failed requests for one client id in a window, every request for it is a 429
until the window ends, whether or not its secret is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk import secrets
from frontdesk.auth import Principal, issue_token
from frontdesk.domain import oauth
from frontdesk.domain.credentials import Credential
from frontdesk.errors import Forbidden, NotFound, Stale, ValidationFailed
from frontdesk.ids import new_id
from frontdesk.store import credentials as store
from frontdesk.store.page_tokens import PageScope, decode_token, encode_token
from frontdesk.store.pagination import clamp_limit

ACCESS_TOKEN_TTL_SECONDS = 15 * 60
FAILURE_WINDOW_SECONDS = 15 * 60
MAX_FAILURES = 10  # failed token requests per client id per window; the next ones are 429
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class CreatedCredential:
    credential: Credential
    client_secret: str  # shown once: never stored, never logged


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_in: int


def _practice_of(principal: Principal) -> str:
    if principal.role != "admin" or not principal.practice_id:
        raise Forbidden("Only an admin of the practice manages its integration credentials.")
    return principal.practice_id


def create(principal: Principal, name: str, now: datetime) -> CreatedCredential:
    practice_id = _practice_of(principal)
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"Give a name of 1 to {MAX_NAME_LENGTH} characters.", field="name")
    for _attempt in range(3):  # a client id collision (2^-96) is retried with a new one
        secret = oauth.new_client_secret()
        salt = oauth.new_salt()
        credential = Credential(
            practice_id=practice_id,
            credential_id=new_id(),
            client_id=oauth.new_client_id(),
            name=name,
            secret_salt=salt,
            secret_hash=oauth.hash_secret(secret, salt),
            created_at=now,
            revoked_at=None,
        )
        try:
            store.create_credential(credential)
        except Stale:  # the random client id is taken: draw another
            continue
        return CreatedCredential(credential, secret)
    raise RuntimeError("could not allocate a client id")


@dataclass(frozen=True)
class CredentialPage:
    items: list[Credential]
    next_token: str | None


def list_for(principal: Principal, limit: int | None = None, token: str | None = None) -> CredentialPage:
    """Oldest first, `limit` at a time (API.md: default 50, max 200); `next_token` is bound to the practice's list."""
    practice_id = _practice_of(principal)
    scope = PageScope(practice_id, "credentials")
    found, last = store.list_credentials(practice_id, clamp_limit(limit), decode_token(token, scope))
    return CredentialPage(found, encode_token(last, scope))


def revoke(principal: Principal, credential_id: str, now: datetime) -> None:
    """Idempotent: revoking a revoked credential changes nothing (its first revocation time stays)."""
    if not store.revoke_credential(_practice_of(principal), credential_id, now):
        raise NotFound("No such credential.")


def _window(now: datetime) -> tuple[int, datetime]:
    window = int(now.timestamp()) // FAILURE_WINDOW_SECONDS
    return window, datetime.fromtimestamp((window + 1) * FAILURE_WINDOW_SECONDS, tz=now.tzinfo)


def exchange(request: oauth.TokenRequest, now: datetime) -> AccessToken:
    """The client credentials grant: a valid, unrevoked credential gets a token; anything else is invalid_client
    (the same answer for an unknown id, a wrong secret and a revoked credential), TooManyFailures after
    MAX_FAILURES of them in the window (oauth.TooManyFailures)."""
    window, window_end = _window(now)
    retry_after = max(1, int((window_end - now).total_seconds()))
    if store.failures(request.client_id, window) >= MAX_FAILURES:
        raise oauth.TooManyFailures(retry_after)
    credential = _authenticate(request.client_id, request.client_secret)
    if credential is None:
        # The counter outlives its window by a day; reads go by window number, so a late TTL is harmless.
        if not store.count_failure(request.client_id, window, MAX_FAILURES, window_end + timedelta(days=1)):
            raise oauth.TooManyFailures(retry_after)
        raise oauth.OAuthError("invalid_client", "Client authentication failed.", status=401, basic=request.basic)
    principal = Principal(
        sub=credential.client_id,
        role="integration",
        practice_id=credential.practice_id,
        credential_id=credential.credential_id,
    )
    token = issue_token(principal, secrets.get("jwt"), now, ACCESS_TOKEN_TTL_SECONDS)
    return AccessToken(token, ACCESS_TOKEN_TTL_SECONDS)


def _authenticate(client_id: str, client_secret: str) -> Credential | None:
    found = store.find_client(client_id)
    if found is None:
        return None
    credential = store.get_credential(*found)
    if credential is None or not oauth.secret_matches(client_secret, credential.secret_salt, credential.secret_hash):
        return None
    if credential.revoked_at is not None:
        return None
    return credential


def token_is_current(principal: Principal) -> bool:
    """The authorizer's check of an integration token: its credential exists and is not revoked (one GetItem)."""
    if principal.role != "integration":
        return True
    if not principal.credential_id or not principal.practice_id:
        return False  # an integration token not issued by the token endpoint
    credential = store.get_credential(principal.practice_id, principal.credential_id)
    return credential is not None and credential.revoked_at is None
