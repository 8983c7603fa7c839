"""PM/EHR integration client credentials (R-AUTH-4) and the token endpoint's failure counters.

- IntegrationCredential  pk PRACTICE#<p>, sk CREDENTIAL#<credential_id>: name, client id, salted secret hash,
  created_at, revoked_at. Listed with one Query; checked by the authorizer with one GetItem.
- IntegrationClient      pk CLIENT#<client_id>, sk CLIENT: which practice and credential a client id names (the
  token request names only the client, like NUMBER# for inbound texts). Written once, with the credential, in
  one transaction; never changed.
- TokenFailures          pk TOKENFAILURES#<hash of client id>, sk WINDOW#<n>: failed token requests of a client
  id in one fixed window (conditional counter, TTL).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from frontdesk.domain.credentials import Credential
from frontdesk.errors import Stale, ValidationFailed
from frontdesk.store import keys
from frontdesk.store.base import TableItem, cancellation_codes, transaction

CREDENTIAL_PREFIX = "CREDENTIAL#"


class CredentialItem(TableItem, discriminator="IntegrationCredential"):
    practice_id = UnicodeAttribute()
    credential_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    name = UnicodeAttribute()
    secret_salt = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(practice_id: str, credential_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), f"{CREDENTIAL_PREFIX}{credential_id}"


class ClientItem(TableItem, discriminator="IntegrationClient"):
    practice_id = UnicodeAttribute()
    credential_id = UnicodeAttribute()

    @staticmethod
    def key(client_id: str) -> tuple[str, str]:
        return f"CLIENT#{client_id}", "CLIENT"


class TokenFailuresItem(TableItem, discriminator="TokenFailures"):
    failures = NumberAttribute(default=0)

    @staticmethod
    def key(client_id: str, window: int) -> tuple[str, str]:
        # Hashed: the client id is whatever a caller sent (bounded length, no control over its characters).
        digest = hashlib.sha256(client_id.encode("utf-8", "replace")).hexdigest()[:32]
        return f"TOKENFAILURES#{digest}", f"WINDOW#{window}"


def _credential(item: CredentialItem) -> Credential:
    return Credential(
        practice_id=item.practice_id,
        credential_id=item.credential_id,
        client_id=item.client_id,
        name=item.name,
        secret_salt=item.secret_salt,
        secret_hash=item.secret_hash,
        created_at=item.created_at,
        revoked_at=item.revoked_at,
    )


def create_credential(credential: Credential) -> None:
    """The credential and its client id look-up together, or neither (a client id is never reused)."""
    pk, sk = CredentialItem.key(credential.practice_id, credential.credential_id)
    item = CredentialItem(
        pk,
        sk,
        practice_id=credential.practice_id,
        credential_id=credential.credential_id,
        client_id=credential.client_id,
        name=credential.name,
        secret_salt=credential.secret_salt,
        secret_hash=credential.secret_hash,
        created_at=credential.created_at,
    )
    client_pk, client_sk = ClientItem.key(credential.client_id)
    client = ClientItem(
        client_pk, client_sk, practice_id=credential.practice_id, credential_id=credential.credential_id
    )
    try:
        with transaction() as tx:
            tx.save(item, condition=CredentialItem.pk.does_not_exist())
            tx.save(client, condition=ClientItem.pk.does_not_exist())
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in cancellation_codes(error):
            raise Stale("the client id is taken") from None
        raise


def list_credentials(
    practice_id: str, limit: int, after: dict[str, Any] | None = None
) -> tuple[list[Credential], dict[str, Any] | None]:
    """One page, oldest first (created_at, then credential id), from after the position `after` (what the previous
    page returned; None: the first page); the position to continue from, or None after the last page.

    The ids are random, so the table's order is not the list's: each page is one Query of the practice's
    credentials (a practice has a handful), sorted, and cut after the position."""
    found = CredentialItem.query(
        keys.practice_pk(practice_id),
        CredentialItem.sk.startswith(CREDENTIAL_PREFIX),
        consistent_read=True,
    )
    ordered = sorted((_credential(item) for item in found), key=_position)
    if after is not None:
        start = _position_of(after)
        ordered = [c for c in ordered if _position(c) > start]
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, None
    last = page[-1]
    return page, {"created_at": last.created_at.isoformat(), "credential_id": last.credential_id}


def _position(credential: Credential) -> tuple[datetime, str]:
    return credential.created_at, credential.credential_id


def _position_of(after: dict[str, Any]) -> tuple[datetime, str]:
    try:
        created_at, credential_id = datetime.fromisoformat(after["created_at"]), after["credential_id"]
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed("next_token is not valid.", field="next_token") from None
    if not isinstance(credential_id, str) or created_at.tzinfo is None:
        raise ValidationFailed("next_token is not valid.", field="next_token")
    return created_at, credential_id


def get_credential(practice_id: str, credential_id: str) -> Credential | None:
    try:
        return _credential(CredentialItem.get(*CredentialItem.key(practice_id, credential_id), consistent_read=True))
    except DoesNotExist:
        return None


def find_client(client_id: str) -> tuple[str, str] | None:
    """(practice_id, credential_id) of a client id, or None."""
    try:
        item = ClientItem.get(*ClientItem.key(client_id), consistent_read=True)
    except DoesNotExist:
        return None
    return item.practice_id, item.credential_id


def revoke_credential(practice_id: str, credential_id: str, now: datetime) -> bool:
    """Marks the credential revoked (the first revocation's time is kept); False if there is no such credential."""
    pk, sk = CredentialItem.key(practice_id, credential_id)
    item = CredentialItem(pk, sk)
    try:
        item.update(
            actions=[CredentialItem.revoked_at.set(CredentialItem.revoked_at | now)],
            condition=CredentialItem.pk.exists(),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def failures(client_id: str, window: int) -> int:
    try:
        item = TokenFailuresItem.get(*TokenFailuresItem.key(client_id, window), consistent_read=True)
    except DoesNotExist:
        return 0
    return int(item.failures or 0)


def count_failure(client_id: str, window: int, limit: int, expires_at: datetime) -> bool:
    """Adds one failure to the window's counter unless it already holds `limit`; False when it did (429)."""
    pk, sk = TokenFailuresItem.key(client_id, window)
    item = TokenFailuresItem(pk, sk)
    try:
        item.update(
            actions=[
                TokenFailuresItem.failures.add(1),
                TokenFailuresItem.item_type.set(TokenFailuresItem),
                TokenFailuresItem.expires_ttl.set(expires_at),
            ],
            condition=TokenFailuresItem.failures.does_not_exist() | (TokenFailuresItem.failures < limit),
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
