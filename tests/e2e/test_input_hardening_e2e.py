"""R-API-1 over HTTP through the local runner, as issue 12 found it against `make run`: deep JSON on anonymous and
signed routes is a 400 (was a 500), a 4,000-character CJK message is accepted (was a 413)."""

from __future__ import annotations

import json

import pytest

from tests.support import Api, sign, unique_phone

pytestmark = pytest.mark.e2e

DEEP = b'{"practice_id": ' + b"[" * 1000 + b"]" * 1000 + b"}"


def test_r_api_1_a_1000_deep_body_is_a_400_on_anonymous_and_signed_routes(api: Api) -> None:
    headers = {"Content-Type": "application/json"}
    for path in ("/patient/login", "/patient/login/verify"):
        reply = api.call("POST", path, data=DEEP, headers=headers)
        assert (reply.status, reply.error_code) == (400, "validation_error"), (path, reply)
    secret = api.config()["webhook_secret"]
    for path in ("/webhooks/sms", "/webhooks/voicemail"):
        unsigned = api.call("POST", path, data=DEEP, headers={**headers, "X-Frontdesk-Signature": "sha256=00"})
        assert unsigned.status == 401, (path, unsigned)  # the signature is checked first
        signed = api.call("POST", path, data=DEEP, headers={**headers, "X-Frontdesk-Signature": sign(DEEP, secret)})
        assert (signed.status, signed.error_code) == (400, "validation_error"), (path, signed)


def test_r_api_1_a_4000_character_cjk_message_is_accepted(api: Api) -> None:
    practice = api.new_practice()
    patient = api.new_patient(practice, cell_phone=unique_phone())
    text = "予約の変更をお願いします" * 333 + "予約の変"
    assert len(text) == 4_000
    # json.dumps escapes every character as \uXXXX: 24 kB on the wire
    reply = api.call(
        "POST",
        f"/conversations/{patient['conversation_id']}/messages",
        practice["admin"],
        data=json.dumps({"body": text, "internal": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 201, reply
    assert reply.body["body"] == text
