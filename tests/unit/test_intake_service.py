"""services.intake against an in-memory store (tests/fake_conversation_store.py): the scenarios the integration and
e2e tests prove on DynamoDB (R-ROUTE-1/3/5/6/12/13, R-REL-1/2, R-SMS-1, R-HOURS-2/3/4, R-DOB-1), minus the database,
so an intake rule breaks here first."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from frontdesk.adapters.clock import FixedClock
from frontdesk.domain.conversations import Conversation
from frontdesk.domain.office_hours import OfficeHours
from frontdesk.domain.patients import Patient
from frontdesk.domain.practices import Practice
from frontdesk.domain.routing import RoutingConfig, Settings, Subscriptions, VoicemailExtension
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.services import intake, retry
from frontdesk.services.messages import MESSAGE_RECEIVED
from tests.fake_conversation_store import FakeConversationStore, Unread, new_conversation

PRACTICE, NUMBER = "p1", "+12125550100"
OPEN = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # Tuesday 10:00 in New York: the office is open
NIGHT = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # Monday 22:00 in New York: closed
CELL, OTHER = "+12125550111", "+12125550122"


class Published:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        self.events.append((detail_type, detail))


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry.time, "sleep", lambda _seconds: None)


def _patient(patient_id: str, *, cell: str | None = CELL, active: datetime | None = None) -> Patient:
    return Patient(
        practice_id=PRACTICE,
        patient_id=patient_id,
        first_name="Ana",
        last_name="Lee",
        date_of_birth=date(1980, 1, 2),
        conversation_id=f"c-{patient_id}",
        created_at=OPEN - timedelta(days=30),
        cell_phone=cell,
        dob_verified_at=OPEN - timedelta(days=1),
        last_active_at=active,
    )


def _world(*, reasons: bool = False, hours: OfficeHours | None = None) -> FakeConversationStore:
    subs = {"maria": Subscriptions(reasons=frozenset({"billing"}))}
    store = FakeConversationStore(
        practice=Practice(PRACTICE, "Clinic", "US", NUMBER, False, OPEN - timedelta(days=90)),
        config=RoutingConfig(PRACTICE, Settings(reasons_enabled=reasons), subs, 1),
        hours=hours or OfficeHours(),
    )
    _add(store, _patient("pt1"))
    return store


def _add(store: FakeConversationStore, patient: Patient) -> None:
    store.patients[patient.patient_id] = patient
    store.conversations[patient.conversation_id] = new_conversation(patient)
    if patient.cell_phone:
        store.phones[(patient.cell_phone, patient.patient_id)] = ("cell", patient.last_active_at)


def _send(store: FakeConversationStore, body: str = "Hello", *, at: datetime = OPEN, **kw: Any) -> dict[str, Any]:
    return intake.receive_patient_message(
        PRACTICE,
        "pt1",
        body,
        kw.pop("reason", None),
        kw.pop("client_id", "cm1"),
        clock=FixedClock(at),
        publisher=kw.pop("publisher", Published()),
        store=store,
    )


def _sms(store: FakeConversationStore, sender: str, pmid: str, *, at: datetime = OPEN, **kw: Any) -> dict[str, Any]:
    return intake.receive_sms(NUMBER, sender, kw.pop("body", "Hi there"), pmid, clock=FixedClock(at), store=store, **kw)


# ----- the patient's side -----


def test_r_route_1_an_app_message_lands_in_the_conversation_is_announced_and_starts_the_wait() -> None:
    # Given a verified patient whose conversation is closed
    store, published = _world(), Published()
    # When they write in the app
    answer = _send(store, publisher=published)
    # Then the message is in their conversation, announced for routing (ids only, never the body)
    [message] = store.timeline("c-pt1")
    assert answer == {"message_id": message.message_id, "reason": None}
    assert (message.sender, message.channel, message.body) == ("patient", "app", "Hello")
    [(detail_type, detail)] = published.events
    assert detail_type == MESSAGE_RECEIVED and detail["message_id"] == message.message_id
    assert "Hello" not in str(detail)
    # And (R-HOURS-3) the conversation waits for a reply, due 240 office minutes later (14:00 New York)
    conversation = store.conversations["c-pt1"]
    assert conversation.waiting_since == OPEN and conversation.last_patient_message_at == OPEN
    assert store.due["c-pt1"] == OPEN + timedelta(hours=4)


def test_r_hours_3_a_second_message_keeps_the_oldest_wait() -> None:
    store = _world()
    _send(store)
    _send(store, at=OPEN + timedelta(minutes=30), client_id="cm2")
    assert store.conversations["c-pt1"].waiting_since == OPEN and store.due["c-pt1"] == OPEN + timedelta(hours=4)


def test_r_rel_1_a_repeated_client_message_id_is_answered_like_the_first_and_stored_once() -> None:
    store, published = _world(), Published()
    first = _send(store, publisher=published)
    again = _send(store, "Hello again", at=OPEN + timedelta(seconds=5), publisher=published)
    assert again == first and len(store.timeline("c-pt1")) == 1 and len(published.events) == 1


def test_an_empty_message_is_a_400_and_nothing_is_stored() -> None:
    store = _world()
    with pytest.raises(ValidationFailed) as refused:
        _send(store, "   ")
    assert refused.value.field == "body" and store.timeline("c-pt1") == []


def test_r_dob_1_an_unverified_patient_is_refused_and_an_unknown_one_is_not_found() -> None:
    store = _world()
    store.patients["pt1"] = replace(_patient("pt1"), dob_verified_at=None)
    with pytest.raises(Forbidden) as blocked:
        _send(store)
    assert blocked.value.code == "dob_verification_required" and store.timeline("c-pt1") == []
    with pytest.raises(NotFound):
        intake.receive_patient_message(PRACTICE, "nobody", "Hi", None, "x", clock=FixedClock(OPEN), store=store)


def test_r_route_3_a_reason_is_required_when_the_prompt_shows_and_must_be_offered() -> None:
    # Given reason routing on (billing offered) and a closed conversation: the prompt shows
    store = _world(reasons=True)
    with pytest.raises(ValidationFailed) as missing:
        _send(store)
    assert missing.value.code == "reason_required"
    with pytest.raises(ValidationFailed) as unknown:
        _send(store, reason="astrology")
    assert unknown.value.code == "reason_not_offered"
    # When a billing reason is given, it is stored with the message and on the conversation
    assert _send(store, reason="billing")["reason"] == "billing"
    assert store.conversations["c-pt1"].last_patient_reason == "billing"


def test_r_route_5_within_the_hour_the_previous_reason_sticks() -> None:
    store = _world(reasons=True)
    _send(store, reason="billing")
    store.conversations["c-pt1"] = _open(store.conversations["c-pt1"])  # routing opened it
    answer = _send(store, at=OPEN + timedelta(minutes=20), client_id="cm2")
    assert answer["reason"] == "billing" and store.timeline("c-pt1")[-1].extra["reason_source"] == "sticky"


def _open(conversation: Conversation) -> Conversation:
    return replace(conversation, status="open", holder_type="unassigned")


def test_r_rel_2_a_lost_race_reads_again_and_stores_the_message_once() -> None:
    # Given staff replying between intake's read of the conversation and its write
    store = _world()

    def staff_writes(s: FakeConversationStore) -> None:
        s.conversations["c-pt1"] = replace(s.conversations["c-pt1"], version=s.conversations["c-pt1"].version + 1)

    store.between_read_and_write = staff_writes
    # When the patient writes
    _send(store)
    # Then the first write lost (Stale), intake read again and stored the message once
    assert len(store.timeline("c-pt1")) == 1 and store.writes == 1


def test_r_rel_2_losing_every_race_is_409_concurrent_update_and_stores_nothing() -> None:
    store = _world()

    def always(s: FakeConversationStore) -> None:
        s.conversations["c-pt1"] = replace(s.conversations["c-pt1"], version=s.conversations["c-pt1"].version + 1)
        s.between_read_and_write = always

    store.between_read_and_write = always
    with pytest.raises(Conflict) as busy:
        _send(store)
    assert busy.value.code == "concurrent_update" and store.timeline("c-pt1") == [] and store.writes == 0


def test_r_hours_4_reading_stops_the_unread_reminders_and_a_patient_message_does_too() -> None:
    store = _world()
    conversation = store.conversations["c-pt1"]
    replied = OPEN - timedelta(hours=2)
    store.conversations["c-pt1"] = replace(conversation, last_practice_message_at=replied)
    store.unread["c-pt1"] = Unread(replied, replied + timedelta(hours=24))
    # When the patient reads the conversation
    intake.mark_read(PRACTICE, "pt1", FixedClock(OPEN), store=store)
    # Then the read is recorded and the reminders stop
    assert store.conversations["c-pt1"].patient_read_at == OPEN and "c-pt1" not in store.unread
    # And a reply the patient has not read yet is reminded until they write back
    store.unread["c-pt1"] = Unread(OPEN + timedelta(minutes=1), OPEN + timedelta(hours=25))
    _send(store, at=OPEN + timedelta(minutes=2))
    assert "c-pt1" not in store.unread


def test_r_route_3_the_patient_view_hides_internal_notes_and_offers_the_prompt() -> None:
    store = _world(reasons=True)
    _send(store, reason="billing")
    view = intake.patient_conversation(PRACTICE, "pt1", FixedClock(OPEN + timedelta(minutes=1)), store=store)
    assert [m.body for m in view.messages] == ["Hello"]
    assert view.prompt.reasons == ["billing"]


# ----- R-HOURS-2: after hours -----


def test_r_hours_2_a_message_while_closed_gets_one_reply_per_closed_period() -> None:
    # Given the practice closed (22:00 in New York)
    store = _world()
    # When the patient writes twice that night
    _send(store, at=NIGHT)
    _send(store, "Still there?", at=NIGHT + timedelta(hours=1), client_id="cm2")
    # Then one after-hours reply follows the first message, naming 911
    kinds = [m.kind for m in store.timeline("c-pt1")]
    assert kinds == [None, "after_hours_reply", None]
    reply = store.timeline("c-pt1")[1]
    assert reply.sender == "system" and "911" in reply.body
    # And (R-HOURS-3) nothing is due before the office opens: the wait counts office minutes only
    assert store.due["c-pt1"] == datetime(2026, 3, 3, 17, 0, tzinfo=UTC)  # Tuesday 08:00 + 4 h, New York


def test_r_hours_2_while_open_there_is_no_reply() -> None:
    store = _world()
    _send(store)
    assert [m.kind for m in store.timeline("c-pt1")] == [None] and store.after_hours_claims == set()


# ----- provider webhooks -----


def test_r_route_13_an_sms_from_an_unknown_number_creates_a_profile_with_that_cell_phone() -> None:
    store = _world()
    answer = _sms(store, OTHER, "pm-1")
    created = next(p for p in store.patients.values() if p.cell_phone == OTHER)
    assert (created.first_name, created.last_name, created.date_of_birth) == ("Unknown", "Caller", date(1900, 1, 1))
    assert answer["conversation_id"] == created.conversation_id
    [message] = store.timeline(created.conversation_id)
    assert (message.channel, message.ambiguous_sender) == ("sms", False)


def test_r_route_13_a_landline_voicemail_creates_a_landline_profile() -> None:
    store = _world()
    intake.receive_voicemail(
        NUMBER, OTHER, "vm-1", "https://rec/1", None, None, "landline", clock=FixedClock(OPEN), store=store
    )
    created = next(p for p in store.patients.values() if p.patient_id != "pt1")
    assert created.cell_phone is None and created.landlines == [OTHER]
    assert store.timeline(created.conversation_id)[0].body == "(voicemail without transcript)"


def test_r_route_13_a_known_number_lands_with_its_patient_and_stamps_the_phones_activity() -> None:
    store = _world()
    answer = _sms(store, CELL, "pm-1")
    assert answer["conversation_id"] == "c-pt1" and len(store.patients) == 1
    assert store.phones[(CELL, "pt1")] == ("cell", OPEN)


def test_r_route_13_a_shared_number_goes_to_the_most_recently_active_patient_flagged_ambiguous() -> None:
    store = _world()
    _add(store, _patient("pt2", active=OPEN - timedelta(hours=1)))
    store.phones[(CELL, "pt1")] = ("cell", OPEN - timedelta(days=3))
    answer = _sms(store, CELL, "pm-1")
    assert answer["conversation_id"] == "c-pt2"
    assert store.timeline("c-pt2")[0].ambiguous_sender and store.timeline("c-pt1") == []


def test_r_route_6_an_sms_clears_the_reason() -> None:
    store = _world(reasons=True)
    _sms(store, CELL, "pm-1")
    message = store.timeline("c-pt1")[0]
    assert message.reason is None and message.extra["reason_source"] == "cleared_by_sms"
    assert store.conversations["c-pt1"].last_patient_reason is None


def test_r_route_12_a_voicemail_extension_gives_its_reason_or_its_inbox() -> None:
    store = _world(reasons=True)
    store.extensions["2"] = VoicemailExtension("2", "billing", None)
    store.extensions["3"] = VoicemailExtension("3", None, "front-desk")
    vm = intake.receive_voicemail
    vm(NUMBER, CELL, "vm-1", "https://rec/1", "Bill", "2", "cell", clock=FixedClock(OPEN), store=store)
    vm(NUMBER, CELL, "vm-2", "https://rec/2", "Desk", "3", "cell", clock=FixedClock(OPEN), store=store)
    first, second = store.timeline("c-pt1")
    assert (first.reason, first.extra["reason_source"]) == ("billing", "voicemail_extension")
    assert second.reason is None and second.extra["target_inbox"] == "front-desk"


def test_r_sms_1_a_replayed_webhook_is_answered_like_the_first_and_ids_are_per_provider() -> None:
    store = _world()
    first = _sms(store, CELL, "pm-1")
    assert _sms(store, CELL, "pm-1", body="changed") == first and len(store.timeline("c-pt1")) == 1
    other = _sms(store, CELL, "pm-1", provider="aws-end-user-messaging")
    assert other["message_id"] != first["message_id"] and len(store.timeline("c-pt1")) == 2


def test_a_webhook_to_a_number_no_practice_has_is_404() -> None:
    store = _world()
    with pytest.raises(NotFound):
        intake.receive_sms("+12125550199", CELL, "Hi", "pm-1", clock=FixedClock(OPEN), store=store)
    with pytest.raises(NotFound):
        intake.receive_sms("not a number", CELL, "Hi", "pm-1", clock=FixedClock(OPEN), store=store)


def test_r_route_1_a_message_into_a_closed_conversation_starts_a_new_wait() -> None:
    # Given a conversation that waited, was answered and closed (no wait running)
    store = _world()
    _send(store)
    store.conversations["c-pt1"] = replace(store.conversations["c-pt1"], status="closed", waiting_since=None)
    store.due.clear()
    # When the patient writes again the next day
    later = OPEN + timedelta(days=1)
    _send(store, at=later, client_id="cm2")
    # Then a new wait starts at that message
    assert store.conversations["c-pt1"].waiting_since == later and store.due["c-pt1"] == later + timedelta(hours=4)
