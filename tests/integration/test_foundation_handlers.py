"""The staff API's first slice through the real handlers, against DynamoDB Local (R-CREATE-1/2/4, R-SEC-1/2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import invoke_route, unique_email, unique_phone

pytestmark = pytest.mark.integration


@pytest.fixture
def practice(dynamodb: str) -> dict[str, Any]:
    support = {"sub": "sup", "role": "support"}
    created = invoke_route(
        "POST", "/practices", {"name": "Uptown Family Care", "textable_number": unique_phone()}, support
    )
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = invoke_route(
        "POST",
        "/staff",
        {"name": "Ada", "email": unique_email("ada"), "role": "admin", "practice_id": practice_id},
        support,
    )
    assert admin.status == 201, admin
    staff_id = admin.body["staff_id"]
    return {
        "practice_id": practice_id,
        "admin": {"sub": staff_id, "role": "admin", "practice_id": practice_id, "staff_id": staff_id},
    }


def test_r_create_1_staff_create_a_patient_without_a_cell_phone(practice: dict[str, Any]) -> None:
    # Given a practice, When staff create a patient with name and DOB only
    reply = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1975-01-31"},
        practice["admin"],
    )
    # Then the profile exists without a cell phone, and reads back the same
    assert reply.status == 201
    assert reply.body["cell_phone"] is None and reply.body["verified"] is False
    read = invoke_route("GET", f"/patients/{reply.body['patient_id']}", claims=practice["admin"])
    # (GET adds sms_opted_out, R-SMS-2: false for a profile without a cell phone)
    assert read.status == 200 and read.body == {**reply.body, "sms_opted_out": False}


def test_r_create_2_phones_are_stored_in_e164(practice: dict[str, Any]) -> None:
    reply = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1975-01-31", "cell_phone": "(415) 555-0199"},
        practice["admin"],
    )
    assert reply.status == 201 and reply.body["cell_phone"] == "+14155550199"
    found = invoke_route("POST", "/patients/search", {"phone": "415.555.0199"}, practice["admin"])
    assert [p["patient_id"] for p in found.body["items"]] == [reply.body["patient_id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "A", "last_name": "B", "date_of_birth": "31/01/1975"}, "date_of_birth"),
        ({"first_name": "A", "last_name": "B", "date_of_birth": "1975-01-31", "cell_phone": "555-12"}, "cell_phone"),
        (
            {"first_name": "A", "last_name": "B", "date_of_birth": "1975-01-31", "cell_phone": "+44 20 7946 0958"},
            "cell_phone",
        ),
        ({"first_name": "", "last_name": "B", "date_of_birth": "1975-01-31"}, "first_name"),
        ({"last_name": "B", "date_of_birth": "1975-01-31"}, "first_name"),
        ({"first_name": 7, "last_name": "B", "date_of_birth": "1975-01-31"}, "first_name"),
    ],
)
def test_r_create_1_malformed_input_is_a_400_naming_the_field_and_writes_nothing(
    practice: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    reply = invoke_route("POST", "/patients", body, practice["admin"])
    assert reply.status == 400
    assert reply.body["error"]["code"] == "validation_error" and reply.body["error"]["field"] == field


def test_r_create_4_a_shared_cell_phone_is_allowed_and_listed_as_probable_duplicate(practice: dict[str, Any]) -> None:
    from frontdesk.store.patients import list_duplicates

    phone = unique_phone()
    first = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Kim", "last_name": "Park", "date_of_birth": "1990-05-05", "cell_phone": phone},
        practice["admin"],
    )
    second = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Lee", "last_name": "Park", "date_of_birth": "2015-07-07", "cell_phone": phone},
        practice["admin"],
    )
    assert first.status == second.status == 201
    pairs, _ = list_duplicates(practice["practice_id"], 50, None)
    assert [(sorted(p.patient_ids), p.reason) for p in pairs] == [
        (sorted([first.body["patient_id"], second.body["patient_id"]]), "same_cell_phone")
    ]


def test_external_id_is_unique_within_a_practice(practice: dict[str, Any]) -> None:
    body = {"first_name": "Kim", "last_name": "Park", "date_of_birth": "1990-05-05", "external_id": "MRN-1"}
    assert invoke_route("POST", "/patients", body, practice["admin"]).status == 201
    again = invoke_route("POST", "/patients", {**body, "first_name": "Other"}, practice["admin"])
    assert again.status == 409 and again.body["error"]["code"] == "external_id_taken"


def test_r_sec_1_staff_of_another_practice_cannot_read_the_patient(practice: dict[str, Any]) -> None:
    created = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1975-01-31"},
        practice["admin"],
    )
    stranger = {"sub": "x", "role": "admin", "practice_id": "another-practice", "staff_id": "x"}
    assert invoke_route("GET", f"/patients/{created.body['patient_id']}", claims=stranger).status == 404


def test_r_sec_1_roles_are_checked_before_the_body(practice: dict[str, Any]) -> None:
    patient = {"sub": "q", "role": "patient", "practice_id": practice["practice_id"], "patient_id": "q"}
    assert invoke_route("POST", "/patients", {"nonsense": True}, patient).status == 403
    assert invoke_route("POST", "/patients", {"nonsense": True}, None).status == 401
    staff_on_support_route = invoke_route("POST", "/practices", {"name": "x"}, practice["admin"])
    assert staff_on_support_route.status == 403


def test_r_sec_2_reads_and_creates_of_a_patient_are_audited(practice: dict[str, Any]) -> None:
    from frontdesk.store.audit import list_audit

    created = invoke_route(
        "POST",
        "/patients",
        {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1975-01-31"},
        practice["admin"],
    )
    invoke_route("GET", f"/patients/{created.body['patient_id']}", claims=practice["admin"])
    entries, _ = list_audit(practice["practice_id"], created.body["patient_id"], 10, None)
    assert sorted(e.action for e in entries) == ["patient.create", "patient.read"]
    assert {e.actor for e in entries} == {f"admin:{practice['admin']['staff_id']}"}


def test_a_textable_number_belongs_to_one_practice(dynamodb: str) -> None:
    number = unique_phone()
    support = {"sub": "sup", "role": "support"}
    assert invoke_route("POST", "/practices", {"name": "One", "textable_number": number}, support).status == 201
    second = invoke_route("POST", "/practices", {"name": "Two", "textable_number": number}, support)
    assert second.status == 409 and second.body["error"]["code"] == "number_taken"


def test_r_import_4_a_patient_with_more_probable_duplicates_than_a_transaction_holds_is_created(
    practice: dict[str, Any],
) -> None:
    from frontdesk.store.patients import PAIRS_IN_CREATE_TRANSACTION, list_duplicates

    # Given more profiles with the same name and DOB than the create transaction has room for
    existing = PAIRS_IN_CREATE_TRANSACTION + 2
    body = {"first_name": "John", "last_name": "Smith", "date_of_birth": "1970-01-01"}
    for _ in range(existing):
        assert invoke_route("POST", "/patients", body, practice["admin"]).status == 201
    # When one more is created, Then it is created and paired with every one of them
    last = invoke_route("POST", "/patients", body, practice["admin"])
    assert last.status == 201
    mine, start = [], None
    while True:
        pairs, start = list_duplicates(practice["practice_id"], 200, start)
        mine += [p for p in pairs if last.body["patient_id"] in p.patient_ids]
        if not start:
            break
    assert len(mine) == existing and {p.reason for p in mine} == {"same_name_and_dob"}
