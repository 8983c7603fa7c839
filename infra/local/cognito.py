"""The local user pool: template.yaml's Cognito pool, app client and groups in moto's `cognito-idp` (R-AUTH-1).

The runner creates them as it creates the table, in the moto server it already runs; functions reach the pool
through the same boto3 calls as in AWS (COGNITO_ENDPOINT), and the authorizer fetches the pool's JWKS from moto.
Differences from AWS, each forced by moto: MFA is off locally (API.md allows it), moto sends no email (the local
identity adapter records invitations, GET /_local/mail), and moto's token `iss` is the AWS URL while its JWKS is
served at the local endpoint, so both are configured. moto stamps tokens with `time.time()`: here it reads the
runner's movable clock instead, so a token issued after `POST /_local/clock` is valid by the authorizer's clock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from infra.template import load_template

REGION = "us-east-1"
LOCAL_PASSWORD = "Local-Runner-Passw0rd!"  # the password the runner gives users it signs in (meets the policy)
LOCAL_DOMAIN = "local.frontdesk.invalid"
MOTO_TOKEN_SECONDS = 3600  # moto issues every token for an hour


@dataclass(frozen=True)
class LocalPool:
    endpoint: str
    user_pool_id: str
    client_id: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.user_pool_id}/.well-known/jwks.json"

    def environment(self) -> dict[str, str]:
        return {
            "USER_POOL_ID": self.user_pool_id,
            "USER_POOL_CLIENT_ID": self.client_id,
            "COGNITO_ENDPOINT": self.endpoint,
            "COGNITO_ISSUER": self.issuer,
            "COGNITO_JWKS_URL": self.jwks_url,
        }


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [dict(r.get("Properties", {})) for r in template["Resources"].values() if r.get("Type") == kind]


def pool_request(properties: dict[str, Any]) -> dict[str, Any]:
    """CreateUserPool's parameters from the template's AWS::Cognito::UserPool (names match but for the pool's)."""
    request: dict[str, Any] = {"PoolName": "frontdesk-local-staff"}
    for name in (
        "UsernameAttributes",
        "UsernameConfiguration",
        "AutoVerifiedAttributes",
        "AdminCreateUserConfig",
        "Policies",
        "AccountRecoverySetting",
        "Schema",
    ):
        if name in properties:
            request[name] = properties[name]
    request["MfaConfiguration"] = "OFF"  # locally MFA may be off (API.md): no authenticator app in tests
    return request


def client_request(properties: dict[str, Any], user_pool_id: str) -> dict[str, Any]:
    request: dict[str, Any] = {"UserPoolId": user_pool_id, "ClientName": properties.get("ClientName", "local")}
    for name in (
        "GenerateSecret",
        "ExplicitAuthFlows",
        "PreventUserExistenceErrors",
        "EnableTokenRevocation",
        "IdTokenValidity",
        "AccessTokenValidity",
        "RefreshTokenValidity",
        "TokenValidityUnits",
        "ReadAttributes",
        "WriteAttributes",
    ):
        if name in properties:
            request[name] = properties[name]
    return request


def create_pool(endpoint: str, template: dict[str, Any] | None = None) -> LocalPool:
    """The pool, its client and its groups as template.yaml declares them; returns their ids."""
    import boto3

    template = template or load_template()
    pools = _resources(template, "AWS::Cognito::UserPool")
    clients = _resources(template, "AWS::Cognito::UserPoolClient")
    if len(pools) != 1 or len(clients) != 1:
        raise RuntimeError("template.yaml must declare exactly one user pool and one app client")
    cognito = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=REGION)
    pool_id = cognito.create_user_pool(**pool_request(pools[0]))["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(**client_request(clients[0], pool_id))["UserPoolClient"]["ClientId"]
    for group in _resources(template, "AWS::Cognito::UserPoolGroup"):
        cognito.create_group(UserPoolId=pool_id, GroupName=group["GroupName"], Precedence=group.get("Precedence", 0))
    return LocalPool(endpoint, pool_id, client_id)


class _RunnerTime:
    """Stands in for the `time` module in moto's cognito-idp models: tokens are stamped by the runner's clock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        from frontdesk.adapters.clock import LOCAL_CLOCK

        return LOCAL_CLOCK.now().timestamp() + self.offset


_TIME = _RunnerTime()
_mint_lock = threading.Lock()


def use_runner_clock() -> None:
    import moto.cognitoidp.models as models

    models.time = _TIME  # type: ignore[assignment]


def configure(endpoint: str) -> LocalPool:
    """Creates the pool, gives moto the runner's clock, and points the functions at the pool."""
    global POOL
    pool = create_pool(endpoint)
    use_runner_clock()
    os.environ.update(pool.environment())
    POOL = pool
    return pool


POOL: LocalPool | None = None  # the runner's pool, once configure() made it


class SignInRefused(Exception):
    pass


def sign_in(
    role: str,
    practice_id: str | None,
    staff_id: str | None,
    ttl_seconds: int | None = None,
) -> str:
    """POST /_local/tokens for staff, admin and support: the user of that staff id (the invited one, or one made
    now), signed in through the pool with USER_PASSWORD_AUTH; the ID token, exactly as a front end would get it.
    `ttl_seconds` other than moto's hour shifts the clock moto stamps this one token with."""
    import boto3

    from frontdesk.adapters.identity import LOCAL_MAILBOX

    pool = POOL
    if pool is None:
        raise RuntimeError("the local user pool is not configured")
    cognito = boto3.client("cognito-idp", endpoint_url=pool.endpoint, region_name=REGION)
    email = LOCAL_MAILBOX.email_of(staff_id) if staff_id else None
    if email is None:
        email = f"{role}-{staff_id or 'local'}-{practice_id or 'all'}@{LOCAL_DOMAIN}".lower()
        _ensure_user(cognito, pool, email, role, practice_id, staff_id)
    cognito.admin_set_user_password(
        UserPoolId=pool.user_pool_id, Username=email, Password=LOCAL_PASSWORD, Permanent=True
    )
    with _mint_lock:
        _TIME.offset = float(ttl_seconds - MOTO_TOKEN_SECONDS) if ttl_seconds is not None else 0.0
        try:
            answer = cognito.initiate_auth(
                ClientId=pool.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": LOCAL_PASSWORD},
            )
        except cognito.exceptions.NotAuthorizedException:
            raise SignInRefused("the user pool refused the sign-in (a deactivated member?)") from None
        finally:
            _TIME.offset = 0.0
    return str(answer["AuthenticationResult"]["IdToken"])


def _ensure_user(
    cognito: Any, pool: LocalPool, email: str, role: str, practice_id: str | None, staff_id: str | None
) -> None:
    attributes = [{"Name": "email", "Value": email}]
    if practice_id:
        attributes.append({"Name": "custom:practice_id", "Value": practice_id})
    if staff_id:
        attributes.append({"Name": "custom:staff_id", "Value": staff_id})
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):  # made by an earlier request
        cognito.admin_create_user(
            UserPoolId=pool.user_pool_id,
            Username=email,
            UserAttributes=attributes,
            MessageAction="SUPPRESS",
            TemporaryPassword=LOCAL_PASSWORD,
        )
    cognito.admin_add_user_to_group(UserPoolId=pool.user_pool_id, Username=email, GroupName=role)


# ----- the runner's /_local surface (infra/local/server.py) -----


def mint_response(payload: dict[str, Any]) -> tuple[int, Any]:
    """POST /_local/tokens for the roles that sign in through the pool."""
    ttl = payload.get("ttl_seconds")
    try:
        token = sign_in(
            str(payload["role"]),
            payload.get("practice_id") or None,
            payload.get("staff_id") or None,
            int(ttl) if ttl is not None else None,
        )
    except SignInRefused as refused:
        return 403, {"error": {"code": "sign_in_refused", "message": str(refused)}}
    return 200, {"token": token}


def mail_response(query: str) -> tuple[int, Any]:
    """GET /_local/mail?to=: what Cognito would have emailed."""
    from urllib.parse import parse_qs

    from frontdesk.adapters.identity import LOCAL_MAILBOX

    to = next(iter(parse_qs(query).get("to") or []), None)
    return 200, {"items": [entry.as_dict() for entry in LOCAL_MAILBOX.messages(to)]}


def config() -> dict[str, str]:
    """GET /_local/config's user pool fields."""
    if POOL is None:
        return {}
    return {"user_pool_id": POOL.user_pool_id, "user_pool_client_id": POOL.client_id, "cognito_endpoint": POOL.endpoint}
