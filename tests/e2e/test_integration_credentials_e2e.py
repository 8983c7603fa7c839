"""R-AUTH-4 over HTTP through the runner: an admin creates a PM credential, a standard OAuth 2.0 client library
(authlib) exchanges it for a token at POST /integrations/token, the PM routes accept that token, and revocation
shuts both the exchange and the tokens already issued."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from tests.support import Api

pytestmark = pytest.mark.e2e
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _credential(api: Api, practice: dict[str, Any], name: str = "Athena feed") -> dict[str, Any]:
    reply = api.call("POST", "/integrations/credentials", practice["admin"], {"name": name})
    assert reply.status == 201, reply
    return dict(reply.body)


def _locations(api: Api, token: str) -> Any:
    return api.call("PUT", "/integrations/pm/locations", token, {"items": [{"location_id": "l1", "name": "Main"}]})


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_r_auth_4_a_standard_oauth_client_gets_a_token_the_pm_routes_accept(api: Api, auth_method: str) -> None:
    # Given a practice with PM integration and a credential its admin created
    practice = api.new_practice(pm=True)
    created = _credential(api, practice)
    assert set(created) == {"credential_id", "client_id", "client_secret", "name", "created_at"}
    # When authlib's OAuth2Session fetches a token with the client credentials grant
    client = OAuth2Session(created["client_id"], created["client_secret"], token_endpoint_auth_method=auth_method)
    token = client.fetch_token(api.base + "/integrations/token", grant_type="client_credentials")
    # Then it is a Bearer token, short-lived, that the PM routes accept
    assert token["token_type"] == "Bearer" and 0 < token["expires_in"] <= 900
    reply = _locations(api, token["access_token"])
    assert reply.status == 200, reply


def test_r_auth_4_json_body_and_the_token_answer_is_never_cached(api: Api) -> None:
    created = _credential(api, api.new_practice(pm=True))
    body = {
        "grant_type": "client_credentials",
        "client_id": created["client_id"],
        "client_secret": created["client_secret"],
    }
    reply = api.call("POST", "/integrations/token", body=body)
    assert reply.status == 200, reply
    assert set(reply.body) == {"access_token", "token_type", "expires_in"}
    assert reply.headers.get("Cache-Control") == "no-store"


def test_r_auth_4_errors_are_answered_the_rfc_6749_way(api: Api) -> None:
    created = _credential(api, api.new_practice(pm=True))
    cid, secret = created["client_id"], created["client_secret"]
    basic = "Basic " + base64.b64encode(f"{cid}:wrong".encode()).decode()
    cases = {
        "no grant_type": (f"client_id={cid}&client_secret={secret}", {}, 400, "invalid_request"),
        "password grant": (
            f"grant_type=password&client_id={cid}&client_secret={secret}",
            {},
            400,
            "unsupported_grant_type",
        ),
        "wrong secret in body": (
            f"grant_type=client_credentials&client_id={cid}&client_secret=x",
            {},
            401,
            "invalid_client",
        ),
        "wrong secret in Basic": ("grant_type=client_credentials", {"Authorization": basic}, 401, "invalid_client"),
        "no client": ("grant_type=client_credentials", {}, 401, "invalid_client"),
    }
    for case, (body, headers, status, error) in cases.items():
        reply = api.call("POST", "/integrations/token", data=body.encode(), headers={**FORM, **headers})
        assert (reply.status, reply.body.get("error")) == (status, error), (case, reply)
        assert reply.headers.get("Cache-Control") == "no-store"
        if status == 401:
            assert reply.headers.get("WWW-Authenticate", "").startswith("Basic"), case
    # And authlib understands the error
    client = OAuth2Session(cid, "wrong", token_endpoint_auth_method="client_secret_basic")
    with pytest.raises(OAuthError) as caught:
        client.fetch_token(api.base + "/integrations/token", grant_type="client_credentials")
    assert caught.value.error == "invalid_client"


def test_r_auth_4_revocation_refuses_new_tokens_and_the_ones_already_issued(api: Api) -> None:
    # Given a credential and a token it got
    practice = api.new_practice(pm=True)
    created = _credential(api, practice)
    client = OAuth2Session(created["client_id"], created["client_secret"])
    token = client.fetch_token(api.base + "/integrations/token", grant_type="client_credentials")["access_token"]
    assert _locations(api, token).status == 200
    # When the admin revokes the credential
    revoked = api.call("DELETE", f"/integrations/credentials/{created['credential_id']}", practice["admin"])
    assert revoked.status == 204
    # Then the token it already had is refused at once (well within R-AUTH-4's 5 minutes)
    refused = _locations(api, token)
    assert (refused.status, refused.error_code) == (401, "unauthenticated")
    # And it gets no new token
    with pytest.raises(OAuthError) as caught:
        client.fetch_token(api.base + "/integrations/token", grant_type="client_credentials")
    assert caught.value.error == "invalid_client"
    # And the listing shows it revoked, and never shows a secret
    listed = api.call("GET", "/integrations/credentials", practice["admin"])
    assert listed.status == 200
    [item] = listed.body["items"]
    assert item["credential_id"] == created["credential_id"] and item["revoked_at"]
    assert "client_secret" not in item and created["client_secret"] not in str(listed.body)
    # And revoking again is still 204; an unknown id is 404
    assert api.call("DELETE", f"/integrations/credentials/{created['credential_id']}", practice["admin"]).status == 204
    assert api.call("DELETE", "/integrations/credentials/ffff0000", practice["admin"]).status == 404


def test_r_auth_4_brute_force_of_the_token_endpoint_is_429(api: Api) -> None:
    from frontdesk.services.credentials import MAX_FAILURES

    created = _credential(api, api.new_practice(pm=True))
    wrong = f"grant_type=client_credentials&client_id={created['client_id']}&client_secret=guess".encode()
    statuses = [api.call("POST", "/integrations/token", data=wrong, headers=FORM).status for _ in range(MAX_FAILURES)]
    assert statuses == [401] * MAX_FAILURES
    # Then the right secret is refused too until the window ends
    right = f"grant_type=client_credentials&client_id={created['client_id']}&client_secret={created['client_secret']}"
    reply = api.call("POST", "/integrations/token", data=right.encode(), headers=FORM)
    assert (reply.status, reply.body.get("error")) == (429, "too_many_attempts")
    assert int(reply.headers["Retry-After"]) > 0
    # And after the window (the runner's clock moves) it works again
    api.call("POST", "/_local/clock", body={"advance_seconds": 15 * 60})
    assert api.call("POST", "/integrations/token", data=right.encode(), headers=FORM).status == 200


def test_r_auth_4_an_integration_token_signed_with_the_key_but_without_a_credential_is_refused(api: Api) -> None:
    # Given a token that carries role=integration, signed with the runner's real key (read from its Secrets
    # Manager, as whoever held the key could), but never issued for a credential
    import boto3
    import jwt

    from frontdesk.adapters.clock import parse_iso
    from infra.local.secrets import LOCAL_PREFIX

    config = api.config()
    manager = boto3.client("secretsmanager", endpoint_url=config["cognito_endpoint"], region_name="us-east-1")
    key = manager.get_secret_value(SecretId=LOCAL_PREFIX + "JwtSecret")["SecretString"]
    practice = api.new_practice(pm=True)
    now = int(parse_iso(config["now"]).timestamp())
    claims = {"sub": "pm", "role": "integration", "practice_id": practice["practice_id"], "iat": now, "exp": now + 600}
    forged = jwt.encode(claims, key, algorithm="HS256")
    # When it calls a PM route: refused, since the authorizer checks the credential of every integration token
    assert _locations(api, forged).status == 401
    # (the same key with a credential that exists works: the refusal is about the credential, not the key)
    created = _credential(api, practice)
    claims["credential_id"] = created["credential_id"]
    assert _locations(api, jwt.encode(claims, key, algorithm="HS256")).status == 200


def test_r_auth_4_the_token_route_needs_no_bearer_and_ignores_none(api: Api) -> None:
    reply = requests.post(api.base + "/integrations/token", data={"grant_type": "client_credentials"}, timeout=30)
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"
