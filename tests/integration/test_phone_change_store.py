"""R-PHONE-1..7 against DynamoDB Local: conditional writes, the sparse index, the confirm/expire race."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from frontdesk.adapters.clock import FixedClock, get_clock
from frontdesk.auth import Principal
from frontdesk.domain.quiet_hours import next_window_start
from frontdesk.errors import ApiError, Expired, NotFound, TooManyAttempts
from frontdesk.services import phone_change as service
from frontdesk.store import patient_updates, phone_requests
from frontdesk.store import patients as patient_store
from tests.support import invoke_route, unique_phone

pytestmark = pytest.mark.integration


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None]] = []

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        self.sent.append((to, body, code))

    def code_for(self, to: str) -> str:
        return next(code for dest, _, code in reversed(self.sent) if dest == to and code)


@pytest.fixture
def practice(dynamodb: str) -> dict[str, Any]:
    created = invoke_route(
        "POST", "/practices", {"name": "Clinic", "textable_number": unique_phone()}, {"sub": "s", "role": "support"}
    )
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = Principal(sub="a1", role="admin", practice_id=practice_id, staff_id="a1")
    return {"practice_id": practice_id, "admin": admin, "claims": admin.claims()}


def _patient(practice: dict[str, Any], *, verified: bool) -> dict[str, Any]:
    body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", "cell_phone": unique_phone()}
    created = invoke_route("POST", "/patients", body, practice["claims"])
    assert created.status == 201, created
    if verified:
        patient = patient_store.get_patient(practice["practice_id"], created.body["patient_id"], consistent=True)
        assert patient is not None
        patient_updates.touch_login(patient, get_clock().now())
    return dict(created.body)


def test_r_phone_1_never_logged_in_patient_changes_at_once(practice: dict[str, Any]) -> None:
    # Given a patient who never logged in
    patient = _patient(practice, verified=False)
    new = unique_phone()
    # When staff change the cell phone
    result = service.request_change(
        practice["practice_id"], patient["patient_id"], new, practice["admin"], sms=FakeSms()
    )
    # Then it changed immediately and look-ups by the new number find the patient (the old one does not)
    assert result.status == "updated"
    found = [pid for pid, _, _ in patient_store.patient_ids_by_phone(practice["practice_id"], new)]
    assert found == [patient["patient_id"]]
    assert not patient_store.patient_ids_by_phone(practice["practice_id"], patient["cell_phone"])


def test_r_create_4_a_shared_cell_phone_is_allowed_and_listed_as_duplicate(practice: dict[str, Any]) -> None:
    first, second = _patient(practice, verified=False), _patient(practice, verified=False)
    service.request_change(practice["practice_id"], second["patient_id"], first["cell_phone"], practice["admin"])
    pairs, _ = patient_store.list_duplicates(practice["practice_id"], 50, None)
    assert any(sorted(p.patient_ids) == sorted([first["patient_id"], second["patient_id"]]) for p in pairs)


def _pending_request(practice: dict[str, Any], clock: FixedClock, sms: FakeSms) -> tuple[dict[str, Any], str, str]:
    patient = _patient(practice, verified=True)
    new = unique_phone()
    result = service.request_change(practice["practice_id"], patient["patient_id"], new, practice["admin"], clock, sms)
    assert result.status == "pending_confirmation" and result.request is not None
    return patient, new, result.request.request_id


def test_r_phone_2_verified_patient_confirms_with_the_code(practice: dict[str, Any]) -> None:
    clock, sms = FixedClock(get_clock().now()), FakeSms()
    patient, new, _ = _pending_request(practice, clock, sms)
    # the number has not changed yet
    stored = patient_store.get_patient(practice["practice_id"], patient["patient_id"], consistent=True)
    assert stored is not None and stored.cell_phone == patient["cell_phone"]
    clock.advance(3600)
    service.confirm(practice["practice_id"], patient["patient_id"], sms.code_for(new), clock, sms)
    stored = patient_store.get_patient(practice["practice_id"], patient["patient_id"], consistent=True)
    assert stored is not None and stored.cell_phone == new
    # R-PHONE-7: the old number is told
    assert any(to == patient["cell_phone"] and "changed" in body for to, body, _ in sms.sent)


def test_r_phone_5_a_new_request_supersedes_and_leaves_the_index(practice: dict[str, Any]) -> None:
    clock, sms = FixedClock(get_clock().now()), FakeSms()
    patient, first_new, first_id = _pending_request(practice, clock, sms)
    second_new = unique_phone()
    service.request_change(practice["practice_id"], patient["patient_id"], second_new, practice["admin"], clock, sms)
    statuses = {
        r.request_id: r.status for r in phone_requests.requests_of(practice["practice_id"], patient["patient_id"])
    }
    assert statuses[first_id] == "superseded" and sorted(statuses.values()) == ["pending", "superseded"]
    # the old code no longer confirms anything: the pending request is the new one
    with pytest.raises(ApiError) as wrong:
        service.confirm(practice["practice_id"], patient["patient_id"], sms.code_for(first_new), clock, sms)
    assert wrong.value.code == "invalid_code"
    due = {r.request_id for r in phone_requests.due_requests(clock.now() + timedelta(days=4))}
    assert first_id not in due


def test_r_phone_4_five_wrong_codes_cancel(practice: dict[str, Any]) -> None:
    clock, sms = FixedClock(get_clock().now()), FakeSms()
    patient, new, request_id = _pending_request(practice, clock, sms)
    wrong = "000000" if sms.code_for(new) != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(ApiError) as refused:
            service.confirm(practice["practice_id"], patient["patient_id"], wrong, clock, sms)
        assert refused.value.code == "invalid_code"
    with pytest.raises(TooManyAttempts):
        service.confirm(practice["practice_id"], patient["patient_id"], wrong, clock, sms)
    with pytest.raises(NotFound):
        service.confirm(practice["practice_id"], patient["patient_id"], sms.code_for(new), clock, sms)
    statuses = [r.status for r in phone_requests.requests_of(practice["practice_id"], patient["patient_id"])]
    assert statuses == ["cancelled"]


def test_r_phone_3_expiry_runs_once_even_when_the_job_runs_twice(practice: dict[str, Any]) -> None:
    clock, sms = FixedClock(get_clock().now()), FakeSms()
    patient, new, request_id = _pending_request(practice, clock, sms)
    clock.advance(72 * 3600)
    first = service.expire_due(clock)
    second = service.expire_due(clock)
    assert first["expired"] >= 1 and second["expired"] == 0
    statuses = [r.status for r in phone_requests.requests_of(practice["practice_id"], patient["patient_id"])]
    assert statuses == ["expired"]
    # R-PHONE-4: a late confirmation is a 410 and changes nothing, also once the job has run
    with pytest.raises(Expired):
        service.confirm(practice["practice_id"], patient["patient_id"], sms.code_for(new), clock, sms)
    expired_messages = _kinds(practice["practice_id"], patient["conversation_id"]).count("phone_change_expired")
    assert expired_messages == 1


def test_r_phone_4_confirmation_after_expiry_before_the_job_is_410(practice: dict[str, Any]) -> None:
    clock, sms = FixedClock(get_clock().now()), FakeSms()
    patient, new, _ = _pending_request(practice, clock, sms)
    clock.advance(72 * 3600)
    with pytest.raises(Expired):
        service.confirm(practice["practice_id"], patient["patient_id"], sms.code_for(new), clock, sms)
    stored = patient_store.get_patient(practice["practice_id"], patient["patient_id"], consistent=True)
    assert stored is not None and stored.cell_phone == patient["cell_phone"]


def test_r_phone_3_expiry_and_confirmation_racing_exactly_one_wins(practice: dict[str, Any]) -> None:
    """Two Lambdas whose clocks straddle the deadline: the confirm sees 1 s left, the job sees 1 s past it."""
    winners = [_race_once(practice) for _ in range(20)]
    print(f"race: confirm won {winners.count('confirm')}, expiry won {winners.count('expire')}")
    assert len(winners) == 20


def _race_once(practice: dict[str, Any]) -> str:
    start = FixedClock(get_clock().now())
    sms = FakeSms()
    patient, new, request_id = _pending_request(practice, start, sms)
    code = sms.code_for(new)
    confirm_clock = FixedClock(start.now() + timedelta(hours=72) - timedelta(seconds=1))
    job_clock = FixedClock(start.now() + timedelta(hours=72, seconds=1))
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def confirm() -> None:
        barrier.wait()
        try:
            service.confirm(practice["practice_id"], patient["patient_id"], code, confirm_clock, sms)
            results["confirm"] = True
        except ApiError as error:
            results["confirm"] = error.code

    def expire() -> None:
        barrier.wait()
        time.sleep(random.uniform(0, 0.03))  # vary the interleaving so both sides get to win sometimes
        results["expire"] = service.expire_due(job_clock)

    threads = [threading.Thread(target=confirm), threading.Thread(target=expire)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    requests = phone_requests.requests_of(practice["practice_id"], patient["patient_id"])
    request = next(r for r in requests if r.request_id == request_id)
    stored = patient_store.get_patient(practice["practice_id"], patient["patient_id"], consistent=True)
    assert stored is not None
    confirmed = results["confirm"] is True
    kinds = _kinds(practice["practice_id"], patient["conversation_id"])
    # exactly one winner, and the world agrees with it
    assert request.status == ("confirmed" if confirmed else "expired")
    assert (stored.cell_phone == new) is confirmed
    assert kinds.count("phone_change_confirmed") + kinds.count("phone_change_expired") == 1
    if not confirmed:
        assert results["confirm"] in ("expired", "conflict", "not_found")
    return "confirm" if confirmed else "expire"


def test_r_phone_6_one_reminder_under_24_hours(practice: dict[str, Any]) -> None:
    # 10:00 New York: 47 h later is 09:00, inside R-SMS-4's window whenever the suite runs
    clock, sms = FixedClock(next_window_start(get_clock().now(), "America/New_York") + timedelta(hours=2)), FakeSms()
    patient, _, _ = _pending_request(practice, clock, sms)
    clock.advance(47 * 3600)
    service.remind_pending(clock, sms)
    assert not [m for m in sms.sent if m[0] == patient["cell_phone"] and "confirm or decline" in m[1]]
    clock.advance(2 * 3600)
    service.remind_pending(clock, sms)
    service.remind_pending(clock, sms)
    reminders = [m for m in sms.sent if m[0] == patient["cell_phone"] and "confirm or decline" in m[1]]
    assert len(reminders) == 1


def _kinds(practice_id: str, conversation_id: str) -> list[str]:
    from frontdesk.store import keys
    from frontdesk.store.conversations import MessageItem

    pk = keys.conversation_pk(practice_id, conversation_id)
    return [m.kind or "" for m in MessageItem.query(pk, MessageItem.sk.startswith("MSG#"), consistent_read=True)]
