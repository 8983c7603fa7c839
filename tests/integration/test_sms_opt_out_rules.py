"""R-SMS-2/3/4 against DynamoDB Local: codes, reminders, the provider's refusal, merges and phone changes all
honour the opt-out register."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from frontdesk.adapters.clock import FixedClock, get_clock
from frontdesk.adapters.sms import RecipientOptedOut
from frontdesk.auth import Principal
from frontdesk.domain.quiet_hours import next_window_start
from frontdesk.errors import Conflict
from frontdesk.services import conversations as conversation_service
from frontdesk.services import merge as merge_service
from frontdesk.services import phone_change as phone_service
from frontdesk.store import audit as audit_store
from frontdesk.store import patient_updates, phone_requests, sms_optout
from frontdesk.store import patients as patient_store
from tests.support import invoke_route, unique_phone

pytestmark = pytest.mark.integration


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        self.sent.append((to, body))


class Refusing:
    """End User Messaging answering ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT (adapters.sms)."""

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        raise RecipientOptedOut("opted out with the carrier")


@pytest.fixture
def practice(dynamodb: str) -> dict[str, Any]:
    created = invoke_route(
        "POST", "/practices", {"name": "Clinic", "textable_number": unique_phone()}, {"sub": "s", "role": "support"}
    )
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = Principal(sub="a1", role="admin", practice_id=practice_id, staff_id="a1")
    return {
        "practice_id": practice_id,
        "number": created.body["textable_number"],
        "admin": admin,
        "claims": admin.claims(),
    }


def _patient(practice: dict[str, Any], *, verified: bool = False, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", "cell_phone": unique_phone()}
    created = invoke_route("POST", "/patients", {**body, **fields}, practice["claims"])
    assert created.status == 201, created
    if verified:
        patient = patient_store.get_patient(practice["practice_id"], created.body["patient_id"], consistent=True)
        assert patient is not None
        patient_updates.touch_login(patient, get_clock().now())
    return dict(created.body)


def _opt_out(practice: dict[str, Any], phone: str) -> None:
    sms_optout.record(practice["practice_id"], practice["number"], phone, True, get_clock().now(), "keyword")


def _sms_opted_out(practice: dict[str, Any], patient: dict[str, Any]) -> bool:
    reply = invoke_route("GET", f"/patients/{patient['patient_id']}", None, practice["claims"])
    assert reply.status == 200, reply
    return bool(reply.body["sms_opted_out"])


def test_r_sms_3_a_login_code_for_any_opted_out_number_is_409_known_or_not(practice: dict[str, Any]) -> None:
    # Given an opted-out number of a patient and an opted-out number nobody has
    patient = _patient(practice)
    stranger = unique_phone()
    _opt_out(practice, patient["cell_phone"])
    _opt_out(practice, stranger)
    # When codes are asked for both, and for a number that did not opt out
    answers = [
        invoke_route("POST", "/patient/login", {"practice_id": practice["practice_id"], "phone": phone})
        for phone in (patient["cell_phone"], stranger, unique_phone())
    ]
    # Then both opted-out numbers get the same 409 (nothing about accounts leaks), the other the usual 202
    assert [a.status for a in answers] == [409, 409, 202]
    assert answers[0].body == answers[1].body
    assert answers[0].body["error"]["code"] == "sms_opted_out" and "START" in answers[0].body["error"]["message"]


def test_r_sms_3_a_phone_change_code_to_an_opted_out_number_is_refused_before_anything_is_written(
    practice: dict[str, Any],
) -> None:
    # Given a verified patient and an opted-out new number
    patient = _patient(practice, verified=True)
    new = unique_phone()
    _opt_out(practice, new)
    sms = Recorder()
    # When staff ask for the change
    with pytest.raises(Conflict) as refused:
        phone_service.request_change(practice["practice_id"], patient["patient_id"], new, practice["admin"], sms=sms)
    # Then 409 sms_opted_out, no request, no text
    assert refused.value.code == "sms_opted_out"
    assert phone_requests.requests_of(practice["practice_id"], patient["patient_id"]) == []
    assert sms.sent == []


def test_r_sms_2_opt_out_is_by_number_so_it_survives_a_phone_change(practice: dict[str, Any]) -> None:
    # Given a never-logged-in patient whose number opted out
    patient = _patient(practice)
    _opt_out(practice, patient["cell_phone"])
    assert _sms_opted_out(practice, patient)
    # When staff change the cell phone to a new number
    new = unique_phone()
    phone_service.request_change(practice["practice_id"], patient["patient_id"], new, practice["admin"])
    # Then the new number may be texted, and the old one stays opted out for whoever gets it next
    assert not _sms_opted_out(practice, patient)
    other = _patient(practice, cell_phone=patient["cell_phone"])
    assert _sms_opted_out(practice, other)


def test_r_sms_3_the_providers_refusal_is_a_409_for_staff_and_marks_the_register(practice: dict[str, Any]) -> None:
    # Given a patient the practice never saw STOP from, but whom the carrier has opted out
    patient = _patient(practice)
    staff = Principal(sub="a1", role="admin", practice_id=practice["practice_id"], staff_id="a1")
    # When staff reply
    with pytest.raises(Conflict) as refused:
        conversation_service.reply(staff, patient["conversation_id"], "Your results are in.", False, sms=Refusing())
    # Then the reply is reported as not delivered (409 patient_opted_out, not a 500), nothing is stored,
    # the number is in the register, and the next reply is refused without calling the provider
    assert refused.value.code == "patient_opted_out" and "not delivered" in refused.value.message
    view = invoke_route("GET", f"/conversations/{patient['conversation_id']}", None, practice["claims"])
    assert view.body["messages"] == []
    assert _sms_opted_out(practice, patient)
    sms = Recorder()
    with pytest.raises(Conflict):
        conversation_service.reply(staff, patient["conversation_id"], "Hello?", False, sms=sms)
    assert sms.sent == []
    note = conversation_service.reply(staff, patient["conversation_id"], "Called instead.", True, sms=sms)
    assert note[0].body == "Called instead." and sms.sent == []


def test_r_sms_2_merging_keeps_the_opt_out_on_the_kept_cell_phone(practice: dict[str, Any]) -> None:
    # Given a patient with cell A, and a second profile whose cell B texted STOP
    target = _patient(practice)
    source = _patient(practice, first_name="Mary")
    _opt_out(practice, source["cell_phone"])
    assert not _sms_opted_out(practice, target)
    # When support merges them (two different cell phones: support only)
    support = Principal(sub="s", role="support", practice_id=practice["practice_id"])
    merge_service.merge_profiles(practice["practice_id"], target["patient_id"], source["patient_id"], support)
    # Then the kept profile's cell phone is opted out too
    assert _sms_opted_out(practice, target)


def test_r_sms_2_a_profile_that_takes_the_merged_cell_phone_takes_its_opt_out(practice: dict[str, Any]) -> None:
    # Given a landline-only patient and a profile whose cell phone opted out
    target = _patient(practice, cell_phone=None, landline=unique_phone())
    source = _patient(practice, first_name="Mary")
    _opt_out(practice, source["cell_phone"])
    # When staff merge them
    merge_service.merge_profiles(practice["practice_id"], target["patient_id"], source["patient_id"], practice["admin"])
    # Then the merged patient has that cell phone, still opted out
    reply = invoke_route("GET", f"/patients/{target['patient_id']}", None, practice["claims"])
    assert reply.body["cell_phone"] == source["cell_phone"] and reply.body["sms_opted_out"] is True


def _pending(practice: dict[str, Any], clock: FixedClock, sms: Recorder) -> dict[str, Any]:
    patient = _patient(practice, verified=True)
    phone_service.request_change(
        practice["practice_id"], patient["patient_id"], unique_phone(), practice["admin"], clock, sms
    )
    return patient


def test_r_sms_4_a_reminder_due_at_night_waits_for_08_00_and_goes_once(practice: dict[str, Any]) -> None:
    # Given a phone change requested at 22:30 New York time
    evening = next_window_start(get_clock().now(), "America/New_York") - timedelta(hours=9, minutes=30)
    clock, sms = FixedClock(evening), Recorder()
    patient = _pending(practice, clock, sms)
    # When the reminder falls due at 23:30 two days later (23 hours left) and the job runs
    clock.advance(49 * 3600)
    first = phone_service.remind_pending(clock, sms)
    # Then nothing is sent: it is deferred
    assert first["deferred"] >= 1
    assert not [t for t in sms.sent if t[0] == patient["cell_phone"] and "confirm or decline" in t[1]]
    # When the job runs twice at 08:30 (the window is open)
    clock.advance(9 * 3600)
    phone_service.remind_pending(clock, sms)
    phone_service.remind_pending(clock, sms)
    # Then exactly one reminder went
    assert len([t for t in sms.sent if t[0] == patient["cell_phone"] and "confirm or decline" in t[1]]) == 1


def test_r_sms_3_a_reminder_to_an_opted_out_number_is_skipped_and_the_skip_recorded(
    practice: dict[str, Any],
) -> None:
    # Given a pending phone change whose old number then opts out
    morning = next_window_start(get_clock().now(), "America/New_York") + timedelta(hours=2)
    clock, sms = FixedClock(morning), Recorder()
    patient = _pending(practice, clock, sms)
    _opt_out(practice, patient["cell_phone"])
    # When the reminder falls due (inside the window) and the job runs twice
    clock.advance(49 * 3600)
    phone_service.remind_pending(clock, sms)
    phone_service.remind_pending(clock, sms)
    # Then nothing went to the number and the patient's audit trail records one skip
    assert not [t for t in sms.sent if t[0] == patient["cell_phone"] and "confirm or decline" in t[1]]
    audit, _ = audit_store.list_audit(practice["practice_id"], patient["patient_id"], 50, None)
    skips = [e for e in audit if e.action == "sms.phone_change_reminder.skipped_opted_out"]
    assert len(skips) == 1 and skips[0].actor == "system:sms"
