"""R-PHONE-4 through the patient routes: a confirmation (or a decline) after expiry answers 410 `expired`, whether or
not the expiry job has run yet (issue 12 item 5: it was 404 once the job had closed the request)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from frontdesk.adapters.clock import FixedClock, get_clock
from frontdesk.auth import Principal
from frontdesk.services import phone_change as service
from frontdesk.store import patient_updates, phone_requests
from frontdesk.store import patients as patient_store
from tests.support import invoke_route, unique_phone

pytestmark = pytest.mark.integration


class FakeSms:
    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        if code:
            self.codes[to] = code


@pytest.fixture
def practice(dynamodb: str) -> dict[str, Any]:
    created = invoke_route(
        "POST", "/practices", {"name": "Clinic", "textable_number": unique_phone()}, {"sub": "s", "role": "support"}
    )
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = Principal(sub="a1", role="admin", practice_id=practice_id, staff_id="a1")
    return {"practice_id": practice_id, "admin": admin}


def _expired_request(practice: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], str]:
    """A verified patient whose phone change was requested 73 hours ago (by the clock the routes read)."""
    body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", "cell_phone": unique_phone()}
    created = invoke_route("POST", "/patients", body, practice["admin"].claims())
    assert created.status == 201, created
    patient = patient_store.get_patient(practice["practice_id"], created.body["patient_id"], consistent=True)
    assert patient is not None
    then = FixedClock(get_clock().now() - timedelta(hours=73))
    patient_updates.touch_login(patient, then.now())
    sms, new = FakeSms(), unique_phone()
    requested = service.request_change(
        practice["practice_id"], patient.patient_id, new, practice["admin"], clock=then, sms=sms
    )
    assert requested.status == "pending_confirmation"
    claims = {"sub": patient.patient_id, "role": "patient", "practice_id": practice["practice_id"]}
    claims["patient_id"] = patient.patient_id
    return dict(created.body), claims, sms.codes[new]


def _run_expiry_job() -> None:
    assert service.expire_due(FixedClock(get_clock().now()))["expired"] >= 1


@pytest.mark.parametrize("job_ran", [False, True], ids=["before-the-job", "after-the-job"])
def test_r_phone_4_a_confirmation_after_expiry_is_410_whether_or_not_the_job_ran(
    practice: dict[str, Any], job_ran: bool
) -> None:
    # Given a phone change whose 72 hours are over, closed by the expiry job or not yet
    patient, claims, code = _expired_request(practice)
    if job_ran:
        _run_expiry_job()
    # When the patient confirms with the right code
    late = invoke_route("POST", "/patient/phone-change/confirm", {"code": code}, claims)
    # Then 410 expired, and nothing changed
    assert (late.status, late.body["error"]["code"]) == (410, "expired"), late
    stored = patient_store.get_patient(practice["practice_id"], patient["patient_id"], consistent=True)
    assert stored is not None and stored.cell_phone == patient["cell_phone"]
    statuses = [r.status for r in phone_requests.requests_of(practice["practice_id"], patient["patient_id"])]
    assert statuses == (["expired"] if job_ran else ["pending"])
    # And the pending-request read still says there is none (404), whichever order
    assert invoke_route("GET", "/patient/phone-change", None, claims).status == 404


@pytest.mark.parametrize("job_ran", [False, True], ids=["before-the-job", "after-the-job"])
def test_r_phone_4_a_decline_after_expiry_is_410_whether_or_not_the_job_ran(
    practice: dict[str, Any], job_ran: bool
) -> None:
    _, claims, _ = _expired_request(practice)
    if job_ran:
        _run_expiry_job()
    late = invoke_route("POST", "/patient/phone-change/decline", None, claims)
    assert (late.status, late.body["error"]["code"]) == (410, "expired"), late


def test_r_phone_4_only_the_latest_request_expired_makes_a_410(practice: dict[str, Any]) -> None:
    # Given an expired request, then a newer one the patient confirmed
    patient, claims, _ = _expired_request(practice)
    _run_expiry_job()
    sms = FakeSms()
    newer = unique_phone()
    service.request_change(practice["practice_id"], patient["patient_id"], newer, practice["admin"], sms=sms)
    assert invoke_route("POST", "/patient/phone-change/confirm", {"code": sms.codes[newer]}, claims).status == 200
    # When the patient confirms again, Then 404: the latest request is confirmed, not expired
    again = invoke_route("POST", "/patient/phone-change/confirm", {"code": sms.codes[newer]}, claims)
    assert (again.status, again.body["error"]["code"]) == (404, "not_found"), again
