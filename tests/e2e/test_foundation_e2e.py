"""The first slice of API.md through the local runner over HTTP, as a staff front end meets it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.support import Api, unique_phone

pytestmark = pytest.mark.e2e


def test_r_create_1_a_practice_a_staff_member_and_a_patient_round_trip(api: Api) -> None:
    practice = api.new_practice()
    staff_id, staff = api.new_staff(practice)
    created = api.call(
        "POST",
        "/patients",
        staff,
        {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", "cell_phone": "(646) 555-0142"},
    )
    assert created.status == 201
    patient = created.body
    assert patient["cell_phone"] == "+16465550142"
    read = api.call("GET", f"/patients/{patient['patient_id']}", staff)
    assert read.status == 200
    for field in ("patient_id", "first_name", "last_name", "date_of_birth", "cell_phone", "landlines", "external_id"):
        assert read.body[field] == patient[field]
    for field in ("location", "verified", "dob_verified_at", "created_at"):
        assert field in read.body
    assert read.body["created_at"].endswith("Z")


def test_r_create_2_search_by_phone_in_any_format_finds_the_patient(api: Api) -> None:
    practice = api.new_practice()
    phone = unique_phone()
    patient = api.new_patient(practice, cell_phone=phone)
    national = f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}"
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": national})
    assert found.status == 200 and [p["patient_id"] for p in found.body["items"]] == [patient["patient_id"]]
    other = api.new_practice()
    assert api.call("POST", "/patients/search", other["admin"], {"phone": phone}).body["items"] == []


def test_bad_input_gets_the_documented_envelope(api: Api) -> None:
    practice = api.new_practice()
    admin = practice["admin"]
    malformed = api.call(
        "POST", "/patients", admin, data=b'{"first_name": ', headers={"Content-Type": "application/json"}
    )
    assert malformed.status == 400 and malformed.error_code == "validation_error"
    wrong_type = api.call(
        "POST", "/patients", admin, {"first_name": ["x"], "last_name": "L", "date_of_birth": "1980-01-01"}
    )
    assert wrong_type.status == 400 and wrong_type.body["error"]["field"] == "first_name"
    bad_dob = api.call("POST", "/patients", admin, {"first_name": "A", "last_name": "B", "date_of_birth": "02/30/1980"})
    assert bad_dob.status == 400 and bad_dob.body["error"]["field"] == "date_of_birth"
    assert "02/30/1980" not in bad_dob.body["error"]["message"]


def test_r_sec_1_tokens_no_token_forged_expired_other_practice(api: Api) -> None:
    practice = api.new_practice()
    patient = api.new_patient(practice)
    path = f"/patients/{patient['patient_id']}"
    assert api.call("GET", path).status == 401
    assert api.call("GET", path, "not.a.jwt").status == 401
    forged = practice["admin"][:-4] + ("AAAA" if not practice["admin"].endswith("AAAA") else "BBBB")
    assert api.call("GET", path, forged).error_code == "unauthenticated"
    short = api.call(
        "POST",
        "/_local/tokens",
        body={
            "role": "admin",
            "practice_id": practice["practice_id"],
            "staff_id": practice["admin_id"],
            "ttl_seconds": 1,
        },
    ).body["token"]
    api.call("POST", "/_local/clock", body={"advance_seconds": 5})
    assert api.call("GET", path, short).status == 401
    other = api.new_practice()
    assert api.call("GET", path, other["admin"]).status == 404
    patient_token = api.token("patient", practice["practice_id"], patient_id=patient["patient_id"])
    assert api.call("GET", path, patient_token).status == 403
    # A signed-in user whose staff record does not exist (here: of a practice that does not exist) is refused by
    # the authorizer, as a deactivated member is (R-AUTH-3).
    unknown_practice = api.token("admin", "no-such-practice", staff_id="x")
    reply = api.call(
        "POST", "/patients", unknown_practice, {"first_name": "A", "last_name": "B", "date_of_birth": "1980-01-01"}
    )
    assert reply.status == 401 and reply.error_code == "unauthenticated"


def test_support_creates_a_practice_and_its_first_admin_only(api: Api) -> None:
    support = api.token("support")
    bad = api.call("POST", "/practices", support, {"name": "X", "country": "US", "textable_number": "+44 20 7946 0958"})
    assert bad.status == 400 and bad.body["error"]["field"] == "textable_number"
    practice = api.new_practice()
    staff_id, staff = api.new_staff(practice)
    assert api.call("POST", "/staff", staff, {"name": "N", "email": "n@example.org"}).status == 403
    assert api.call("POST", "/inboxes", staff, {"name": "Refills"}).status == 403
    inbox = api.call("POST", "/inboxes", practice["admin"], {"name": "Refills"})
    assert inbox.status == 201 and inbox.body["name"] == "Refills" and inbox.body["inbox_id"]


def test_unknown_routes_answer_like_api_gateway(api: Api) -> None:
    assert api.call("GET", "/nope").status == 404
    practice = api.new_practice()
    patient = api.new_patient(practice)
    # R-ROUTE-9: there is no route that sets labels.
    labels = api.call(
        "PUT", f"/conversations/{patient['conversation_id']}/labels", practice["admin"], {"reason": "billing"}
    )
    assert labels.status in (404, 405)


def test_openapi_document_is_served_and_lists_the_routes(api: Api) -> None:
    reply = api.call("GET", "/openapi.json")
    assert reply.status == 200 and reply.body["openapi"].startswith("3.")
    assert "/patients/{patient_id}" in reply.body["paths"]
    responses = reply.body["paths"]["/patients"]["post"]["responses"]
    assert "422" not in responses and "400" in responses and "201" in responses


def test_local_surface_clock_config_outbox_and_jobs(api: Api) -> None:
    config = api.config()
    assert {"imports_bucket", "webhook_secret", "now"} <= set(config)
    before = api.call("GET", "/_local/clock").body["now"]
    after = api.call("POST", "/_local/clock", body={"advance_seconds": 3600}).body["now"]
    assert after > before
    assert api.call("GET", f"/_local/outbox?to={unique_phone()}").body == {"items": []}
    assert api.call("POST", "/_local/jobs/no-such-job/run").status == 404
    # Setting an absolute time (a day ahead, so no other test sees time run backwards).
    target = (datetime.fromisoformat(after.replace("Z", "+00:00")) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert api.call("POST", "/_local/clock", body={"now": target}).body["now"].startswith(target[:16])
