"""Patient identity end to end through the local runner: login, DOB, phone changes with the 3-day expiry and
the 30-day re-verification walked with /_local/clock, codes read from /_local/outbox, merging."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from frontdesk.domain.quiet_hours import next_window_start
from tests.support import Api, unique_phone

pytestmark = pytest.mark.e2e
DAY = 86400


def _outbox(api: Api, phone: str) -> list[dict[str, Any]]:
    return list(api.call("GET", f"/_local/outbox?to={quote(phone)}").body["items"])


def _login(api: Api, practice: dict[str, Any], phone: str) -> dict[str, Any]:
    sent = api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": phone})
    assert sent.status == 202, sent
    code = _outbox(api, phone)[-1]["code"]
    session = api.call(
        "POST", "/patient/login/verify", body={"practice_id": practice["practice_id"], "phone": phone, "code": code}
    )
    assert session.status == 200, session
    return dict(session.body)


def _verified_patient(api: Api, practice: dict[str, Any]) -> tuple[dict[str, Any], str]:
    patient = api.new_patient(practice, cell_phone=unique_phone())
    session = _login(api, practice, patient["cell_phone"])
    assert session["dob_verification_required"] is True
    answer = api.call("POST", "/patient/dob-verification", session["token"], {"date_of_birth": "1980-04-02"})
    assert answer.body == {"result": "verified"}, answer
    return patient, session["token"]


def _advance(api: Api, practice: dict[str, Any], seconds: int) -> None:
    """Moves the runner's clock; tokens minted before it may have expired, so the admin's is renewed."""
    assert api.call("POST", "/_local/clock", body={"advance_seconds": seconds}).status == 200
    practice["admin"] = api.token("admin", practice["practice_id"], staff_id=practice["admin_id"])


def _patient_token(api: Api, practice: dict[str, Any], patient: dict[str, Any]) -> str:
    return api.token("patient", practice["practice_id"], patient_id=patient["patient_id"])


def test_r_login_1_and_r_dob_1_first_login_through_the_runner(api: Api) -> None:
    practice = api.new_practice()
    patient = api.new_patient(practice, cell_phone=unique_phone())
    stranger = unique_phone()
    unknown = api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": stranger})
    assert unknown.status == 202 and _outbox(api, stranger) == []
    session = _login(api, practice, patient["cell_phone"])
    token = session["token"]
    # R-DOB-1: a different DOB is reported, the patient waits, staff set it, the patient is told by SMS
    reported = api.call("POST", "/patient/dob-verification", token, {"date_of_birth": "1981-02-03"})
    assert reported.body == {"result": "reported_different"}
    waiting = api.call("POST", "/patient/dob-verification", token, {"date_of_birth": "1980-04-02"})
    assert waiting.status == 403 and waiting.error_code == "dob_review_pending"
    fixed = api.call(
        "PUT", f"/patients/{patient['patient_id']}/date-of-birth", practice["admin"], {"date_of_birth": "1981-02-03"}
    )
    assert fixed.status == 200 and fixed.body["date_of_birth"] == "1981-02-03"
    assert "continue" in _outbox(api, patient["cell_phone"])[-1]["body"]
    again = _login(api, practice, patient["cell_phone"])
    assert again["dob_verification_required"] is False


def test_r_dob_2_thirty_day_reverification_walked_with_the_clock(api: Api) -> None:
    practice = api.new_practice()
    patient, _ = _verified_patient(api, practice)
    _advance(api, practice, 29 * DAY)
    assert _login(api, practice, patient["cell_phone"])["dob_verification_required"] is False
    _advance(api, practice, 2 * DAY)
    session = _login(api, practice, patient["cell_phone"])
    assert session["dob_verification_required"] is True
    token = session["token"]
    failed = api.call("POST", "/patient/dob-verification", token, {"date_of_birth": "1970-01-01"})
    assert failed.body == {"result": "failed"}
    # R-DOB-2: staff cannot change the DOB of this verified patient (only support can)
    path = f"/patients/{patient['patient_id']}/date-of-birth"
    assert api.call("PUT", path, practice["admin"], {"date_of_birth": "1970-01-01"}).error_code == "support_required"
    passed = api.call("POST", "/patient/dob-verification", token, {"date_of_birth": "1980-04-02"})
    assert passed.body == {"result": "verified"}
    assert _login(api, practice, patient["cell_phone"])["dob_verification_required"] is False


def _to_morning_in_new_york(api: Api) -> None:
    """R-SMS-4 keeps reminders inside 08:00-21:00 of the practice's zone: start at 10:00 New York so that the
    walk below (71 h later is 09:00) is inside the window whenever the suite runs. Only ever moves forward."""
    now = datetime.fromisoformat(api.call("GET", "/_local/clock").body["now"])
    morning = next_window_start(now, "America/New_York") + timedelta(hours=2)
    assert api.call("POST", "/_local/clock", body={"advance_seconds": (morning - now).total_seconds()}).status == 200


def test_r_phone_3_three_day_expiry_walked_with_the_clock(api: Api) -> None:
    _to_morning_in_new_york(api)
    practice = api.new_practice()
    patient, token = _verified_patient(api, practice)
    new_phone = unique_phone()
    path = f"/patients/{patient['patient_id']}"
    requested = api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": new_phone})
    assert requested.status == 202 and requested.body["status"] == "pending_confirmation", requested
    assert _outbox(api, new_phone)[-1]["code"]
    pending = api.call("GET", "/patient/phone-change", token)
    assert pending.status == 200 and pending.body["expires_at"] == requested.body["expires_at"]
    assert new_phone not in str(pending.body)  # masked
    # 71 hours later it is still pending; the reminder job reminds once
    _advance(api, practice, 71 * 3600)
    assert api.call("POST", "/_local/jobs/remind-phone-requests/run").status == 200
    api.call("POST", "/_local/jobs/remind-phone-requests/run")
    reminders = [m for m in _outbox(api, patient["cell_phone"]) if "confirm or decline" in m["body"]]
    assert len(reminders) == 1
    # 72 hours: a late confirmation is 410 and changes nothing, the job expires it once
    _advance(api, practice, 3600)
    token = _patient_token(api, practice, patient)
    code = _outbox(api, new_phone)[-1]["code"]
    late = api.call("POST", "/patient/phone-change/confirm", token, {"code": code})
    assert late.status == 410 and late.error_code == "expired"
    first = api.call("POST", "/_local/jobs/expire-phone-requests/run")
    assert first.status == 200 and first.body["result"]["expired"] >= 1
    listed = api.call("GET", f"{path}/phone-change-requests", practice["admin"])
    assert [r["status"] for r in listed.body["items"]] == ["expired"]
    assert api.call("GET", path, practice["admin"]).body["cell_phone"] == patient["cell_phone"]
    assert api.call("GET", "/patient/phone-change", token).status == 404


def test_r_phone_2_and_7_confirmation_changes_the_number_and_tells_the_old_one(api: Api) -> None:
    practice = api.new_practice()
    patient, token = _verified_patient(api, practice)
    new_phone = unique_phone()
    path = f"/patients/{patient['patient_id']}"
    assert api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": new_phone}).status == 202
    wrong = api.call("POST", "/patient/phone-change/confirm", token, {"code": "12345"})
    assert wrong.status == 400
    code = _outbox(api, new_phone)[-1]["code"]
    assert api.call("POST", "/patient/phone-change/confirm", token, {"code": code}).status == 200
    assert api.call("GET", path, practice["admin"]).body["cell_phone"] == new_phone
    assert "changed" in _outbox(api, patient["cell_phone"])[-1]["body"]
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": new_phone})
    assert [p["patient_id"] for p in found.body["items"]] == [patient["patient_id"]]
    # the old number no longer logs in; the new one does
    assert api.call("POST", "/patient/phone-change/confirm", token, {"code": code}).status == 404
    assert _login(api, practice, new_phone)["patient_id"] == patient["patient_id"]


def test_r_phone_7_confirmation_changes_the_number_records_both_masked_and_tells_the_old_number(api: Api) -> None:
    # Given a verified patient with a pending phone change requested by staff
    practice = api.new_practice()
    patient, token = _verified_patient(api, practice)
    old_phone, new_phone = patient["cell_phone"], unique_phone()
    path = f"/patients/{patient['patient_id']}"
    assert api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": new_phone}).status == 202
    told_before = len(_outbox(api, old_phone))
    # When the patient confirms with the code sent to the new number
    confirmed = api.call("POST", "/patient/phone-change/confirm", token, {"code": _outbox(api, new_phone)[-1]["code"]})
    assert confirmed.status == 200, confirmed
    # Then the number changed
    assert api.call("GET", path, practice["admin"]).body["cell_phone"] == new_phone
    # And one system message records the old and the new number, masked (never in full)
    conversation = api.call("GET", f"/conversations/{patient['conversation_id']}", practice["admin"])
    assert conversation.status == 200, conversation
    records = [m for m in conversation.body["messages"] if m.get("kind") == "phone_change_confirmed"]
    assert len(records) == 1 and records[0]["sender"] == "system"
    text = records[0]["body"]
    assert _masked(old_phone) in text and _masked(new_phone) in text
    assert old_phone not in text and new_phone not in text and old_phone[-4:] not in text
    # And the old number is told by SMS that the number on the account changed (no code, not the new number)
    told = _outbox(api, old_phone)[told_before:]
    assert len(told) == 1 and "changed" in told[0]["body"], told
    assert told[0].get("code") is None and new_phone not in told[0]["body"] and new_phone[-4:] not in told[0]["body"]


def _masked(phone: str) -> str:
    """How API.md's masked numbers read: the country prefix and the last two digits (domain/phones.mask_phone)."""
    return f"{phone[:2]}{'•' * (len(phone) - 4)}{phone[-2:]}"


def test_r_phone_1_and_4_decline_and_immediate_update(api: Api) -> None:
    practice = api.new_practice()
    fresh = api.new_patient(practice, cell_phone=unique_phone())
    new_phone = unique_phone()
    updated = api.call(
        "PUT", f"/patients/{fresh['patient_id']}/cell-phone", practice["admin"], {"cell_phone": new_phone}
    )
    assert updated.status == 200 and updated.body["patient"]["cell_phone"] == new_phone
    patient, token = _verified_patient(api, practice)
    path = f"/patients/{patient['patient_id']}"
    assert api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": unique_phone()}).status == 202
    assert api.call("POST", "/patient/phone-change/decline", token).status == 200
    listed = api.call("GET", f"{path}/phone-change-requests", practice["admin"]).body["items"]
    assert [r["status"] for r in listed] == ["declined"]
    bad = api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": "555"})
    assert bad.status == 400 and bad.body["error"]["field"] == "cell_phone"


def test_r_merge_1_and_2_through_the_runner(api: Api) -> None:
    practice = api.new_practice()
    target = api.new_patient(practice, cell_phone=unique_phone())
    landline = unique_phone()
    voicemail = api.new_patient(practice, first_name="Unknown", last_name="Caller", landline=landline)
    other_cell = api.new_patient(practice, cell_phone=unique_phone())
    path = f"/patients/{target['patient_id']}/merge"
    refused = api.call("POST", path, practice["admin"], {"source_patient_id": other_cell["patient_id"]})
    assert refused.status == 409 and refused.error_code == "different_cell_phones"
    merged = api.call("POST", path, practice["admin"], {"source_patient_id": voicemail["patient_id"]})
    assert merged.status == 200 and merged.body["landlines"] == [landline]
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": landline})
    assert [p["patient_id"] for p in found.body["items"]] == [target["patient_id"]]
    assert api.call("GET", f"/patients/{voicemail['patient_id']}", practice["admin"]).status == 404
    trail = api.call("GET", f"/patients/{target['patient_id']}/audit", practice["admin"])
    assert trail.status == 200 and {"at", "actor", "action"} <= set(trail.body["items"][0])


def test_r_phone_5_a_new_request_supersedes_the_pending_one(api: Api) -> None:
    practice = api.new_practice()
    patient, token = _verified_patient(api, practice)
    path = f"/patients/{patient['patient_id']}"
    first_phone, second_phone = unique_phone(), unique_phone()
    first = api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": first_phone})
    second = api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": second_phone})
    assert first.status == second.status == 202
    statuses = {
        r["request_id"]: r["status"]
        for r in api.call("GET", f"{path}/phone-change-requests", practice["admin"]).body["items"]
    }
    assert statuses == {first.body["request_id"]: "superseded", second.body["request_id"]: "pending"}
    assert api.call("GET", "/patient/phone-change", token).body["request_id"] == second.body["request_id"]
    # the superseded request's code no longer changes anything
    old_code = _outbox(api, first_phone)[-1]["code"]
    if old_code != _outbox(api, second_phone)[-1]["code"]:
        assert api.call("POST", "/patient/phone-change/confirm", token, {"code": old_code}).error_code == "invalid_code"
    # another patient cannot confirm this patient's request with the right code
    other, other_token = _verified_patient(api, practice)
    stolen = api.call(
        "POST", "/patient/phone-change/confirm", other_token, {"code": _outbox(api, second_phone)[-1]["code"]}
    )
    assert stolen.status == 404
    assert api.call("GET", path, practice["admin"]).body["cell_phone"] == patient["cell_phone"]


def test_system_messages_reach_the_conversation(api: Api) -> None:
    """R-DOB-1/R-DOB-3/R-PHONE-2/R-PHONE-3 as staff read the conversation (GET /conversations/{id})."""
    practice = api.new_practice()
    quiet, _ = _verified_patient(api, practice)  # a DOB match
    probe = api.call("GET", f"/conversations/{quiet['conversation_id']}", practice["admin"])
    assert probe.status == 200, probe  # a missing route fails here: never a skip
    assert [m for m in probe.body["messages"] if m.get("kind")] == []  # R-DOB-3
    patient = api.new_patient(practice, cell_phone=unique_phone())
    token = _login(api, practice, patient["cell_phone"])["token"]
    reported = api.call("POST", "/patient/dob-verification", token, {"date_of_birth": "1979-09-09"})
    assert (reported.status, reported.body["result"]) == (200, "reported_different"), reported
    corrected = api.call(
        "PUT", f"/patients/{patient['patient_id']}/date-of-birth", practice["admin"], {"date_of_birth": "1979-09-09"}
    )
    assert corrected.status == 200, corrected
    path = f"/patients/{patient['patient_id']}/cell-phone"
    assert api.call("PUT", path, practice["admin"], {"cell_phone": unique_phone()}).status == 202
    _advance(api, practice, 72 * 3600)
    assert api.call("POST", "/_local/jobs/expire-phone-requests/run").status == 200
    conversation = api.call("GET", f"/conversations/{patient['conversation_id']}", practice["admin"])
    assert conversation.status == 200, conversation
    kinds = [m.get("kind") for m in conversation.body["messages"] if m["sender"] == "system"]
    assert sorted(kinds) == ["dob_reported_different", "phone_change_expired", "phone_change_requested"]
