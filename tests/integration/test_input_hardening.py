"""Bad input is a 400 naming the field, never a 500 (R-API-1): JSON depth, field names, character limits.

Through the real handlers, in process, on DynamoDB Local.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.conftest import secret_value
from tests.support import invoke_route, sign, unique_phone

pytestmark = pytest.mark.integration

DEEP = 1_000


def _nested(depth: int) -> str:
    """A JSON value `depth` levels deep: `[[[...]]]`."""
    return "[" * depth + "]" * depth


@pytest.fixture
def world(dynamodb: str) -> dict[str, Any]:
    support = {"sub": "sup", "role": "support"}
    number = unique_phone()
    created = invoke_route("POST", "/practices", {"name": "Deep Care", "textable_number": number}, support)
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = invoke_route(
        "POST",
        "/staff",
        {"name": "Ada", "email": f"ada-{os.urandom(4).hex()}@example.org", "role": "admin", "practice_id": practice_id},
        support,
    )
    assert admin.status == 201, admin
    staff_id = admin.body["staff_id"]
    patient_claims = {"sub": "pat", "role": "patient", "practice_id": practice_id, "patient_id": "pat"}
    return {
        "practice_id": practice_id,
        "number": created.body["textable_number"],
        "admin": {"sub": staff_id, "role": "admin", "practice_id": practice_id, "staff_id": staff_id},
        "staff_id": staff_id,
        "patient": patient_claims,
    }


def _deep_body(field: str, depth: int) -> bytes:
    return ('{"' + field + '": ' + _nested(depth) + "}").encode()


@pytest.mark.parametrize(
    ("method", "path", "field", "who"),
    [
        ("POST", "/patient/login", "practice_id", None),
        ("POST", "/patient/login/verify", "code", None),
        ("POST", "/patients", "first_name", "admin"),
        ("POST", "/patients/search", "phone", "admin"),
        ("PUT", "/routing-settings", "reasons_enabled", "admin"),
        ("POST", "/patient/conversation/messages", "body", "patient"),
    ],
)
def test_r_api_1_json_deeper_than_32_levels_is_a_400_on_every_json_route(
    world: dict[str, Any], method: str, path: str, field: str, who: str | None
) -> None:
    # Given a body ~1,000 levels deep (2 kB), When it is sent to a JSON route, anonymous or not
    reply = invoke_route(method, path, _deep_body(field, DEEP), world[who] if who else None)
    # Then it is a 400 validation_error, not a 500 (RecursionError)
    assert reply.status == 400, reply
    assert reply.error_code == "validation_error"
    assert "nested" in reply.body["error"]["message"]


@pytest.mark.parametrize("path", ["/webhooks/sms", "/webhooks/voicemail"])
def test_r_api_1_a_deep_webhook_body_checks_the_signature_first_then_is_a_400(world: dict[str, Any], path: str) -> None:
    raw = _deep_body("to", DEEP)
    # Given a deep body without a valid signature, Then it is a 401 (the signature is checked first)
    unsigned = invoke_route("POST", path, raw, headers={"x-frontdesk-signature": "sha256=00"})
    assert unsigned.status == 401, unsigned
    # Given the same body signed, Then it is a 400 naming the nesting, never a 500
    signed = invoke_route("POST", path, raw, headers={"x-frontdesk-signature": sign(raw, secret_value("webhook"))})
    assert signed.status == 400, signed
    assert signed.error_code == "validation_error" and "nested" in signed.body["error"]["message"]


def test_r_api_1_32_levels_are_parsed_and_33_are_refused(world: dict[str, Any]) -> None:
    # Given `{"phone": [[...]]}`: the object is level 1, so 31 arrays make 32 levels and 32 arrays make 33
    at_limit = invoke_route("POST", "/patients/search", _deep_body("phone", 31), world["admin"])
    over = invoke_route("POST", "/patients/search", _deep_body("phone", 32), world["admin"])
    # Then 32 levels reach the model (a 400 naming the field), 33 are refused before parsing
    assert at_limit.status == 400 and at_limit.body["error"].get("field") == "phone", at_limit
    assert over.status == 400 and "nested" in over.body["error"]["message"], over
    assert over.body["error"].get("field") is None


def test_r_api_1_a_list_error_names_the_list_and_its_item(world: dict[str, Any]) -> None:
    # Given an empty reason in a subscription list
    path = f"/staff/{world['staff_id']}/subscriptions"
    reply = invoke_route("PUT", path, {"reasons": [""]}, world["admin"])
    # Then the field named is the list's item, not "0"
    assert reply.status == 400, reply
    assert reply.body["error"]["field"] == "reasons[0]"


def test_r_api_1_a_field_called_body_is_named(world: dict[str, Any]) -> None:
    # Given an empty message body from a patient
    reply = invoke_route(
        "POST", "/patient/conversation/messages", {"body": "", "client_message_id": "c1"}, world["patient"]
    )
    # Then the error names `body`
    assert reply.status == 400, reply
    assert reply.body["error"].get("field") == "body"


def test_r_api_1_a_4000_character_cjk_message_is_accepted(world: dict[str, Any]) -> None:
    # Given a patient, When they send 4,000 CJK characters (12 kB of UTF-8, 24 kB as JSON \u escapes)
    patient = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Mei", "last_name": "Wong", "date_of_birth": "1980-04-02", "cell_phone": unique_phone()},
        world["admin"],
    )
    assert patient.status == 201, patient
    conversation_id = patient.body["conversation_id"]
    text = "患者の予約について" * 444 + "患者の予"
    assert len(text) == 4_000
    body = json.dumps({"body": text, "internal": True}).encode()
    reply = invoke_route("POST", f"/conversations/{conversation_id}/messages", body, world["admin"])
    # Then the staff note is accepted (the character limit is 10,240), not a 413
    assert reply.status == 201, reply
    # And a webhook SMS of 4,000 CJK characters is accepted too
    raw = json.dumps({"provider_message_id": "cjk-1", "to": world["number"], "from": unique_phone(), "body": text})
    signed = invoke_route(
        "POST",
        "/webhooks/sms",
        raw.encode(),
        headers={"x-frontdesk-signature": sign(raw.encode(), secret_value("webhook"))},
    )
    assert signed.status == 200, signed
