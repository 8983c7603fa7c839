"""R-SEC-1 (a patient sees only its own records) and R-SEC-2 (every staff read or change of a patient is audited,
readable by admins), end to end through the runner."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.support import Api, unique_phone

pytestmark = pytest.mark.e2e


def _login(api: Api, practice: dict[str, Any], phone: str, dob: str) -> str:
    assert api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": phone}).status
    code = api.call("GET", f"/_local/outbox?to={quote(phone)}").body["items"][-1]["code"]
    session = api.call(
        "POST", "/patient/login/verify", body={"practice_id": practice["practice_id"], "phone": phone, "code": code}
    )
    assert session.status == 200, session
    token = str(session.body["token"])
    assert api.call("POST", "/patient/dob-verification", token, {"date_of_birth": dob}).body == {"result": "verified"}
    return token


def _messages(api: Api, token: str) -> list[str]:
    reply = api.call("GET", "/patient/conversation", token)
    assert reply.status == 200, reply
    return [m["body"] for m in reply.body["messages"]]


def test_r_sec_1_a_patient_never_reads_another_patients_conversation_profile_or_phone_change(api: Api) -> None:
    # Given two verified patients of one practice, each with a message and a pending phone change
    practice = api.new_practice()
    alice = api.new_patient(practice, first_name="Alice", cell_phone=unique_phone(), date_of_birth="1971-01-01")
    bob = api.new_patient(practice, first_name="Bob", cell_phone=unique_phone(), date_of_birth="1972-02-02")
    alice_token = _login(api, practice, alice["cell_phone"], "1971-01-01")
    bob_token = _login(api, practice, bob["cell_phone"], "1972-02-02")
    for token, text in ((alice_token, "alice-only text"), (bob_token, "bob-only text")):
        sent = api.call("POST", "/patient/conversation/messages", token, {"body": text, "client_message_id": text})
        assert sent.status == 201, sent
    alice_new, bob_new = unique_phone(), unique_phone()
    for patient, phone in ((alice, alice_new), (bob, bob_new)):
        path = f"/patients/{patient['patient_id']}/cell-phone"
        assert api.call("PUT", path, practice["admin"], {"cell_phone": phone}).status == 202

    # When each reads "their" records, Then each sees only its own (identity comes from the token)
    alice_view = api.call("GET", "/patient/conversation", alice_token).body
    assert alice_view["conversation_id"] == alice["conversation_id"]
    assert "alice-only text" in _messages(api, alice_token) and "bob-only text" not in _messages(api, alice_token)
    assert "bob-only text" in _messages(api, bob_token) and "alice-only text" not in _messages(api, bob_token)
    alice_change = api.call("GET", "/patient/phone-change", alice_token).body
    bob_change = api.call("GET", "/patient/phone-change", bob_token).body
    assert alice_change["new_phone_masked"][-2:] == alice_new[-2:]
    assert bob_change["new_phone_masked"][-2:] == bob_new[-2:]
    assert alice_change["request_id"] != bob_change["request_id"]

    # And a patient id smuggled into a patient route's body or query changes nothing
    smuggled = api.call("GET", f"/patient/conversation?patient_id={bob['patient_id']}", alice_token).body
    assert smuggled["conversation_id"] == alice["conversation_id"]

    # And every staff route naming the other patient (or its conversation) is refused to a patient
    ids = {"patient_id": bob["patient_id"], "conversation_id": bob["conversation_id"]}
    for method, path in (
        ("GET", "/patients/{patient_id}"),
        ("GET", "/patients/{patient_id}/phone-change-requests"),
        ("GET", "/patients/{patient_id}/audit"),
        ("PUT", "/patients/{patient_id}/cell-phone"),
        ("PUT", "/patients/{patient_id}/date-of-birth"),
        ("POST", "/patients/{patient_id}/merge"),
        ("GET", "/conversations/{conversation_id}"),
        ("POST", "/conversations/{conversation_id}/messages"),
        ("POST", "/conversations/{conversation_id}/assign"),
        ("POST", "/conversations/{conversation_id}/close"),
        ("POST", "/patients/search"),
    ):
        reply = api.call(method, path.format(**ids), alice_token, {"phone": bob["cell_phone"], "body": "x"})
        assert reply.status == 403 and reply.error_code == "forbidden", (method, path, reply)

    # And a patient confirming or declining acts on its own request only
    assert api.call("POST", "/patient/phone-change/decline", alice_token).status == 200
    assert api.call("GET", "/patient/phone-change", bob_token).body["request_id"] == bob_change["request_id"]
    bob_requests = api.call("GET", f"/patients/{bob['patient_id']}/phone-change-requests", practice["admin"])
    assert [r["status"] for r in bob_requests.body["items"]] == ["pending"]


def _actions(api: Api, practice: dict[str, Any], patient_id: str) -> list[dict[str, Any]]:
    reply = api.call("GET", f"/patients/{patient_id}/audit?limit=200", practice["admin"])
    assert reply.status == 200, reply
    return list(reply.body["items"])


def test_r_sec_2_every_staff_read_or_change_of_a_patient_is_an_audit_entry(api: Api) -> None:
    # Given a practice, a staff member and a support engineer, and patients
    practice = api.new_practice()
    staff_id, staff = api.new_staff(practice)
    support = api.token("support")
    pid = practice["practice_id"]
    patient = api.new_patient(practice, cell_phone=unique_phone())
    other = api.new_patient(practice, first_name="Unknown", last_name="Caller", landline=unique_phone())
    path = f"/patients/{patient['patient_id']}"
    conversation = f"/conversations/{patient['conversation_id']}"

    # When a staff member walks every action on the patient (each must succeed)
    walk: list[tuple[str, str, str, Any, str]] = [
        ("GET", path, staff, None, "patient.read"),
        ("POST", "/patients/search", staff, {"phone": patient["cell_phone"]}, "patient.search"),
        ("GET", f"{path}/phone-change-requests", staff, None, "patient.phone_change_requests.read"),
        ("PUT", f"{path}/date-of-birth", staff, {"date_of_birth": "1980-04-03"}, "patient.date_of_birth.update"),
        ("PUT", f"{path}/cell-phone", staff, {"cell_phone": unique_phone()}, "patient.cell_phone.update"),
        ("POST", f"{path}/merge", staff, {"source_patient_id": other["patient_id"]}, "patient.merge_from:"),
        ("GET", conversation, staff, None, "conversation.read"),
        ("POST", f"{conversation}/messages", staff, {"body": "hello", "internal": True}, "conversation.reply"),
        ("POST", f"{conversation}/assign", staff, {"staff_id": staff_id}, "conversation.assign"),
        ("POST", f"{conversation}/close", staff, {}, "conversation.close"),
    ]
    seen = len(_actions(api, practice, patient["patient_id"]))
    for method, route, token, body, action in walk:
        reply = api.call(method, route, token, body)
        assert reply.status in (200, 201, 202), (method, route, reply)
        # Then exactly the entry for this action was added, naming who did it and when
        entries = _actions(api, practice, patient["patient_id"])
        new = entries[: len(entries) - seen]
        assert [e["action"] for e in new][-1] == "patient.audit.read"  # the previous listing itself
        recorded = [e for e in new if e["action"] != "patient.audit.read"]
        assert len(recorded) == 1, (action, new)
        assert recorded[0]["action"].startswith(action), (action, recorded)
        assert recorded[0]["actor"] == f"staff:{staff_id}", recorded
        assert recorded[0]["at"].endswith("Z")
        seen = len(entries)

    # And a support engineer's DOB-lock reset is audited with the support actor
    assert api.call("POST", f"{path}/dob-lock/reset", support, {"practice_id": pid}).status == 200
    trail = _actions(api, practice, patient["patient_id"])
    last = trail[0]  # the listing audits itself after it reads
    assert last["action"] == "patient.dob_lock.reset" and last["actor"].startswith("support:"), trail[:4]

    # And only admins read the trail
    assert api.call("GET", f"{path}/audit", staff).status == 403
