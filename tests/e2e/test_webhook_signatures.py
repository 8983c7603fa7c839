"""R-SEC-1 for provider webhooks (issue 6 item 2): what the signature proves and what a replay can do.

API.md's signature is an HMAC-SHA256 of the raw body, with no timestamp: it proves the body came from someone
holding the secret, not when. A captured request can therefore be sent again, byte for byte, at any time. What
keeps that harmless is R-REL-1: the body carries `provider_message_id`, so a replay is answered like the first
delivery and nothing is stored twice; and any change to the body (a new provider_message_id to defeat that) breaks
the signature. The limit (a replay after the 7-day idempotency record expired would be stored again) is written
down in docs/reliability.md.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import Api, Reply, sign, unique_phone

pytestmark = pytest.mark.e2e


def _post(api: Api, kind: str, raw: bytes, signature: str | None) -> Reply:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Frontdesk-Signature"] = signature
    return api.call("POST", f"/webhooks/{kind}", data=raw, headers=headers)


def _patient_messages(api: Api, practice: dict[str, Any], sender: str) -> list[str]:
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": sender}).body["items"]
    if not found:
        return []
    conversation = api.call("GET", f"/conversations/{found[0]['conversation_id']}", practice["admin"]).body
    return [m["body"] for m in conversation["messages"] if m["sender"] == "patient"]


@pytest.mark.parametrize("kind", ["sms", "voicemail"])
def test_r_sec_1_signature_must_cover_exactly_this_body(api: Api, kind: str) -> None:
    practice = api.new_practice()
    secret = api.config()["webhook_secret"]
    sender = unique_phone()
    payload: dict[str, Any] = {"provider_message_id": f"{kind}-1", "from": sender, "to": practice["textable_number"]}
    if kind == "sms":
        payload["body"] = "hello"
    else:
        payload.update(recording_url="https://example.org/r.mp3", line_type="cell", transcript="hello")
    raw = json.dumps(payload).encode()
    other = json.dumps({**payload, "provider_message_id": f"{kind}-2"}).encode()
    refused = {
        "missing": _post(api, kind, raw, None),
        "empty": _post(api, kind, raw, ""),
        "wrong secret": _post(api, kind, raw, sign(raw, "not-the-secret")),
        "over another body": _post(api, kind, raw, sign(other, secret)),
        "body re-serialised": _post(api, kind, json.dumps(payload, indent=1).encode(), sign(raw, secret)),
        "no scheme": _post(api, kind, raw, sign(raw, secret).removeprefix("sha256=")),
        "other scheme": _post(api, kind, raw, "sha1=" + sign(raw, secret).removeprefix("sha256=")),
        "truncated": _post(api, kind, raw, sign(raw, secret)[:-2]),
        "body with a trailing byte": _post(api, kind, raw + b" ", sign(raw, secret)),
    }
    for name, reply in refused.items():
        assert (reply.status, reply.error_code) == (401, "unauthenticated"), (name, reply)
    assert _patient_messages(api, practice, sender) == []
    # The correctly signed body is accepted (so the refusals above are about the signature, nothing else)
    assert _post(api, kind, raw, sign(raw, secret)).status == 200


def test_r_sec_1_a_replayed_signed_request_is_answered_like_the_first_and_stores_nothing_again(api: Api) -> None:
    # Given a signed SMS that was delivered once
    practice = api.new_practice()
    secret = api.config()["webhook_secret"]
    sender = unique_phone()
    payload = {"provider_message_id": "pm-replay", "from": sender, "to": practice["textable_number"], "body": "once"}
    raw = json.dumps(payload).encode()
    signature = sign(raw, secret)
    first = _post(api, "sms", raw, signature)
    assert first.status == 200, first
    # When an attacker who captured it replays it, byte for byte, several times (also after days have passed)
    replays = [_post(api, "sms", raw, signature) for _ in range(3)]
    assert api.call("POST", "/_local/clock", body={"advance_seconds": 3 * 86400}).status == 200
    practice["admin"] = api.token("admin", practice["practice_id"], staff_id=practice["admin_id"])
    replays.append(_post(api, "sms", raw, signature))
    # Then each replay gets the first answer, and the conversation holds the message once
    assert all(r.status == 200 and r.body == first.body for r in replays), replays
    # And changing the provider_message_id to defeat the de-duplication breaks the signature
    forged = json.dumps({**payload, "provider_message_id": "pm-replay-2"}).encode()
    assert _post(api, "sms", forged, signature).status == 401
    assert _patient_messages(api, practice, sender) == ["once"]
