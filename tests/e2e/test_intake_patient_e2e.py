"""The patient's side end to end through the runner: reason prompt, sticky reason, read receipts, idempotent
messages (R-ROUTE-3, R-ROUTE-4, R-ROUTE-5, R-REL-1).

A patient reaches the conversation only after login and DOB verification (R-LOGIN-1, R-DOB-1): a login route that
does not answer as API.md says fails the test (never a skip). The same rules are also proven through the real
handlers in tests/integration/test_intake_patient_routes.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, unique_phone

pytestmark = pytest.mark.e2e


def _login(api: Api, practice: dict[str, Any], cell: str) -> Any:
    started = api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": cell})
    assert started.status == 202, started
    code = api.call("GET", f"/_local/outbox?to={cell.replace('+', '%2B')}").body["items"][-1]["code"]
    verified = api.call(
        "POST", "/patient/login/verify", body={"practice_id": practice["practice_id"], "phone": cell, "code": code}
    )
    assert verified.status == 200, verified
    return verified.body


def _verified_patient(api: Api, practice: dict[str, Any]) -> tuple[dict[str, Any], str]:
    cell = unique_phone()
    patient = api.new_patient(practice, cell_phone=cell)
    token = _login(api, practice, cell)["token"]
    dob = api.call("POST", "/patient/dob-verification", token, {"date_of_birth": patient["date_of_birth"]})
    assert dob.status == 200 and dob.body["result"] == "verified", dob
    return patient, token


def test_r_route_3_4_5_prompt_offer_and_sticky_reason_through_the_runner(api: Api) -> None:
    practice = api.new_practice()
    staff_id, _ = api.new_staff(practice)
    assert (
        api.call(
            "PUT", "/routing-settings", practice["admin"], {"reasons_enabled": True, "locations_enabled": False}
        ).status
        == 200
    )
    api.call("PUT", f"/staff/{staff_id}/subscriptions", practice["admin"], {"reasons": ["billing"]})
    patient, token = _verified_patient(api, practice)
    # R-ROUTE-3 / R-ROUTE-4: a closed conversation, nothing unread, no recent message: prompted, billing only
    view = api.call("GET", "/patient/conversation", token).body
    assert view["reason_prompt"] == {"required": True, "reasons": [{"reason": "billing", "label": "Billing"}]}
    assert (
        api.call("POST", "/patient/conversation/messages", token, {"body": "x", "client_message_id": "1"}).error_code
        == "reason_required"
    )
    refused = api.call(
        "POST", "/patient/conversation/messages", token, {"body": "x", "reason": "referrals", "client_message_id": "2"}
    )
    assert refused.error_code == "reason_not_offered"
    first = api.call(
        "POST", "/patient/conversation/messages", token, {"body": "bill", "reason": "billing", "client_message_id": "3"}
    )
    again = api.call(
        "POST", "/patient/conversation/messages", token, {"body": "bill", "reason": "billing", "client_message_id": "3"}
    )
    assert (first.status, again.status, first.body) == (201, 201, again.body)  # R-REL-1
    # R-ROUTE-5: closed again within the hour: no prompt, the reason sticks
    api.call("POST", f"/conversations/{patient['conversation_id']}/close", practice["admin"])
    assert api.call("GET", "/patient/conversation", token).body["reason_prompt"]["required"] is False
    sticky = api.call("POST", "/patient/conversation/messages", token, {"body": "more", "client_message_id": "4"})
    assert sticky.body["reason"] == "billing"
    # Over an hour later with the practice's reply unread: no prompt; once read: prompted again
    api.call("POST", f"/conversations/{patient['conversation_id']}/close", practice["admin"])
    api.call("POST", f"/conversations/{patient['conversation_id']}/messages", practice["admin"], {"body": "ok"})
    api.call("POST", "/_local/clock", body={"advance_seconds": 3700})
    # Tokens are checked against the moved clock: log in again (the DOB check is still fresh, under 30 days)
    again_in = _login(api, practice, patient["cell_phone"])
    assert again_in["dob_verification_required"] is False
    token = again_in["token"]
    assert api.call("GET", "/patient/conversation", token).body["reason_prompt"]["required"] is False
    assert api.call("POST", "/patient/conversation/read", token).status == 200
    assert api.call("GET", "/patient/conversation", token).body["reason_prompt"]["required"] is True
