"""services.phone_change against an in-memory store (tests/fake_phone_change_store.py): the scenarios the integration
tests prove on DynamoDB (R-PHONE-1..7, R-CREATE-4, R-SMS-3/4, R-REL-2), minus the database, so a phone-change rule
breaks here first. What only DynamoDB can prove (the conditions themselves, the sparse index, real threads racing)
stays in tests/integration/test_phone_change_store.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from frontdesk.adapters.clock import FixedClock
from frontdesk.auth import Principal
from frontdesk.domain.patients import Patient
from frontdesk.domain.phones import mask_phone
from frontdesk.domain.practices import Practice
from frontdesk.errors import ApiError, Conflict, Expired, NotFound, TooManyAttempts, ValidationFailed
from frontdesk.services import phone_change as service
from tests.fake_phone_change_store import FakePhoneChangeStore

PRACTICE, PATIENT, OTHER = "p1", "pt1", "pt2"
PRACTICE_NUMBER = "+12025550100"
OLD, NEW = "+12025550111", "+12025550122"
# 15:00 UTC = 10:00 in New York: inside R-SMS-4's 08:00-21:00 window
NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
ADMIN = Principal(sub="a1", role="admin", practice_id=PRACTICE, staff_id="a1")


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None]] = []

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        self.sent.append((to, body, code))

    def code_for(self, to: str) -> str:
        return next(code for dest, _, code in reversed(self.sent) if dest == to and code)

    def to(self, number: str) -> list[str]:
        return [body for dest, body, _ in self.sent if dest == number]


class Events:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        self.published.append(detail)

    def kinds(self) -> list[str | None]:
        return [d["kind"] for d in self.published]


def _patient(patient_id: str = PATIENT, *, cell: str | None = OLD, verified: bool = True) -> Patient:
    return Patient(
        practice_id=PRACTICE,
        patient_id=patient_id,
        first_name="Maria",
        last_name="Lopez",
        date_of_birth=date(1980, 4, 2),
        conversation_id=f"c-{patient_id}",
        created_at=NOW - timedelta(days=30),
        cell_phone=cell,
        verified=verified,
        version=1,
    )


def _world(*patients: Patient) -> FakePhoneChangeStore:
    practice = Practice(PRACTICE, "Clinic", "US", PRACTICE_NUMBER, False, NOW - timedelta(days=400))
    store = FakePhoneChangeStore(practice=practice)
    for patient in patients or (_patient(),):
        store.add_patient(patient)
    return store


def _kinds(store: FakePhoneChangeStore) -> list[str | None]:
    return [posted.message.kind for posted in store.messages]


def _requested(
    store: FakePhoneChangeStore, clock: FixedClock, sms: FakeSms, new: str = NEW
) -> service.PhoneChangeResult:
    result = service.request_change(PRACTICE, PATIENT, new, ADMIN, clock, sms, store=store, publisher=Events())
    assert result.status == "pending_confirmation" and result.request is not None
    return result


def _wrong(sms: FakeSms, number: str = NEW) -> str:
    return "000000" if sms.code_for(number) != "000000" else "111111"


def test_r_phone_1_a_patient_who_never_logged_in_gets_the_new_number_at_once() -> None:
    # Given a patient who never logged in
    store, sms = _world(_patient(verified=False)), FakeSms()
    # When staff change the cell phone
    result = service.request_change(PRACTICE, PATIENT, NEW, ADMIN, FixedClock(NOW), sms, store=store)
    # Then it changed at once, without a request or a code, audited as an update
    assert result.status == "updated" and result.patient is not None and result.patient.cell_phone == NEW
    assert store.patients[PATIENT].cell_phone == NEW and store.patients[PATIENT].version == 2
    assert store.requests == {} and sms.sent == []
    assert [(a.actor, a.action) for a in store.audits] == [("admin:a1", "patient.cell_phone.update")]
    assert [pid for pid, _, _ in store.patient_ids_by_phone(PRACTICE, NEW)] == [PATIENT]


def test_r_phone_1_the_same_number_again_changes_nothing_and_is_audited() -> None:
    store, sms = _world(), FakeSms()
    result = service.request_change(PRACTICE, PATIENT, OLD, ADMIN, FixedClock(NOW), sms, store=store)
    assert result.status == "updated" and store.patients[PATIENT].version == 1 and store.requests == {}
    assert [a.action for a in store.audits] == ["patient.cell_phone.unchanged"]


def test_r_create_4_a_number_another_patient_holds_is_allowed_and_listed_as_a_probable_duplicate() -> None:
    # Given another patient whose cell phone is the new number
    store = _world(_patient(verified=False), _patient(OTHER, cell=NEW))
    # When the number changes
    service.request_change(PRACTICE, PATIENT, NEW, ADMIN, FixedClock(NOW), FakeSms(), store=store)
    # Then both profiles have it and the pair is listed
    assert store.patients[PATIENT].cell_phone == NEW and store.patients[OTHER].cell_phone == NEW
    assert store.pairs == {(PATIENT, OTHER, "same_cell_phone")}


def test_r_phone_2_a_verified_patient_is_asked_with_a_code_to_the_new_number() -> None:
    # Given a patient who has logged in
    store, sms, events, clock = _world(), FakeSms(), Events(), FixedClock(NOW)
    # When staff ask for a new number
    result = service.request_change(PRACTICE, PATIENT, NEW, ADMIN, clock, sms, store=store, publisher=events)
    # Then nothing changed yet: a pending request expiring in 72 h, a 6-digit code sent to the NEW number only
    assert result.request is not None
    request = store.request(result.request.request_id)
    assert request.status == "pending" and request.expires_at == NOW + timedelta(hours=72)
    assert store.patients[PATIENT].cell_phone == OLD
    assert [to for to, _, _ in sms.sent] == [NEW] and len(sms.code_for(NEW)) == 6
    assert sms.code_for(NEW) not in request.code_hash
    # and the team sees a system message with the number masked, announced for routing
    assert _kinds(store) == ["phone_change_requested"] and events.kinds() == ["phone_change_requested"]
    assert NEW not in store.messages[0].message.body and mask_phone(NEW) in store.messages[0].message.body


def test_r_phone_2_and_7_the_right_code_within_3_days_changes_the_number_and_tells_the_old_one() -> None:
    # Given a pending request
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    # When the patient confirms with the code 71 hours later
    clock.advance(71 * 3600)
    events = Events()
    after = service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store, publisher=events)
    # Then the number changed with the request confirmed, in one write
    assert after.cell_phone == NEW and store.patients[PATIENT].cell_phone == NEW
    assert result.request is not None and store.request(result.request.request_id).status == "confirmed"
    assert ("patient:pt1", "patient.cell_phone.confirmed") in [(a.actor, a.action) for a in store.audits]
    # R-PHONE-7: one system message with old and new masked (never in full) ...
    confirmed = [p.message.body for p in store.messages if p.message.kind == "phone_change_confirmed"]
    assert len(confirmed) == 1 and mask_phone(OLD) in confirmed[0] and mask_phone(NEW) in confirmed[0]
    assert OLD not in confirmed[0] and NEW not in confirmed[0]
    assert events.kinds() == ["phone_change_confirmed"]
    # ... and the old number is told by SMS, without the code or the new number
    (notice,) = sms.to(OLD)
    assert "changed" in notice and NEW not in notice and sms.code_for(NEW) not in notice


def test_r_phone_7_no_notice_when_there_was_no_old_number() -> None:
    store, sms, clock = _world(_patient(cell=None)), FakeSms(), FixedClock(NOW)
    _requested(store, clock, sms)
    service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store, publisher=Events())
    assert store.patients[PATIENT].cell_phone == NEW and [to for to, _, _ in sms.sent] == [NEW]


def test_r_phone_4_a_confirmation_after_72_hours_is_410_expired_and_changes_nothing() -> None:
    # Given a pending request whose 72 hours are over, the expiry job not run yet
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    _requested(store, clock, sms)
    clock.advance(72 * 3600)
    # When the patient confirms with the right code  Then 410 expired, nothing changed
    with pytest.raises(Expired):
        service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store)
    assert store.patients[PATIENT].cell_phone == OLD and sms.to(OLD) == []
    # and once the job has closed it, still 410 (not 404) for confirm and decline
    assert service.expire_due(clock, store=store, publisher=Events()) == {"expired": 1, "skipped": 0}
    with pytest.raises(Expired):
        service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store)
    with pytest.raises(Expired):
        service.decline(PRACTICE, PATIENT, clock, store=store)
    assert store.patients[PATIENT].cell_phone == OLD


def test_r_phone_4_four_wrong_codes_are_400_and_the_fifth_cancels_the_request() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    assert result.request is not None
    for attempt in range(1, 5):
        with pytest.raises(ValidationFailed) as refused:
            service.confirm(PRACTICE, PATIENT, _wrong(sms), clock, sms, store=store)
        assert refused.value.code == "invalid_code" and refused.value.field == "code"
        assert store.request(result.request.request_id).attempts == attempt
    with pytest.raises(TooManyAttempts):
        service.confirm(PRACTICE, PATIENT, _wrong(sms), clock, sms, store=store)
    assert store.request(result.request.request_id).status == "cancelled"
    # the right code no longer does anything
    with pytest.raises(NotFound):
        service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store)
    assert store.patients[PATIENT].cell_phone == OLD


def test_r_phone_4_a_malformed_code_is_a_400_and_counts_no_attempt() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    with pytest.raises(ValidationFailed) as refused:
        service.confirm(PRACTICE, PATIENT, "12ab", clock, sms, store=store)
    assert refused.value.field == "code" and result.request is not None
    assert store.request(result.request.request_id).attempts == 0


def test_r_phone_2_the_patient_declines_and_the_number_stays() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    events = Events()
    service.decline(PRACTICE, PATIENT, clock, store=store, publisher=events)
    assert result.request is not None and store.request(result.request.request_id).status == "declined"
    assert store.patients[PATIENT].cell_phone == OLD
    assert "phone_change_declined" in _kinds(store) and events.kinds() == ["phone_change_declined"]
    # nothing is pending any more: the code confirms nothing, a second decline is a 404
    with pytest.raises(NotFound):
        service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store)
    with pytest.raises(NotFound):
        service.decline(PRACTICE, PATIENT, clock, store=store)


def test_r_phone_3_a_due_request_expires_once_even_when_the_job_runs_twice() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    clock.advance(72 * 3600 - 1)
    assert service.expire_due(clock, store=store) == {"expired": 0, "skipped": 0}  # not due a second early
    clock.advance(1)
    events = Events()
    assert service.expire_due(clock, store=store, publisher=events) == {"expired": 1, "skipped": 0}
    assert service.expire_due(clock, store=store, publisher=events) == {"expired": 0, "skipped": 0}
    assert result.request is not None and store.request(result.request.request_id).status == "expired"
    assert _kinds(store).count("phone_change_expired") == 1 and events.kinds() == ["phone_change_expired"]
    assert store.patients[PATIENT].cell_phone == OLD


def test_r_phone_3_an_expiry_that_loses_to_a_confirmation_is_skipped() -> None:
    # Given a due request the job has read, and a confirmation that lands before the job writes
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    assert result.request is not None
    request_id = result.request.request_id

    def confirmed_meanwhile(s: FakePhoneChangeStore) -> None:
        s.requests[request_id] = replace(s.requests[request_id], status="confirmed")

    store.before_next_write = confirmed_meanwhile
    clock.advance(72 * 3600)
    # When the job runs  Then it skips the request: no expiry message, the confirmation stands
    assert service.expire_due(clock, store=store) == {"expired": 0, "skipped": 1}
    assert store.request(request_id).status == "confirmed" and "phone_change_expired" not in _kinds(store)


def test_r_phone_4_a_confirmation_that_loses_to_the_expiry_job_is_410() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    assert result.request is not None
    request_id = result.request.request_id

    def expired_meanwhile(s: FakePhoneChangeStore) -> None:
        s.requests[request_id] = replace(s.requests[request_id], status="expired")

    store.before_next_write = expired_meanwhile
    with pytest.raises(Expired):
        service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store)
    assert store.patients[PATIENT].cell_phone == OLD and sms.to(OLD) == []


def test_r_rel_2_a_profile_changed_during_the_confirmation_is_a_409_and_nothing_is_written() -> None:
    # Given a pending request and a concurrent change of the profile (a login, a DOB edit) before the write
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    assert result.request is not None

    def edited_meanwhile(s: FakePhoneChangeStore) -> None:
        current = s.patients[PATIENT]
        s.patients[PATIENT] = replace(current, location="north", version=current.version + 1)

    store.before_next_write = edited_meanwhile
    # When the patient confirms  Then 409 conflict; the request is still pending, the number unchanged
    with pytest.raises(Conflict) as conflict:
        service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store)
    assert conflict.value.code == "conflict"
    assert store.request(result.request.request_id).status == "pending"
    assert store.patients[PATIENT].cell_phone == OLD and "phone_change_confirmed" not in _kinds(store)
    # and trying again succeeds
    service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store, publisher=Events())
    assert store.patients[PATIENT].cell_phone == NEW and store.patients[PATIENT].location == "north"


def test_r_rel_2_an_immediate_change_racing_another_edit_is_a_409() -> None:
    store = _world(_patient(verified=False))

    def edited_meanwhile(s: FakePhoneChangeStore) -> None:
        s.patients[PATIENT] = replace(s.patients[PATIENT], version=s.patients[PATIENT].version + 1)

    store.before_next_write = edited_meanwhile
    with pytest.raises(Conflict):
        service.request_change(PRACTICE, PATIENT, NEW, ADMIN, FixedClock(NOW), FakeSms(), store=store)
    assert store.patients[PATIENT].cell_phone == OLD and store.audits == []


def test_r_phone_5_a_new_request_supersedes_the_pending_one() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    first = _requested(store, clock, sms)
    clock.advance(60)
    other_new = "+12025550133"
    second = _requested(store, clock, sms, other_new)
    assert first.request is not None and second.request is not None
    assert store.request(first.request.request_id).status == "superseded"
    assert store.request(second.request.request_id).status == "pending"
    # the first code confirms nothing now
    with pytest.raises(ApiError) as wrong:
        service.confirm(PRACTICE, PATIENT, sms.code_for(NEW), clock, sms, store=store)
    assert wrong.value.code == "invalid_code"
    # staff see both, newest first
    listed = service.list_requests(PRACTICE, PATIENT, ADMIN, clock, store=store)
    assert [r.status for r in listed] == ["pending", "superseded"]
    assert store.audits[-1].action == "patient.phone_change_requests.read"


def test_r_phone_4_staff_see_a_request_past_its_72_hours_as_expired_before_the_job_runs() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    _requested(store, clock, sms)
    clock.advance(72 * 3600)
    assert [r.status for r in service.list_requests(PRACTICE, PATIENT, ADMIN, clock, store=store)] == ["expired"]
    with pytest.raises(NotFound):
        service.pending_for_patient(PRACTICE, PATIENT, clock, store=store)


def test_r_sms_3_a_new_number_that_opted_out_is_refused_before_anything_is_written() -> None:
    store, sms = _world(), FakeSms()
    store.register.opted_out[(PRACTICE_NUMBER, NEW)] = True
    with pytest.raises(Conflict) as refused:
        service.request_change(PRACTICE, PATIENT, NEW, ADMIN, FixedClock(NOW), sms, store=store)
    assert refused.value.code == "sms_opted_out"
    assert store.requests == {} and store.messages == [] and sms.sent == []


def test_r_phone_6_one_reminder_to_the_old_number_when_under_24_hours_remain() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    _requested(store, clock, sms)
    clock.advance(47 * 3600)  # 25 hours left: too early
    assert service.remind_pending(clock, sms, store=store)["reminded"] == 0
    clock.advance(2 * 3600)  # 23 hours left, 09:00 in New York
    assert service.remind_pending(clock, sms, store=store)["reminded"] == 1
    assert service.remind_pending(clock, sms, store=store)["reminded"] == 0
    reminders = [body for body in sms.to(OLD) if "confirm or decline" in body]
    assert len(reminders) == 1


def test_r_sms_4_a_reminder_due_at_night_waits_for_the_morning() -> None:
    # Given a request made at 17:00 New York: under 24 hours remain from 17:00 two days later ... and at 22:00
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW + timedelta(hours=7))
    _requested(store, clock, sms)
    clock.advance(53 * 3600)  # 22:00 in New York, 19 hours left
    assert service.remind_pending(clock, sms, store=store) == {"reminded": 0, "deferred": 1, "skipped_opted_out": 0}
    clock.advance(11 * 3600)  # 09:00 the next morning, 8 hours left
    assert service.remind_pending(clock, sms, store=store)["reminded"] == 1
    assert len([body for body in sms.to(OLD) if "confirm or decline" in body]) == 1


def test_r_sms_3_a_reminder_to_an_opted_out_number_is_claimed_skipped_and_audited() -> None:
    store, sms, clock = _world(), FakeSms(), FixedClock(NOW)
    result = _requested(store, clock, sms)
    store.register.opted_out[(PRACTICE_NUMBER, OLD)] = True
    clock.advance(49 * 3600)
    assert service.remind_pending(clock, sms, store=store) == {"reminded": 0, "deferred": 0, "skipped_opted_out": 1}
    assert result.request is not None and store.request(result.request.request_id).reminded
    assert sms.to(OLD) == [] and store.audits[-1].action == "sms.phone_change_reminder.skipped_opted_out"


def test_an_unknown_patient_is_a_404_and_writes_nothing() -> None:
    store = _world()
    with pytest.raises(NotFound):
        service.request_change(PRACTICE, "nobody", NEW, ADMIN, FixedClock(NOW), FakeSms(), store=store)
    assert store.audits == [] and store.requests == {}
