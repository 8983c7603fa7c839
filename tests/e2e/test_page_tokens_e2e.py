"""R-API-2: `next_token` on every list is opaque, tamper-proof, bound to its practice, list and caller, and expiring.

Through the local runner over HTTP. Each list is given two pages' worth of items in two practices; the token of
its first page (limit=1) must work there and nowhere else: forged, altered, expired, another practice's, another
list's, another caller's or garbage tokens are a 400 `validation_error` with field `next_token`, never a 500.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support import Api, Reply, sign, unique_phone

pytestmark = pytest.mark.e2e

HEADER = "Given,Family,Birthdate,Cell Phone,Landline,Patient ID,E-mail\n"


def _sms(api: Api, practice: dict[str, Any], sender: str, body: str) -> Reply:
    payload = {"provider_message_id": unique_phone(), "from": sender, "to": practice["textable_number"], "body": body}
    raw = json.dumps(payload).encode()
    headers = {"X-Frontdesk-Signature": sign(raw, api.config()["webhook_secret"]), "Content-Type": "application/json"}
    reply = api.call("POST", "/webhooks/sms", data=raw, headers=headers)
    assert reply.status == 200, reply
    return reply


def _world(api: Api) -> dict[str, Any]:
    """A practice whose every list has at least two items."""
    practice = api.new_practice()
    admin = practice["admin"]
    subscribed = api.call("PUT", f"/staff/{practice['admin_id']}/subscriptions", admin, {"inboxes": ["unassigned"]})
    assert subscribed.status == 200, subscribed
    inbox = api.call("POST", "/inboxes", admin, {"name": "Refills"})
    assert inbox.status == 201, inbox
    conversations = [_sms(api, practice, unique_phone(), "hello").body["conversation_id"] for _ in range(6)]
    for cid in conversations[2:4]:
        assert api.call("POST", f"/conversations/{cid}/assign", admin, {"staff_id": practice["admin_id"]}).status == 200
    for cid in conversations[4:6]:
        reply = api.call("POST", f"/conversations/{cid}/assign", admin, {"inbox_id": inbox.body["inbox_id"]})
        assert reply.status == 200, reply
    phone = unique_phone()
    patients = [api.new_patient(practice, cell_phone=phone) for _ in range(3)]
    patient_id = patients[0]["patient_id"]
    two_messages = patients[0]["conversation_id"]
    for text in ("first", "second"):
        sent = api.call("POST", f"/conversations/{two_messages}/messages", admin, {"body": text, "internal": True})
        assert sent.status == 201, sent
    api.call("GET", f"/patients/{patient_id}", admin)
    bucket = api.config()["imports_bucket"]
    for name in ("a.csv", "b.csv"):
        put = api.call(
            "PUT",
            f"/_local/s3/{bucket}/imports/{practice['practice_id']}/{name}",
            data=(HEADER + "Ana,Diaz,1980-04-02,,,,\n").encode(),
        )
        assert put.status == 200, put
    for name in ("Feed A", "Feed B"):
        assert api.call("POST", "/integrations/credentials", admin, {"name": name}).status == 201
    staff_id, staff = api.new_staff(practice)
    return {
        **practice,
        "staff": staff,
        "lists": {
            "imports": "/imports",
            "duplicates": "/patients/duplicates",
            "unassigned": "/inboxes/unassigned/conversations",
            "mine": "/inboxes/mine/conversations",
            "custom": f"/inboxes/{inbox.body['inbox_id']}/conversations",
            "conversation": f"/conversations/{two_messages}",
            "notifications": "/staff/me/notifications",
            "audit": f"/patients/{patient_id}/audit",
            "credentials": "/integrations/credentials",
        },
    }


LISTS = [
    "imports",
    "duplicates",
    "unassigned",
    "mine",
    "custom",
    "conversation",
    "notifications",
    "audit",
    "credentials",
]


@pytest.fixture(scope="module")
def worlds(runner: str) -> tuple[dict[str, Any], dict[str, Any]]:
    api = Api(runner)
    return _world(api), _world(api)


def _page(api: Api, world: dict[str, Any], name: str, token: str | None = None, who: str = "admin") -> Reply:
    query = "?limit=1" + (f"&next_token={token}" if token is not None else "")
    return api.call("GET", world["lists"][name] + query, world[who])


def _first_token(api: Api, world: dict[str, Any], name: str) -> str:
    first = _page(api, world, name)
    assert first.status == 200, (name, first)
    token = first.body["next_token"]
    assert token, (name, first.body)
    return str(token)


def _refused(reply: Reply) -> bool:
    error = reply.body.get("error", {}) if isinstance(reply.body, dict) else {}
    return reply.status == 400 and error.get("code") == "validation_error" and error.get("field") == "next_token"


def _flip(token: str, at: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:at] + alphabet[(alphabet.index(token[at]) + 1) % 64] + token[at + 1 :]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("name", LISTS)
def test_r_api_2_a_token_pages_its_own_list_and_reveals_no_table_key(
    api: Api, worlds: tuple[dict[str, Any], dict[str, Any]], name: str
) -> None:
    world, _ = worlds
    # Given the first page of a list with two or more items
    token = _first_token(api, world, name)
    # When the token is sent back, Then it gives the next page
    second = _page(api, world, name, token)
    assert second.status == 200, second
    # And the token reveals nothing of the table: no practice id, no key attribute names, not even as base64 text
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert world["practice_id"] not in token
    for secret in (world["practice_id"], '"pk"', '"sk"', '"S"', "practice#"):
        assert secret.encode() not in raw, secret


@pytest.mark.parametrize("name", LISTS)
def test_r_api_2_forged_altered_and_garbage_tokens_are_a_400_naming_next_token(
    api: Api, worlds: tuple[dict[str, Any], dict[str, Any]], name: str
) -> None:
    world, _ = worlds
    token = _first_token(api, world, name)
    plain_key = {"pk": {"S": f"practice#{world['practice_id']}"}, "sk": {"S": "x"}}  # what main's tokens were
    candidates = {
        "garbage": "not-a-token",
        "unicode": "%E2%98%83",
        "empty json": _b64(b"{}"),
        "plain key (old format)": _b64(json.dumps(plain_key).encode()),
        "forged (right shape, no key)": _b64(b"\x01" + bytes(range(60))),
        "altered at the start": _flip(token, 2),
        "altered in the middle": _flip(token, len(token) // 2),
        "altered at the end": _flip(token, len(token) - 1),
        "truncated": token[:-4],
        "extended": token + "AAAA",
    }
    for kind, forged in candidates.items():
        # When a token we did not issue is sent, Then it is a 400 naming next_token, never a 500 or a page
        reply = _page(api, world, name, forged)
        assert _refused(reply), (name, kind, reply)


@pytest.mark.parametrize("name", LISTS)
def test_r_api_2_another_practice_or_list_token_is_refused(
    api: Api, worlds: tuple[dict[str, Any], dict[str, Any]], name: str
) -> None:
    home, other = worlds
    # Given a token another practice was issued for the same list
    foreign = _first_token(api, other, name)
    # Then it is refused here
    assert _refused(_page(api, home, name, foreign)), name
    # And a token of any other list of this practice is refused on this one
    for other_name in LISTS:
        if other_name != name:
            assert _refused(_page(api, home, name, _first_token(api, home, other_name))), (name, other_name)


def test_r_api_2_my_inbox_token_belongs_to_its_caller(api: Api, worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    world, _ = worlds
    # Given the admin's token for their own inbox, When a colleague sends it for theirs, Then it is refused
    token = _first_token(api, world, "mine")
    assert _refused(_page(api, world, "mine", token, who="staff"))
    token = _first_token(api, world, "notifications")
    assert _refused(_page(api, world, "notifications", token, who="staff"))


def test_r_api_2_a_token_expires_after_24_hours(api: Api, worlds: tuple[dict[str, Any], dict[str, Any]]) -> None:
    world, _ = worlds
    tokens = {name: _first_token(api, world, name) for name in LISTS}
    before = api.call("GET", "/_local/clock").body["now"]

    def moved(seconds: float) -> None:
        assert api.call("POST", "/_local/clock", body={"advance_seconds": seconds}).status == 200

    try:
        # Given tokens 23 hours old, Then they still page (with a fresh session token)
        moved(23 * 3600)
        fresh = {**world, "admin": api.token("admin", world["practice_id"], staff_id=world["admin_id"])}
        for name, token in tokens.items():
            assert _page(api, fresh, name, token).status == 200, name
        # Given the same tokens 25 hours old, Then each is a 400 naming next_token
        moved(2 * 3600)
        fresh = {**world, "admin": api.token("admin", world["practice_id"], staff_id=world["admin_id"])}
        for name, token in tokens.items():
            reply = _page(api, fresh, name, token)
            assert _refused(reply) and "expired" in reply.body["error"]["message"], (name, reply)
    finally:
        start = datetime.fromisoformat(before.replace("Z", "+00:00"))
        api.call("POST", "/_local/clock", body={"now": (start + timedelta(seconds=1)).isoformat()})
