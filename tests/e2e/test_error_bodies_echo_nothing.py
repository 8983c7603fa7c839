"""R-SEC-2 / API.md conventions: an error body never echoes a submitted value. Recognisable PHI is sent in invalid
or unexpected fields on many routes; no error body may contain any of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import Api, sign

pytestmark = pytest.mark.e2e

NAME, DOB, PHONE, BODY = "Zebulonicus", "1961-13-45", "+1646555017799999", "rash xylophone spreading"
PHI = [NAME, "Zebulon", DOB, PHONE, "646555017799999", BODY, "xylophone"]


def _cases(world: dict[str, Any]) -> list[tuple[str, str, str | None, Any]]:
    admin, patient = world["admin"], world["patient_token"]
    pid, cid = world["patient_id"], world["conversation_id"]
    return [
        ("POST", "/patients", admin, {"first_name": NAME, "last_name": NAME * 20, "date_of_birth": DOB}),
        (
            "POST",
            "/patients",
            admin,
            {"first_name": NAME, "last_name": "x", "date_of_birth": "1980-01-01", "cell_phone": PHONE},
        ),
        (
            "POST",
            "/patients",
            admin,
            {"first_name": NAME, "last_name": "x", "date_of_birth": "1980-01-01", "email": BODY},
        ),
        ("POST", "/patients", admin, {"first_name": NAME, "last_name": "x", "date_of_birth": "1980-01-01", BODY: NAME}),
        ("POST", "/patients", admin, {"first_name": 7, "last_name": [NAME], "date_of_birth": {"x": DOB}}),
        ("POST", "/patients/search", admin, {"phone": PHONE}),
        ("POST", "/patients/search", admin, {"phone": BODY, "name": NAME}),
        ("PUT", f"/patients/{pid}/cell-phone", admin, {"cell_phone": PHONE}),
        ("PUT", f"/patients/{pid}/cell-phone", admin, {"cell_phone": NAME}),
        ("PUT", f"/patients/{pid}/date-of-birth", admin, {"date_of_birth": DOB}),
        ("PUT", f"/patients/{pid}/date-of-birth", admin, {"date_of_birth": NAME}),
        ("POST", f"/patients/{pid}/merge", admin, {"source_patient_id": NAME * 10}),
        ("POST", f"/conversations/{cid}/messages", admin, {"body": BODY * 1000}),
        ("POST", f"/conversations/{cid}/messages", admin, {"body": BODY, "internal": NAME}),
        ("POST", f"/conversations/{cid}/assign", admin, {"staff_id": NAME * 10}),
        ("PUT", "/routing-settings", admin, {"reasons_enabled": NAME, "locations_enabled": BODY}),
        (
            "PUT",
            f"/staff/{world['admin_id']}/subscriptions",
            admin,
            {"reasons": [NAME], "locations": [BODY], "inboxes": []},
        ),
        ("POST", "/staff", admin, {"name": NAME, "email": BODY, "role": NAME}),
        ("POST", "/patient/login", None, {"practice_id": world["practice_id"], "phone": NAME}),
        ("POST", "/patient/login", None, {"practice_id": world["practice_id"], "phone": PHONE, "dob": DOB}),
        ("POST", "/patient/login/verify", None, {"practice_id": world["practice_id"], "phone": PHONE, "code": NAME}),
        ("POST", "/patient/dob-verification", patient, {"date_of_birth": DOB}),
        ("POST", "/patient/dob-verification", patient, {"date_of_birth": NAME}),
        ("POST", "/patient/conversation/messages", patient, {"body": BODY, "client_message_id": NAME * 20}),
        ("POST", "/patient/conversation/messages", patient, {"body": BODY, "reason": NAME, "client_message_id": "c1"}),
        ("POST", "/patient/phone-change/confirm", patient, {"code": PHONE}),
        ("PUT", "/integrations/pm/appointments/a1", world["integration"], {"patient_id": NAME, "location_id": BODY}),
        ("PUT", "/integrations/pm/locations", world["integration"], {"items": [{"location_id": NAME, "name": 3}]}),
    ]


@pytest.fixture(scope="module")
def world(runner: str) -> dict[str, Any]:
    api = Api(runner)
    practice = api.new_practice()
    patient = api.new_patient(practice)
    return {
        "api": api,
        "admin": practice["admin"],
        "admin_id": practice["admin_id"],
        "practice_id": practice["practice_id"],
        "textable_number": practice["textable_number"],
        "patient_id": patient["patient_id"],
        "conversation_id": patient["conversation_id"],
        "patient_token": api.token("patient", practice["practice_id"], patient_id=patient["patient_id"]),
        "integration": api.token("integration", practice["practice_id"]),
    }


def _leaks(reply_body: Any) -> list[str]:
    text = json.dumps(reply_body) if not isinstance(reply_body, str) else reply_body
    return [value for value in PHI if value in text]


def test_r_sec_2_error_bodies_never_echo_submitted_values(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    errors = 0
    for method, path, token, body in _cases(world):
        reply = api.call(method, path, token, body)
        assert reply.status != 500, (method, path, reply)
        if reply.status >= 400:
            errors += 1
            assert _leaks(reply.body) == [], (method, path, reply.status, reply.body)
    assert errors >= 20  # the cases really are refused: otherwise this test would prove nothing


def test_r_sec_2_webhook_and_malformed_json_errors_echo_nothing(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    secret = api.config()["webhook_secret"]
    bad = [
        {"provider_message_id": NAME, "from": PHONE, "to": world["textable_number"], "body": BODY},
        {"provider_message_id": "p1", "from": NAME, "to": world["textable_number"], "body": BODY},
        {"provider_message_id": "p2", "from": "+12125550123", "to": PHONE, "body": BODY},
        {"provider_message_id": "p3", "from": "+12125550123", "to": world["textable_number"], "body": BODY * 2000},
    ]
    for payload in bad:
        raw = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-Frontdesk-Signature": sign(raw, secret)}
        reply = api.call("POST", "/webhooks/sms", data=raw, headers=headers)
        if reply.status >= 400:
            assert _leaks(reply.body) == [], (payload, reply)
    raw = (f'{{"first_name": "{NAME}", "date_of_birth": "{DOB}", "body": "{BODY}"').encode()  # truncated JSON
    reply = api.call("POST", "/patients", world["admin"], data=raw, headers={"Content-Type": "application/json"})
    assert reply.status == 400 and _leaks(reply.body) == [], reply
