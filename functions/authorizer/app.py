"""JWT Lambda authorizer of the HTTP API (simple responses).

It always lets the request through to the route's function, with either the verified claims or an
`auth_error`: HTTP API authorizer denials cannot carry API.md's error envelope, so the function answers the
401 itself (frontdesk.http.caller) and every route checks the caller's role.
"""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

import base64
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import secrets
from frontdesk.adapters.clock import get_clock
from frontdesk.auth import POOL_ROLES, InvalidToken, Principal, verify_token

COGNITO_ALGORITHM = "RS256"

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        # R-AUTH-5: without its signing key (or any secret it is given) the authorizer refuses every request (403)
        secrets.check_all()
        secrets.get("jwt")
    except secrets.SecretUnavailable as error:
        logger.error("refusing every request: a secret is unavailable", extra={"reason": str(error)})
        return {"isAuthorized": False}
    header = _authorization_header(event)
    if not header:
        return {"isAuthorized": True, "context": {"auth_error": "missing"}}
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return {"isAuthorized": True, "context": {"auth_error": "malformed"}}
    try:
        principal = _verify(token.strip())
    except InvalidToken as error:
        logger.info("token refused", extra={"reason": str(error)})
        return {"isAuthorized": True, "context": {"auth_error": "invalid"}}
    return {"isAuthorized": True, "context": principal.claims()}


def _verify(token: str) -> Principal:
    """Cognito ID tokens (RS256, staff/admin/support) and our own HS256 tokens (patients) each go to their one
    verifier; each accepts only its own algorithm, so an HS256 token keyed with the pool's public key fails both."""
    now = get_clock().now()
    if _algorithm(token) == COGNITO_ALGORITHM:
        from frontdesk.cognito import get_verifier

        verifier = get_verifier()
        if verifier is None:
            raise InvalidToken("no user pool configured")
        principal = verifier.verify(token, now)
        from frontdesk.services.staff import admit

        if not admit(principal):  # R-AUTH-3: a deactivated member's tokens are refused at once
            raise InvalidToken("member not active")
        return principal
    principal = verify_token(token, secrets.keys("jwt"), now)  # the previous key too, after a rotation
    if principal.role == "integration":
        from frontdesk.services.credentials import token_is_current

        if not token_is_current(principal):  # R-AUTH-4: refused once its credential is revoked
            raise InvalidToken("credential revoked")
    if principal.role in POOL_ROLES:
        raise InvalidToken("staff sign in through the user pool")  # R-AUTH-1: never with a session token
    return principal


def _algorithm(token: str) -> str | None:
    """The `alg` of the token's header, read without trusting it (it only picks the verifier)."""
    head = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return None
    return header.get("alg") if isinstance(header, dict) else None


def _authorization_header(event: dict[str, Any]) -> str | None:
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "authorization":
            return str(value)
    return None


frontdesk.startup.done()
