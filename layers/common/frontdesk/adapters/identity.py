"""Identity adapter: the stack's Cognito user pool (R-AUTH-1..3).

In AWS, Cognito emails the invitation and its temporary password itself. Locally the pool lives in moto's
`cognito-idp`, which sends no email: the local directory makes the same calls with `MessageAction=SUPPRESS` and
an explicit `TemporaryPassword` (moto would otherwise keep no password we could tell the member), and records
what Cognito would have emailed in a mailbox (GET /_local/mail).
"""

from __future__ import annotations

import contextlib
import secrets
import string
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from frontdesk.adapters.clock import get_clock, iso
from frontdesk.auth import POOL_ROLES
from frontdesk.errors import Conflict, ValidationFailed

INVITATION_SUBJECT = "Your temporary password"


@dataclass(frozen=True)
class MailEntry:
    to: str
    subject: str
    temporary_password: str | None
    sent_at: str
    staff_id: str | None = None  # the runner's own bookkeeping (which user a staff id is), never shown

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"to": self.to, "subject": self.subject, "sent_at": self.sent_at}
        if self.temporary_password is not None:
            entry["temporary_password"] = self.temporary_password
        return entry


class LocalMailbox:
    """What the identity provider would have emailed (invitations), for developers and tests."""

    def __init__(self) -> None:
        self._entries: list[MailEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: MailEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def messages(self, to: str | None = None) -> list[MailEntry]:
        with self._lock:
            return [e for e in self._entries if to is None or e.to.lower() == to.lower()]

    def email_of(self, staff_id: str) -> str | None:
        with self._lock:
            return next((e.to for e in reversed(self._entries) if e.staff_id == staff_id), None)


LOCAL_MAILBOX = LocalMailbox()


def temporary_password() -> str:
    """Meets the pool's policy (length 14, upper, lower, digit, symbol)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(16))
    return body + secrets.choice(string.ascii_uppercase) + secrets.choice(string.digits) + "a!"


class CognitoDirectory:
    """Admin operations on the user pool; users are addressed by their email (the pool's user name)."""

    def __init__(self, user_pool_id: str, client: Any, local: bool) -> None:
        self.user_pool_id = user_pool_id
        self._client = client
        self._local = local

    def invite(self, email: str, role: str, practice_id: str | None, staff_id: str | None) -> None:
        """Creates the user in the role's group; the provider sends the temporary password. 409 if the email
        is taken. A user never stays half-made: if the group cannot be set, the user is deleted again."""
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if practice_id:
            attributes.append({"Name": "custom:practice_id", "Value": practice_id})
        if staff_id:
            attributes.append({"Name": "custom:staff_id", "Value": staff_id})
        request: dict[str, Any] = {
            "UserPoolId": self.user_pool_id,
            "Username": email,
            "UserAttributes": attributes,
            "DesiredDeliveryMediums": ["EMAIL"],
        }
        password = None
        if self._local:
            password = temporary_password()
            request.update(MessageAction="SUPPRESS", TemporaryPassword=password)
        try:
            self._client.admin_create_user(**request)
        except self._client.exceptions.UsernameExistsException:
            raise Conflict("A user with that email already exists.", field="email", code="email_taken") from None
        except self._client.exceptions.InvalidParameterException:
            # The pool's own check of the address (stricter than ours): bad input, a 400 (never echoed).
            raise ValidationFailed("A valid email address is required.", field="email") from None
        try:
            self._client.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=email, GroupName=role)
        except Exception:
            self.remove(email)
            raise
        if self._local:
            LOCAL_MAILBOX.record(
                MailEntry(
                    to=email,
                    subject=INVITATION_SUBJECT,
                    temporary_password=password,
                    sent_at=iso(get_clock().now()),
                    staff_id=staff_id,
                )
            )

    def remove(self, email: str) -> None:
        with contextlib.suppress(self._client.exceptions.UserNotFoundException):  # already gone
            self._client.admin_delete_user(UserPoolId=self.user_pool_id, Username=email)

    def disable(self, email: str) -> None:
        """No more sign-in, and every refresh token revoked (R-AUTH-3); ID tokens are refused by the authorizer."""
        self._client.admin_disable_user(UserPoolId=self.user_pool_id, Username=email)
        self._client.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=email)

    def enable(self, email: str) -> None:
        self._client.admin_enable_user(UserPoolId=self.user_pool_id, Username=email)

    def set_role(self, email: str, role: str) -> None:
        """The new group first, then out of the others: a failure half-way leaves the member in both groups,
        and the strongest wins (never locked out, and a retry finishes it)."""
        self._client.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=email, GroupName=role)
        for group in POOL_ROLES:
            if group != role and group != "support":
                self._client.admin_remove_user_from_group(UserPoolId=self.user_pool_id, Username=email, GroupName=group)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _directory() -> CognitoDirectory:
    from frontdesk.adapters import aws
    from frontdesk.settings import get_settings

    settings = get_settings()
    if not settings.user_pool_id:
        raise RuntimeError("USER_POOL_ID is not configured")
    client = aws.client("cognito-idp", region_name=settings.region, endpoint_url=settings.cognito_endpoint)
    return CognitoDirectory(settings.user_pool_id, client, settings.is_local)


def get_directory() -> CognitoDirectory:
    with _lock:
        return _directory()
