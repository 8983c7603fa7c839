"""JWTs (HS256): issuing, verifying, and the caller's identity as handlers see it (R-SEC-1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

POOL_ROLES = ("support", "admin", "staff")
"""The roles that sign in through the stack's Cognito user pool (R-AUTH-1), one group each in template.yaml, strongest
first: a user in several groups has the strongest (the groups' precedence). The one list of them: the token check,
the authorizer, the identity adapter and the local runner read it."""
ROLES = ("patient", *POOL_ROLES, "integration")
STAFF_ROLES = frozenset({"staff", "admin"})


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    practice_id: str | None
    staff_id: str | None = None
    patient_id: str | None = None
    credential_id: str | None = None  # integration: the client credential the token was issued for (R-AUTH-4)

    def claims(self) -> dict[str, str]:
        claims = {"sub": self.sub, "role": self.role}
        for name in ("practice_id", "staff_id", "patient_id", "credential_id"):
            value = getattr(self, name)
            if value:
                claims[name] = value
        return claims

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal | None:
        role = claims.get("role")
        sub = claims.get("sub")
        if role not in ROLES or not isinstance(sub, str) or not sub:
            return None
        practice_id = claims.get("practice_id") or None
        if role != "support" and not practice_id:
            return None
        if role == "patient" and not claims.get("patient_id"):
            return None
        if role in STAFF_ROLES and not claims.get("staff_id"):
            return None
        return cls(
            sub=sub,
            role=role,
            practice_id=practice_id,
            staff_id=claims.get("staff_id") or None,
            patient_id=claims.get("patient_id") or None,
            credential_id=claims.get("credential_id") or None,
        )


class InvalidToken(Exception):
    pass


def issue_token(principal: Principal, secret: str, now: datetime, ttl_seconds: int) -> str:
    import jwt

    payload: dict[str, Any] = dict(principal.claims())
    payload["iat"] = int(now.timestamp())
    payload["exp"] = int(now.timestamp()) + ttl_seconds
    return jwt.encode(payload, secret, algorithm="HS256")


def verify_token(token: str, secret: str | Sequence[str], now: datetime) -> Principal:
    """Signature, expiry and claims. Time checks use our clock (the local one moves), not PyJWT's wall clock.
    Several keys: the current one, then the one before the last rotation (frontdesk.secrets.keys)."""
    import jwt

    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys or not all(keys):
        raise InvalidToken("no signing secret configured")
    claims: dict[str, Any] = {}
    for position, key in enumerate(keys):
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["exp"]},
            )
            break
        except jwt.InvalidSignatureError:
            if position == len(keys) - 1:
                raise InvalidToken("InvalidSignatureError") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from None
    if int(claims["exp"]) <= int(now.timestamp()):
        raise InvalidToken("expired")
    principal = Principal.from_claims(claims)
    if principal is None:
        raise InvalidToken("claims")
    return principal
