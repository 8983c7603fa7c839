"""R-LOGIN-1 and R-DOB-1..4 through the real handlers, against DynamoDB Local."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from frontdesk.adapters.clock import LOCAL_CLOCK
from frontdesk.adapters.sms import LOCAL_OUTBOX
from frontdesk.store import keys
from frontdesk.store.conversations import MessageItem
from tests.support import Reply, invoke_route, unique_phone

pytestmark = pytest.mark.integration


@pytest.fixture
def practice(dynamodb: str) -> dict[str, Any]:
    support = {"sub": "s", "role": "support"}
    created = invoke_route("POST", "/practices", {"name": "Clinic", "textable_number": unique_phone()}, support)
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = {"sub": "a1", "role": "admin", "practice_id": practice_id, "staff_id": "a1"}
    return {"practice_id": practice_id, "admin": admin, "support": support}


def _patient(practice: dict[str, Any], **fields: str) -> dict[str, Any]:
    body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", "cell_phone": unique_phone()}
    created = invoke_route("POST", "/patients", {**body, **fields}, practice["admin"])
    assert created.status == 201, created
    return dict(created.body)


def _code(phone: str) -> str:
    return str(next(e.code for e in reversed(LOCAL_OUTBOX.messages(phone)) if e.code))


def _verify(practice: dict[str, Any], phone: str, code: str) -> Reply:
    return invoke_route(
        "POST", "/patient/login/verify", {"practice_id": practice["practice_id"], "phone": phone, "code": code}
    )


def _login(practice: dict[str, Any], patient: dict[str, Any]) -> dict[str, str]:
    sent = invoke_route(
        "POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": patient["cell_phone"]}
    )
    assert sent.status == 202
    session = _verify(practice, patient["cell_phone"], _code(patient["cell_phone"]))
    assert session.status == 200, session
    return {
        "sub": patient["patient_id"],
        "role": "patient",
        "practice_id": practice["practice_id"],
        "patient_id": patient["patient_id"],
    }


def _kinds(practice: dict[str, Any], patient: dict[str, Any]) -> list[str]:
    pk = keys.conversation_pk(practice["practice_id"], patient["conversation_id"])
    return [m.kind or "" for m in MessageItem.query(pk, MessageItem.sk.startswith("MSG#"), consistent_read=True)]


def test_r_login_1_same_answer_for_known_and_unknown_phones(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    stranger = unique_phone()
    known = invoke_route(
        "POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": patient["cell_phone"]}
    )
    unknown = invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": stranger})
    assert (known.status, known.body) == (unknown.status, unknown.body) == (202, {"status": "code_sent"})
    assert LOCAL_OUTBOX.messages(patient["cell_phone"]) and not LOCAL_OUTBOX.messages(stranger)
    # guessing a code for the unknown phone never logs anyone in
    assert _verify(practice, stranger, "123456").error_code == "invalid_code"


def test_r_login_1_right_code_gives_a_session_once(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": patient["cell_phone"]})
    code = _code(patient["cell_phone"])
    session = _verify(practice, patient["cell_phone"], code)
    assert session.status == 200 and session.body["patient_id"] == patient["patient_id"]
    assert session.body["dob_verification_required"] is True and session.body["token"]
    assert _verify(practice, patient["cell_phone"], code).error_code == "invalid_code"  # single use
    read = invoke_route("GET", f"/patients/{patient['patient_id']}", claims=practice["admin"])
    assert read.body["verified"] is True


def test_r_login_1_concurrent_verifies_of_one_code_give_one_session(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": patient["cell_phone"]})
    code = _code(patient["cell_phone"])
    barrier, statuses = threading.Barrier(4), []

    def verify() -> None:
        barrier.wait()
        statuses.append(_verify(practice, patient["cell_phone"], code).status)

    threads = [threading.Thread(target=verify) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 400, 400, 400]


def test_r_login_1_five_wrong_codes_then_429_even_for_the_right_one(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": patient["cell_phone"]})
    code = _code(patient["cell_phone"])
    wrong = "000000" if code != "000000" else "111111"
    assert [_verify(practice, patient["cell_phone"], wrong).error_code for _ in range(5)] == ["invalid_code"] * 5
    assert _verify(practice, patient["cell_phone"], code).status == 429


def test_r_login_1_a_code_is_valid_ten_minutes(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": patient["cell_phone"]})
    LOCAL_CLOCK.advance(600)
    assert _verify(practice, patient["cell_phone"], _code(patient["cell_phone"])).error_code == "invalid_code"


def test_bad_login_input_is_a_400_naming_the_field(practice: dict[str, Any]) -> None:
    bad_phone = invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": "12"})
    assert bad_phone.status == 400 and bad_phone.body["error"]["field"] == "phone"
    patient = _patient(practice)
    short = _verify(practice, patient["cell_phone"], "123")
    assert short.status == 400 and short.body["error"]["field"] == "code"


def test_r_sec_1_patient_tokens_cannot_use_staff_routes_and_the_reverse(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    claims = _login(practice, patient)
    assert invoke_route("GET", f"/patients/{patient['patient_id']}", claims=claims).status == 403
    assert (
        invoke_route(
            "PUT", f"/patients/{patient['patient_id']}/date-of-birth", {"date_of_birth": "1980-01-01"}, claims
        ).status
        == 403
    )
    assert (
        invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, practice["admin"]).status
        == 403
    )
    assert invoke_route("POST", "/patient/phone-change/decline", None, practice["admin"]).status == 403


def test_r_dob_1_first_login_mismatch_reports_and_staff_completes_it(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    claims = _login(practice, patient)
    # When the patient gives a different DOB
    answer = invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1981-05-06"}, claims)
    # Then the DOB on file is unchanged, the team got a system message with both dates, the patient waits
    assert answer.body == {"result": "reported_different"}
    read = invoke_route("GET", f"/patients/{patient['patient_id']}", claims=practice["admin"])
    assert read.body["date_of_birth"] == "1980-04-02"
    pk = keys.conversation_pk(practice["practice_id"], patient["conversation_id"])
    report = [m for m in MessageItem.query(pk, MessageItem.sk.startswith("MSG#")) if m.kind == "dob_reported_different"]
    assert len(report) == 1 and "1980-04-02" in report[0].body and "1981-05-06" in report[0].body
    again = invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, claims)
    assert again.status == 403 and again.error_code == "dob_review_pending"
    # When staff (allowed: the report is open, R-DOB-4) set the reported DOB
    changed = invoke_route(
        "PUT", f"/patients/{patient['patient_id']}/date-of-birth", {"date_of_birth": "1981-05-06"}, practice["admin"]
    )
    assert changed.status == 200 and changed.body["dob_verified_at"] is not None
    # Then the patient is told by SMS they can continue
    assert "continue" in LOCAL_OUTBOX.messages(patient["cell_phone"])[-1].body
    # And later staff edits need support
    refused = invoke_route(
        "PUT", f"/patients/{patient['patient_id']}/date-of-birth", {"date_of_birth": "1981-05-07"}, practice["admin"]
    )
    assert refused.status == 409 and refused.error_code == "support_required"


def test_r_dob_3_a_match_notifies_nobody(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    claims = _login(practice, patient)
    assert invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, claims).body == {
        "result": "verified"
    }
    assert _kinds(practice, patient) == []


def test_r_dob_2_three_failures_lock_one_message_support_resets(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    claims = _login(practice, patient)
    assert invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, claims).status == 200
    LOCAL_CLOCK.advance(31 * 86400)
    results = [
        invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1970-01-01"}, claims).body
        for _ in range(3)
    ]
    assert results == [{"result": "failed"}] * 3
    locked = invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, claims)
    assert locked.status == 403 and locked.error_code == "dob_locked"
    assert _kinds(practice, patient).count("dob_verification_failed") == 1
    # staff cannot change that DOB, support can reset the lock
    path = f"/patients/{patient['patient_id']}"
    assert (
        invoke_route("PUT", f"{path}/date-of-birth", {"date_of_birth": "1980-04-03"}, practice["admin"]).status == 409
    )
    assert invoke_route("POST", f"{path}/dob-lock/reset", None, practice["admin"]).status == 403
    reset = invoke_route(
        "POST", f"{path}/dob-lock/reset", {"practice_id": practice["practice_id"]}, practice["support"]
    )
    assert reset.status == 200, reset
    assert invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, claims).body == {
        "result": "verified"
    }


def test_r_dob_4_staff_edit_before_first_login_and_support_always(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    path = f"/patients/{patient['patient_id']}/date-of-birth"
    assert invoke_route("PUT", path, {"date_of_birth": "1980-04-03"}, practice["admin"]).status == 200
    _login(practice, patient)
    assert (
        invoke_route("PUT", path, {"date_of_birth": "1980-04-04"}, practice["admin"]).error_code == "support_required"
    )
    by_support = invoke_route(
        "PUT", path, {"date_of_birth": "1980-04-04", "practice_id": practice["practice_id"]}, practice["support"]
    )
    assert by_support.status == 200 and by_support.body["date_of_birth"] == "1980-04-04"
    bad = invoke_route("PUT", path, {"date_of_birth": "04/04/1980"}, practice["admin"])
    assert bad.status == 400 and bad.body["error"]["field"] == "date_of_birth"


def test_r_login_1_a_sixth_code_within_the_hour_is_not_sent(practice: dict[str, Any]) -> None:
    patient = _patient(practice)
    body = {"practice_id": practice["practice_id"], "phone": patient["cell_phone"]}
    answers = [invoke_route("POST", "/patient/login", body).status for _ in range(6)]
    assert answers == [202] * 6
    assert len(LOCAL_OUTBOX.messages(patient["cell_phone"])) == 5
    LOCAL_CLOCK.advance(3601)
    invoke_route("POST", "/patient/login", body)
    assert len(LOCAL_OUTBOX.messages(patient["cell_phone"])) == 6


def test_r_create_3_a_profile_without_cell_phone_logs_in_once_one_is_added(practice: dict[str, Any]) -> None:
    # Given a profile created without a cell phone (internal use only)
    created = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1975-01-31"},
        practice["admin"],
    )
    patient = dict(created.body)
    phone = unique_phone()
    # When someone asks for a code with a number the profile does not have, nothing is sent
    invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": phone})
    assert LOCAL_OUTBOX.messages(phone) == []
    # When staff add the cell phone (never logged in: at once, R-PHONE-1), the patient can log in
    added = invoke_route(
        "PUT", f"/patients/{patient['patient_id']}/cell-phone", {"cell_phone": phone}, practice["admin"]
    )
    assert added.status == 200 and added.body["patient"]["cell_phone"] == phone
    assert _login(practice, {**patient, "cell_phone": phone})["patient_id"] == patient["patient_id"]
