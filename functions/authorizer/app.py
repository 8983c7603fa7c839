"""JWT Lambda authorizer of the HTTP API (simple responses).

It always lets the request through to the route's function, with either the verified claims or an
`auth_error`: HTTP API authorizer denials cannot carry API.md's error envelope, so the function answers the
401 itself (frontdesk.http.caller) and every route checks the caller's role.
"""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.adapters.clock import get_clock
from frontdesk.auth import InvalidToken, verify_token
from frontdesk.settings import get_settings

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    header = _authorization_header(event)
    if not header:
        return {"isAuthorized": True, "context": {"auth_error": "missing"}}
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return {"isAuthorized": True, "context": {"auth_error": "malformed"}}
    try:
        principal = verify_token(token.strip(), get_settings().jwt_secret, get_clock().now())
    except InvalidToken as error:
        logger.info("token refused", extra={"reason": str(error)})
        return {"isAuthorized": True, "context": {"auth_error": "invalid"}}
    return {"isAuthorized": True, "context": principal.claims()}


def _authorization_header(event: dict[str, Any]) -> str | None:
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "authorization":
            return str(value)
    return None


frontdesk.startup.done()
