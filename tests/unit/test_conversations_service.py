"""services.conversations against an in-memory store (tests/fake_conversation_store.py): the scenarios the integration
and e2e tests prove on DynamoDB (R-ROUTE-1/9/10, R-CREATE-3, R-SMS-3, R-SEC-2, R-HOURS-3/4, R-REL-2), minus the
database, so a rule of replies, assignment and closing breaks here first."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from frontdesk.adapters.clock import FixedClock
from frontdesk.adapters.sms import LocalOutbox
from frontdesk.auth import Principal
from frontdesk.domain.listings import Listing
from frontdesk.domain.patients import Patient
from frontdesk.domain.practices import Inbox, Practice, Staff
from frontdesk.domain.routing import RoutingConfig, Settings, Subscriptions
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.services import conversations, retry
from tests.fake_conversation_store import FakeConversationStore, Unread, new_conversation

PRACTICE, NUMBER, CELL = "p1", "+12125550100", "+12125550111"
CID = "c-pt1"
NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
CLOCK = FixedClock(NOW)


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry.time, "sleep", lambda _seconds: None)


def _caller(staff_id: str = "ada", role: str = "admin") -> Principal:
    return Principal(sub=staff_id, role=role, practice_id=PRACTICE, staff_id=staff_id)


def _world(*, cell: str | None = CELL, subs: dict[str, Subscriptions] | None = None) -> FakeConversationStore:
    patient = Patient(
        practice_id=PRACTICE,
        patient_id="pt1",
        first_name="Ana",
        last_name="Lee",
        date_of_birth=date(1980, 1, 2),
        conversation_id=CID,
        created_at=NOW - timedelta(days=30),
        cell_phone=cell,
    )
    store = FakeConversationStore(
        practice=Practice(PRACTICE, "Clinic", "US", NUMBER, False, NOW - timedelta(days=90)),
        config=RoutingConfig(PRACTICE, Settings(), subs or {}, 1),
        patients={"pt1": patient},
    )
    waiting = NOW - timedelta(hours=5)
    # An open conversation in Unassigned whose patient has waited 5 hours (escalated: it is overdue)
    store.conversations[CID] = replace(
        new_conversation(patient),
        status="open",
        holder_type="unassigned",
        listed_in=("unassigned",),
        last_message_at=waiting,
        waiting_since=waiting,
        overdue_since=NOW - timedelta(hours=1),
    )
    store.listings[("unassigned", CID)] = Listing(CID, "pt1", "open", "unassigned", None, None, None, False, waiting)
    store.overdue.add(CID)
    for staff_id, role in (("ada", "admin"), ("tom", "staff"), ("maria", "staff")):
        store.staff[staff_id] = Staff(PRACTICE, staff_id, staff_id.title(), f"{staff_id}@x.test", role, NOW)
    store.inboxes["desk"] = Inbox(PRACTICE, "desk", "Front desk", NOW)
    return store


def _assign(store: FakeConversationStore, caller: Principal | None = None, **target: object) -> object:
    return conversations.assign(
        caller or _caller(),
        CID,
        staff_id=target.get("staff_id"),  # type: ignore[arg-type]
        inbox_id=target.get("inbox_id"),  # type: ignore[arg-type]
        unassigned=bool(target.get("unassigned")),
        clock=CLOCK,
        store=store,
    )


def _listed(store: FakeConversationStore) -> list[tuple[str, bool]]:
    return sorted((name, listing.held) for (name, _), listing in store.listings.items())


# ----- replies (R-CREATE-3, R-SMS-3, R-HOURS-3/4) -----


def test_r_hours_3_a_staff_reply_goes_by_sms_ends_the_wait_and_starts_the_unread_reminder() -> None:
    store, outbox = _world(), LocalOutbox()
    message, at = conversations.reply(
        _caller("tom", "staff"), CID, "We called you", False, clock=CLOCK, sms=outbox, store=store
    )
    # Then the patient gets the text, and the reply is in the conversation
    [sent] = outbox.messages(CELL)
    assert (sent.to, sent.body) == (CELL, "We called you")
    assert store.timeline(CID)[-1].message_id == message.message_id and at == NOW
    # And the wait and its overdue listing end; the unread-reply reminder starts (R-HOURS-4), audited (R-SEC-2)
    conversation = store.conversations[CID]
    assert conversation.waiting_since is None and conversation.overdue_since is None and CID not in store.overdue
    assert conversation.last_practice_message_at == NOW and store.unread[CID].reply_at == NOW
    assert store.audit[-1].action == "conversation.reply" and store.audit[-1].actor == "staff:tom"


def test_r_hours_3_an_internal_note_does_not_end_the_wait_and_sends_nothing() -> None:
    store, outbox = _world(), LocalOutbox()
    conversations.reply(_caller(), CID, "Call her back", True, clock=CLOCK, sms=outbox, store=store)
    assert outbox.messages() == [] and store.timeline(CID)[-1].internal
    assert store.conversations[CID].waiting_since is not None and CID in store.overdue and CID not in store.unread


def test_r_hours_4_a_second_reply_keeps_the_oldest_unread_reply() -> None:
    store = _world()
    store.unread[CID] = Unread(NOW - timedelta(hours=2), NOW + timedelta(hours=22))
    conversations.reply(_caller(), CID, "Any news?", False, clock=CLOCK, sms=LocalOutbox(), store=store)
    assert store.unread[CID].reply_at == NOW - timedelta(hours=2)


def test_r_create_3_a_profile_without_cell_phone_takes_only_internal_notes() -> None:
    store = _world(cell=None)
    with pytest.raises(Conflict) as refused:
        conversations.reply(_caller(), CID, "Hello", False, clock=CLOCK, sms=LocalOutbox(), store=store)
    assert refused.value.code == "patient_unreachable" and store.timeline(CID) == []
    conversations.reply(_caller(), CID, "No cell: call", True, clock=CLOCK, sms=LocalOutbox(), store=store)
    assert len(store.timeline(CID)) == 1


def test_r_sms_3_a_reply_to_an_opted_out_number_is_409_and_nothing_is_sent_or_stored() -> None:
    store, outbox = _world(), LocalOutbox()
    store.opted_out.add(CELL)
    with pytest.raises(Conflict) as refused:
        conversations.reply(_caller(), CID, "Hello", False, clock=CLOCK, sms=outbox, store=store)
    assert refused.value.code == "patient_opted_out" and outbox.messages() == [] and store.timeline(CID) == []


def test_an_empty_reply_is_400_and_an_unknown_conversation_404() -> None:
    store = _world()
    with pytest.raises(ValidationFailed):
        conversations.reply(_caller(), CID, " ", False, clock=CLOCK, sms=LocalOutbox(), store=store)
    with pytest.raises(NotFound):
        conversations.reply(_caller(), "nope", "Hi", False, clock=CLOCK, sms=LocalOutbox(), store=store)


def test_r_rel_2_a_reply_that_loses_a_race_reads_again_and_is_stored_once() -> None:
    # Given the patient writing between the reply's read and its write
    store = _world()

    def patient_writes(s: FakeConversationStore) -> None:
        s.conversations[CID] = replace(s.conversations[CID], version=s.conversations[CID].version + 1)

    store.between_read_and_write = patient_writes
    conversations.reply(_caller(), CID, "Hi", True, clock=CLOCK, sms=LocalOutbox(), store=store)
    assert len(store.timeline(CID)) == 1 and store.writes == 1


# ----- assignment, moves, closing (R-ROUTE-1) -----


def test_r_route_1_assigning_to_a_staff_member_moves_every_listing_to_their_held_one() -> None:
    store = _world()
    moved = _assign(store, staff_id="tom")
    assert (moved.holder_type, moved.holder_id, moved.status) == ("staff", "tom", "open")  # type: ignore[attr-defined]
    assert _listed(store) == [("staff#tom", True)] and store.conversations[CID].listed_in == ("staff#tom",)
    assert store.audit[-1].action == "conversation.assign"


def test_r_route_1_reassigning_to_an_inbox_and_back_to_unassigned() -> None:
    store = _world()
    _assign(store, staff_id="tom")
    _assign(store, inbox_id="desk")
    assert _listed(store) == [("inbox#desk", True)]
    _assign(store, unassigned=True)
    assert _listed(store) == [("unassigned", False)] and store.conversations[CID].holder_type == "unassigned"


def test_assigning_needs_exactly_one_existing_target() -> None:
    store = _world()
    with pytest.raises(NotFound):
        _assign(store, staff_id="ghost")
    with pytest.raises(NotFound):
        _assign(store, inbox_id="ghost")
    with pytest.raises(ValidationFailed):
        _assign(store, staff_id="tom", unassigned=True)
    with pytest.raises(NotFound):
        conversations.assign(_caller(), "nope", staff_id="tom", inbox_id=None, unassigned=False, store=store)
    assert store.writes == 0


def test_r_auth_3_a_deactivated_member_is_not_assigned_a_conversation() -> None:
    # Given Tom was deactivated
    store = _world()
    store.staff["tom"] = replace(store.staff["tom"], status="deactivated")
    # When an admin assigns him a conversation  Then it is a 409 naming the field, and nothing is written
    with pytest.raises(Conflict) as refused:
        _assign(store, staff_id="tom")
    assert (refused.value.code, refused.value.field) == ("staff_deactivated", "staff_id")
    assert store.writes == 0 and store.conversations[CID].holder_type == "unassigned"


def test_r_route_1_closing_removes_every_listing_and_assigning_reopens() -> None:
    store = _world()
    _assign(store, staff_id="tom")
    closed = conversations.close(_caller("tom", "staff"), CID, CLOCK, store=store)
    assert (closed.status, closed.holder_type) == ("closed", None) and store.listings == {}
    reopened = _assign(store, inbox_id="desk")
    assert reopened.status == "open" and _listed(store) == [("inbox#desk", True)]  # type: ignore[attr-defined]


def test_r_hours_3_closing_ends_the_wait_and_a_reassignment_keeps_it() -> None:
    # Given an overdue conversation (the patient has waited 5 hours)
    store = _world()
    # When it is reassigned, the wait goes on: the patient still waits for an answer
    _assign(store, staff_id="tom")
    assert store.conversations[CID].waiting_since is not None and CID in store.overdue
    # When it is closed, the wait ends and it leaves the overdue list
    closed = conversations.close(_caller(), CID, CLOCK, store=store)
    assert (closed.waiting_since, closed.overdue_since) == (None, None)
    assert CID not in store.overdue and CID not in store.due


def test_r_rel_2_a_move_that_loses_a_race_reads_again_and_one_that_always_loses_is_409() -> None:
    store = _world()

    def routing_writes(s: FakeConversationStore) -> None:
        s.conversations[CID] = replace(s.conversations[CID], version=s.conversations[CID].version + 1)

    store.between_read_and_write = routing_writes
    assert _assign(store, staff_id="tom").holder_id == "tom"  # type: ignore[attr-defined]
    assert store.writes == 1

    def always(s: FakeConversationStore) -> None:
        routing_writes(s)
        s.between_read_and_write = always

    store.between_read_and_write = always
    with pytest.raises(Conflict) as busy:
        _assign(store, staff_id="maria")
    assert busy.value.code == "concurrent_update" and store.conversations[CID].holder_id == "tom"


# ----- inboxes and reading (R-ROUTE-9/10, R-SEC-2) -----


def test_r_route_10_unassigned_needs_its_subscription_and_mine_shows_what_i_hold() -> None:
    store = _world(subs={"maria": Subscriptions(inboxes=frozenset({"unassigned"}))})
    with pytest.raises(Forbidden) as refused:
        conversations.list_inbox(_caller("tom", "staff"), "unassigned", 10, None, store=store)
    assert refused.value.code == "subscription_required"
    page = conversations.list_inbox(_caller("maria", "staff"), "unassigned", 10, None, store=store)
    assert [i.conversation_id for i in page.items] == [CID] and page.labels
    _assign(store, staff_id="tom")
    mine = conversations.list_inbox(_caller("tom", "staff"), "mine", 10, None, store=store)
    assert [i.conversation_id for i in mine.items] == [CID]


def test_r_route_9_a_custom_inbox_has_no_labels_and_an_unknown_one_is_404() -> None:
    store = _world()
    _assign(store, inbox_id="desk")
    page = conversations.list_inbox(_caller(), "desk", 10, None, store=store)
    assert [i.conversation_id for i in page.items] == [CID] and not page.labels
    with pytest.raises(NotFound):
        conversations.list_inbox(_caller(), "ghost", 10, None, store=store)


def test_r_sec_2_reading_a_conversation_is_audited() -> None:
    store = _world()
    view = conversations.read_conversation(_caller("tom", "staff"), CID, 50, None, CLOCK, store=store)
    assert view.conversation.conversation_id == CID
    assert [(a.patient_id, a.actor, a.action) for a in store.audit] == [("pt1", "staff:tom", "conversation.read")]
    with pytest.raises(NotFound):
        conversations.read_conversation(_caller(), "nope", 50, None, CLOCK, store=store)


# ----- R-AUTH-3: a deactivated member's conversations go back to Unassigned -----


class Published:
    def __init__(self) -> None:
        self.kinds: list[str | None] = []

    def publish(self, source: str, detail_type: str, detail: dict[str, object]) -> None:
        self.kinds.append(detail.get("kind"))  # type: ignore[arg-type]


def _second_patient(store: FakeConversationStore, n: int) -> str:
    patient = replace(store.patients["pt1"], patient_id=f"pt{n}", conversation_id=f"c-pt{n}")
    store.patients[patient.patient_id] = patient
    store.conversations[patient.conversation_id] = replace(
        new_conversation(patient), last_message_at=NOW - timedelta(minutes=n)
    )
    return patient.conversation_id


def _assign_to(store: FakeConversationStore, conversation_id: str, **target: str) -> None:
    conversations.assign(
        _caller(),
        conversation_id,
        staff_id=target.get("staff_id"),
        inbox_id=target.get("inbox_id"),
        unassigned=False,
        clock=CLOCK,
        store=store,
    )


def _deactivated_notes(store: FakeConversationStore, conversation_id: str) -> int:
    return sum(m.kind == "staff_deactivated" for m in store.timeline(conversation_id))


def test_r_auth_3_each_held_conversation_moves_once_even_when_the_inbox_index_lags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from frontdesk.services import staff

    # Given Tom holding three conversations, and a fourth he held that was reassigned to Maria since; the inbox
    # index still shows all four in Tom's inbox (and keeps showing them: it lags), two entries per page
    monkeypatch.setattr(staff, "_PAGE", 2)
    store = _world()
    held = [CID, _second_patient(store, 2), _second_patient(store, 3)]
    reassigned = _second_patient(store, 4)
    for conversation_id in [*held, reassigned]:
        _assign_to(store, conversation_id, staff_id="tom")
    store.index_view = dict(store.listings)
    _assign_to(store, reassigned, staff_id="maria")
    published = Published()
    # When Tom's conversations are released
    moved = staff.release_conversations(PRACTICE, "tom", "admin:ada", CLOCK, publisher=published, store=store)
    # Then each of the three is in Unassigned with exactly one staff_deactivated message, announced once
    assert moved == 3 and published.kinds == ["staff_deactivated"] * 3
    for conversation_id in held:
        conversation = store.conversations[conversation_id]
        assert (conversation.holder_type, conversation.listed_in) == ("unassigned", ("unassigned",))
        assert _deactivated_notes(store, conversation_id) == 1
    # And the reassigned one stays with Maria, with no message
    assert store.conversations[reassigned].holder_id == "maria" and _deactivated_notes(store, reassigned) == 0


def test_r_auth_3_a_conversation_reassigned_between_the_read_and_the_move_is_left_alone() -> None:
    from frontdesk.services import staff

    store = _world()
    _assign_to(store, CID, staff_id="tom")

    def maria_takes_it(s: FakeConversationStore) -> None:
        s.conversations[CID] = replace(
            s.conversations[CID], holder_id="maria", version=s.conversations[CID].version + 1
        )

    store.between_read_and_write = maria_takes_it
    moved = staff.release_conversations(PRACTICE, "tom", "admin:ada", CLOCK, publisher=Published(), store=store)
    assert moved == 0 and store.conversations[CID].holder_id == "maria" and _deactivated_notes(store, CID) == 0
