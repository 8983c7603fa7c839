"""R-API-1 (issue 12 item 9): loose input is refused — strict booleans, no control characters in names and bodies,
https-only recordings, the reserved location id `unknown`; two staff with one email and an inbox called
"Unassigned" are 409s. Through the real handlers, in process, on DynamoDB Local."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import secret_value
from tests.support import invoke_route, sign, unique_email, unique_phone

pytestmark = pytest.mark.integration

SUPPORT = {"sub": "sup", "role": "support"}


@pytest.fixture
def world(dynamodb: str) -> dict[str, Any]:
    created = invoke_route(
        "POST",
        "/practices",
        {"name": "Strict Care", "textable_number": unique_phone(), "has_pm_integration": True},
        SUPPORT,
    )
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = invoke_route(
        "POST",
        "/staff",
        {"name": "Ada", "email": unique_email("ada"), "role": "admin", "practice_id": practice_id},
        SUPPORT,
    )
    assert admin.status == 201, admin
    staff_id = admin.body["staff_id"]
    patient = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1980-04-02", "cell_phone": unique_phone()},
        {"sub": staff_id, "role": "admin", "practice_id": practice_id, "staff_id": staff_id},
    )
    assert patient.status == 201, patient
    return {
        "practice_id": practice_id,
        "number": created.body["textable_number"],
        "admin": {"sub": staff_id, "role": "admin", "practice_id": practice_id, "staff_id": staff_id},
        "integration": {"sub": "pm", "role": "integration", "practice_id": practice_id},
        "patient": {
            "sub": patient.body["patient_id"],
            "role": "patient",
            "practice_id": practice_id,
            "patient_id": patient.body["patient_id"],
        },
        "conversation_id": patient.body["conversation_id"],
    }


def _field(reply: Any) -> str | None:
    assert reply.status == 400 and reply.error_code == "validation_error", reply
    return reply.body["error"].get("field")  # type: ignore[no-any-return]


@pytest.mark.parametrize("loose", ["yes", "true", 1, 0, "1", None])
def test_r_api_1_booleans_are_json_true_or_false_only(world: dict[str, Any], loose: Any) -> None:
    # Given a value that is not JSON true/false where a boolean is expected, Then each route answers 400 naming it
    reply = invoke_route(
        "POST",
        f"/conversations/{world['conversation_id']}/messages",
        {"body": "note", "internal": loose},
        world["admin"],
    )
    assert _field(reply) == "internal"
    number = unique_phone()
    practice = {"name": "P", "textable_number": number, "has_pm_integration": loose}
    assert _field(invoke_route("POST", "/practices", practice, SUPPORT)) == "has_pm_integration"
    settings = {"reasons_enabled": loose, "locations_enabled": False}
    assert _field(invoke_route("PUT", "/routing-settings", settings, world["admin"])) == "reasons_enabled"
    assign = {"unassigned": loose}
    path = f"/conversations/{world['conversation_id']}/assign"
    assert _field(invoke_route("POST", path, assign, world["admin"])) == "unassigned"
    # And nothing was written: no practice holds that number
    again = invoke_route("POST", "/practices", {"name": "P", "textable_number": number}, SUPPORT)
    assert again.status == 201, again


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\x9f"])
def test_r_api_1_control_characters_are_refused_in_names_and_bodies(world: dict[str, Any], char: str) -> None:
    patient = {"first_name": f"An{char}a", "last_name": "Diaz", "date_of_birth": "1980-04-02"}
    assert _field(invoke_route("POST", "/patients", patient, world["admin"])) == "first_name"
    patient = {"first_name": "Ana", "last_name": f"Diaz{char}", "date_of_birth": "1980-04-02"}
    assert _field(invoke_route("POST", "/patients", patient, world["admin"])) == "last_name"
    practice = {"name": f"Uptown{char}", "textable_number": unique_phone()}
    assert _field(invoke_route("POST", "/practices", practice, SUPPORT)) == "name"
    staff = {"name": f"Sam{char}", "email": unique_email()}
    assert _field(invoke_route("POST", "/staff", staff, world["admin"])) == "name"
    assert _field(invoke_route("POST", "/inboxes", {"name": f"Refills{char}"}, world["admin"])) == "name"
    locations = {"items": [{"location_id": "downtown", "name": f"Down{char}town"}]}
    assert _field(invoke_route("PUT", "/integrations/pm/locations", locations, world["integration"])) == "items[0].name"
    reply = {"body": f"see you{char}", "internal": True}
    path = f"/conversations/{world['conversation_id']}/messages"
    assert _field(invoke_route("POST", path, reply, world["admin"])) == "body"
    message = {"body": f"hello{char}", "client_message_id": "c-ctl"}
    assert _field(invoke_route("POST", "/patient/conversation/messages", message, world["patient"])) == "body"
    raw = json.dumps({"provider_message_id": "ctl", "to": world["number"], "from": unique_phone(), "body": f"a{char}"})
    headers = {"x-frontdesk-signature": sign(raw.encode(), secret_value("webhook"))}
    assert _field(invoke_route("POST", "/webhooks/sms", raw.encode(), headers=headers)) == "body"


def test_r_api_1_newline_and_tab_are_allowed_in_bodies_not_in_names(world: dict[str, Any]) -> None:
    path = f"/conversations/{world['conversation_id']}/messages"
    reply = invoke_route("POST", path, {"body": "line one\r\nline two\n\tindented", "internal": True}, world["admin"])
    assert reply.status == 201, reply
    assert reply.body["body"] == "line one\r\nline two\n\tindented"
    patient = {"first_name": "Ana\n", "last_name": "Diaz", "date_of_birth": "1980-04-02"}
    assert _field(invoke_route("POST", "/patients", patient, world["admin"])) == "first_name"
    patient = {"first_name": "Ana", "last_name": "Di\taz", "date_of_birth": "1980-04-02"}
    assert _field(invoke_route("POST", "/patients", patient, world["admin"])) == "last_name"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "http://example.org/r.mp3",
        "data:audio/mp3;base64,AAAA",
        "https://",
        "https:///r.mp3",
        "https://example.org/r .mp3",
        "//example.org/r.mp3",
        "ftp://example.org/r.mp3",
    ],
)
def test_r_api_1_recording_url_is_https_only(world: dict[str, Any], url: str) -> None:
    body = {
        "provider_message_id": f"vm-{url}",
        "to": world["number"],
        "from": unique_phone(),
        "recording_url": url,
        "line_type": "cell",
    }
    raw = json.dumps(body).encode()
    headers = {"x-frontdesk-signature": sign(raw, secret_value("webhook"))}
    assert _field(invoke_route("POST", "/webhooks/voicemail", raw, headers=headers)) == "recording_url"


def test_r_api_1_an_https_recording_url_is_accepted(world: dict[str, Any]) -> None:
    body = {
        "provider_message_id": "vm-ok",
        "to": world["number"],
        "from": unique_phone(),
        "recording_url": "https://media.example.org:8443/rec/1.mp3?sig=a%20b&x=1",
        "line_type": "cell",
    }
    raw = json.dumps(body).encode()
    headers = {"x-frontdesk-signature": sign(raw, secret_value("webhook"))}
    reply = invoke_route("POST", "/webhooks/voicemail", raw, headers=headers)
    assert reply.status == 200, reply


@pytest.mark.parametrize("reserved", ["unknown", "Unknown", "UNKNOWN"])
def test_r_route_8_the_pm_location_id_unknown_is_reserved(world: dict[str, Any], reserved: str) -> None:
    # Given the PM feed, When it names a location "unknown" (the platform's "Location unknown"), Then a 400
    locations = {"items": [{"location_id": "downtown", "name": "Downtown"}, {"location_id": reserved, "name": "X"}]}
    reply = invoke_route("PUT", "/integrations/pm/locations", locations, world["integration"])
    assert _field(reply) == "items[1].location_id"
    assert "reserved" in reply.body["error"]["message"]
    appointment = {
        "patient_id": world["patient"]["patient_id"],
        "location_id": reserved,
        "starts_at": "2030-01-01T10:00:00Z",
        "status": "booked",
    }
    reply = invoke_route("PUT", "/integrations/pm/appointments/a1", appointment, world["integration"])
    assert _field(reply) == "location_id"


def test_r_api_1_two_staff_with_one_email_is_a_409_email_taken(world: dict[str, Any]) -> None:
    # Given a staff member with an email
    email = unique_email("dup")
    first = invoke_route("POST", "/staff", {"name": "Sam", "email": email}, world["admin"])
    assert first.status == 201, first
    # When another staff record is created with the same email, in any case, in this or another practice
    other = invoke_route("POST", "/practices", {"name": "Other", "textable_number": unique_phone()}, SUPPORT)
    for practice_id, address in ((world["practice_id"], email), (other.body["practice_id"], email.upper())):
        body = {"name": "Sam Two", "email": address, "role": "staff", "practice_id": practice_id}
        reply = invoke_route("POST", "/staff", body, SUPPORT)
        # Then it is a 409 email_taken naming the field
        assert (reply.status, reply.error_code) == (409, "email_taken"), reply
        assert reply.body["error"]["field"] == "email"
    # And a different email is fine
    assert invoke_route("POST", "/staff", {"name": "Sam", "email": unique_email()}, world["admin"]).status == 201


@pytest.mark.parametrize("name", ["Unassigned", "unassigned", "  UNASSIGNED ", "UnAssigned"])
def test_r_route_1_an_inbox_named_unassigned_is_a_409(world: dict[str, Any], name: str) -> None:
    reply = invoke_route("POST", "/inboxes", {"name": name}, world["admin"])
    assert (reply.status, reply.error_code) == (409, "inbox_name_reserved"), reply
    assert invoke_route("POST", "/inboxes", {"name": "Unassigned billing"}, world["admin"]).status == 201
