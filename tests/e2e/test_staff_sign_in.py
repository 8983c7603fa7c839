"""R-AUTH-1..3 over HTTP through the runner: invitations through the local user pool, sign-in with boto3's
cognito-idp exactly as a front end does it in AWS, the staff lifecycle and the authorizer's refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import boto3
import pytest
import requests

from tests.support import Api, unique_email

pytestmark = pytest.mark.e2e
NEW_PASSWORD = "Chosen-by-the-member-42!"
HS256_HEADER = json.dumps({"alg": "HS256", "kid": "dummy"}).encode()


def _cognito(api: Api) -> tuple[Any, str]:
    config = api.config()
    client = boto3.client("cognito-idp", endpoint_url=config["cognito_endpoint"], region_name="us-east-1")
    return client, config["user_pool_client_id"]


def _invite(api: Api, practice: dict[str, Any], role: str = "staff") -> tuple[str, str]:
    email = unique_email("invited")
    reply = api.call("POST", "/staff", practice["admin"], {"name": "Ivy Invited", "email": email, "role": role})
    assert reply.status == 201, reply
    return reply.body["staff_id"], email


def _first_sign_in(api: Api, email: str) -> str:
    """What a front end does with the invitation: password auth, then the NEW_PASSWORD_REQUIRED challenge."""
    client, client_id = _cognito(api)
    mail = api.call("GET", f"/_local/mail?to={email}").body["items"]
    assert len(mail) == 1 and mail[0]["temporary_password"]
    started = client.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": mail[0]["temporary_password"]},
    )
    assert started["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    answered = client.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=started["Session"],
        ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": NEW_PASSWORD},
    )
    return str(answered["AuthenticationResult"]["IdToken"])


def _sign_in(api: Api, email: str) -> str:
    client, client_id = _cognito(api)
    answer = client.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": NEW_PASSWORD}
    )
    return str(answer["AuthenticationResult"]["IdToken"])


def _members(api: Api, token: str) -> dict[str, dict[str, Any]]:
    reply = api.call("GET", "/staff", token)
    assert reply.status == 200, reply
    return {m["staff_id"]: m for m in reply.body["items"]}


def test_r_auth_2_invited_member_signs_in_with_boto3_and_calls_the_api(api: Api) -> None:
    # Given an admin who invites a member
    practice = api.new_practice()
    staff_id, email = _invite(api, practice)
    # Then the member is listed as invited and the identity provider "emailed" a temporary password
    assert _members(api, practice["admin"])[staff_id]["status"] == "invited"
    # When the member signs in with boto3's cognito-idp (USER_PASSWORD_AUTH, NEW_PASSWORD_REQUIRED)
    token = _first_sign_in(api, email)
    # Then the ID token works on the API, with the member's role, practice and staff id
    listed = _members(api, token)
    assert listed[staff_id]["role"] == "staff" and listed[staff_id]["email"] == email
    # And the member is active from that first request
    assert _members(api, practice["admin"])[staff_id]["status"] == "active"
    # And the token carries no right the role lacks (R-SEC-1)
    assert api.call("POST", "/inboxes", token, {"name": "Refills"}).status == 403


def test_r_auth_2_an_email_already_used_is_409_email_taken_and_leaves_no_record(api: Api) -> None:
    practice = api.new_practice()
    staff_id, email = _invite(api, practice)
    other = api.new_practice()
    again = api.call("POST", "/staff", other["admin"], {"name": "Ivy Again", "email": email})
    assert again.status == 409 and again.error_code == "email_taken"
    # Neither practice gained a record: the refused invitation's record was removed again (R-AUTH-2)
    assert set(_members(api, other["admin"])) == {other["admin_id"]}
    assert set(_members(api, practice["admin"])) == {practice["admin_id"], staff_id}


def test_r_auth_2_an_address_the_user_pool_refuses_is_400_and_leaves_no_record(api: Api) -> None:
    practice = api.new_practice()
    for email in ("ivy@localhost", "ivy@example.c"):  # pass our first check, not the pool's
        reply = api.call("POST", "/staff", practice["admin"], {"name": "Ivy", "email": email})
        assert reply.status == 400 and reply.body["error"]["field"] == "email", reply
        assert email not in reply.body["error"]["message"]
    assert set(_members(api, practice["admin"])) == {practice["admin_id"]}


def test_r_auth_3_deactivated_member_is_refused_and_their_conversations_go_back_to_unassigned(api: Api) -> None:
    # Given a member who signed in and holds a conversation
    practice = api.new_practice()
    staff_id, email = _invite(api, practice)
    token = _first_sign_in(api, email)
    patient = api.new_patient(practice)
    conversation_id = patient["conversation_id"]
    held = api.call("POST", f"/conversations/{conversation_id}/assign", practice["admin"], {"staff_id": staff_id})
    assert held.status == 200, held
    assert api.call("GET", "/inboxes/mine/conversations", token).status == 200
    # When the admin deactivates them
    reply = api.call("POST", f"/staff/{staff_id}/deactivate", practice["admin"], {})
    assert reply.status == 200 and reply.body == {"staff_id": staff_id, "status": "deactivated"}
    # Then their token is refused at once (well within 5 minutes) and they cannot sign in again
    refused = api.call("GET", "/inboxes/mine/conversations", token)
    assert refused.status == 401 and refused.error_code == "unauthenticated"
    client, client_id = _cognito(api)
    with pytest.raises(client.exceptions.NotAuthorizedException):
        _sign_in(api, email)
    # And the conversation is back in Unassigned with a staff_deactivated system message
    conversation = api.call("GET", f"/conversations/{conversation_id}", practice["admin"]).body
    assert conversation["holder"]["type"] == "unassigned"
    assert [m.get("kind") for m in conversation["messages"]][-1] == "staff_deactivated"
    assert _members(api, practice["admin"])[staff_id]["status"] == "deactivated"
    # When the admin reactivates them, Then they sign in and work again
    again = api.call("POST", f"/staff/{staff_id}/reactivate", practice["admin"], {})
    assert again.status == 200 and again.body == {"staff_id": staff_id, "status": "active"}
    assert api.call("GET", "/inboxes/mine/conversations", _sign_in(api, email)).status == 200


def test_r_auth_3_admin_cannot_deactivate_themselves_nor_staff_of_another_practice(api: Api) -> None:
    practice = api.new_practice()
    mine = api.call("POST", f"/staff/{practice['admin_id']}/deactivate", practice["admin"], {})
    assert mine.status == 409 and mine.error_code == "cannot_deactivate_self"
    other = api.new_practice()
    theirs = api.call("POST", f"/staff/{other['admin_id']}/deactivate", practice["admin"], {})
    assert theirs.status == 404
    assert api.call("GET", "/staff", other["admin"]).body["items"][0]["status"] != "deactivated"


def test_r_auth_3_support_deactivates_in_any_practice_naming_it(api: Api) -> None:
    practice = api.new_practice()
    staff_id, _ = _invite(api, practice)
    support = api.token("support")
    unnamed = api.call("POST", f"/staff/{staff_id}/deactivate", support, {})
    assert unnamed.status == 400 and unnamed.body["error"]["field"] == "practice_id"
    named = api.call("POST", f"/staff/{staff_id}/deactivate", support, {"practice_id": practice["practice_id"]})
    assert named.status == 200 and named.body["status"] == "deactivated"
    listed = api.call("GET", f"/staff?practice_id={practice['practice_id']}", support)
    assert {m["staff_id"]: m["status"] for m in listed.body["items"]}[staff_id] == "deactivated"


def test_r_auth_3_role_change_holds_from_the_members_next_token(api: Api) -> None:
    practice = api.new_practice()
    staff_id, email = _invite(api, practice)
    staff_token = _first_sign_in(api, email)
    assert api.call("POST", "/inboxes", staff_token, {"name": "Refills"}).status == 403
    changed = api.call("PUT", f"/staff/{staff_id}/role", practice["admin"], {"role": "admin"})
    assert changed.status == 200 and changed.body == {"staff_id": staff_id, "role": "admin"}
    assert _members(api, practice["admin"])[staff_id]["role"] == "admin"
    # The token issued before the change keeps its role until it expires; the next one is an admin's
    assert api.call("POST", "/inboxes", staff_token, {"name": "Refills"}).status == 403
    assert api.call("POST", "/inboxes", _sign_in(api, email), {"name": "Refills"}).status == 201
    bad = api.call("PUT", f"/staff/{staff_id}/role", practice["admin"], {"role": "support"})
    assert bad.status == 400 and bad.body["error"]["field"] == "role"


def test_r_auth_1_sign_in_after_the_runner_clock_moves_a_day(api: Api) -> None:
    # Given the runner's clock moved forward a day (moto stamps tokens with the runner's clock)
    practice = api.new_practice()
    api.call("POST", "/_local/clock", body={"advance_seconds": 86_400})
    # When an admin signs in now, Then the token is valid by the authorizer's clock
    token = api.token("admin", practice["practice_id"], staff_id=practice["admin_id"])
    assert api.call("GET", "/staff", token).status == 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_r_auth_5_hs256_token_keyed_with_the_pools_public_key_is_refused(api: Api) -> None:
    # Given an attacker who reads the pool's public JWKS and signs admin claims with HS256 keyed by it
    practice = api.new_practice()
    config = api.config()
    jwks_text = requests.get(
        f"{config['cognito_endpoint']}/{config['user_pool_id']}/.well-known/jwks.json", timeout=10
    ).text
    real = api.token("admin", practice["practice_id"], staff_id=practice["admin_id"])
    claims = json.loads(base64.urlsafe_b64decode(real.split(".")[1] + "=="))
    for key in (jwks_text.encode(), json.dumps(json.loads(jwks_text)["keys"][0]).encode()):
        signing_input = f"{_b64(HS256_HEADER)}.{_b64(json.dumps(claims).encode())}"
        signature = _b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())
        # When it calls the API, Then it is refused
        assert api.call("GET", "/staff", f"{signing_input}.{signature}").status == 401
    # And the real token passes
    assert api.call("GET", "/staff", real).status == 200
