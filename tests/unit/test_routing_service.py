"""services.routing against an in-memory store (tests/fake_routing_store.py): the scenarios the integration and e2e
tests prove on DynamoDB (R-ROUTE-1/6/7/8/12, R-REL-1/2), minus the database, so a routing rule breaks here first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from frontdesk.adapters.clock import FixedClock, iso
from frontdesk.domain.appointments import Appointment
from frontdesk.domain.conversations import Conversation, Message
from frontdesk.domain.patients import Patient
from frontdesk.domain.routing import RoutingConfig, Settings, Subscriptions
from frontdesk.services import retry
from frontdesk.services.routing import route_message
from tests.fake_routing_store import FakeRoutingStore

PRACTICE, CONVERSATION, PATIENT = "p1", "c1", "pt1"
NOW = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
CLOCK = FixedClock(NOW)


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry.time, "sleep", lambda _seconds: None)


def _world(
    settings: Settings | None = None,
    subscriptions: dict[str, Subscriptions] | None = None,
    *,
    status: str = "closed",
    holder: tuple[str, str | None] | None = None,
    listed_in: tuple[str, ...] = (),
    reason: str | None = None,
    location: str | None = None,
) -> FakeRoutingStore:
    conversation = Conversation(
        practice_id=PRACTICE,
        conversation_id=CONVERSATION,
        patient_id=PATIENT,
        status=status,
        holder_type=holder[0] if holder else None,
        holder_id=holder[1] if holder else None,
        reason=reason,
        location=None,
        last_message_at=None,
        last_patient_message_at=None,
        last_patient_reason=None,
        last_practice_message_at=None,
        patient_read_at=None,
        listed_in=listed_in,
        created_at=NOW - timedelta(days=30),
        version=3,
    )
    patient = Patient(
        practice_id=PRACTICE,
        patient_id=PATIENT,
        first_name="Ana",
        last_name="Lee",
        date_of_birth=date(1980, 1, 2),
        conversation_id=CONVERSATION,
        created_at=NOW - timedelta(days=30),
        location=location,
        version=5,
    )
    return FakeRoutingStore(
        config=RoutingConfig(PRACTICE, settings or Settings(), subscriptions or {}, 1),
        conversations={CONVERSATION: conversation},
        patients={PATIENT: patient},
    )


def _message(
    store: FakeRoutingStore,
    n: int,
    *,
    sender: str = "patient",
    reason: str | None = None,
    source: str = "none",
    **extra: Any,
) -> dict[str, Any]:
    at = NOW - timedelta(minutes=10 - n)
    sk, message_id = f"MSG#{at.isoformat()}#m{n}", f"m{n}"
    store.messages[(CONVERSATION, sk)] = Message(
        message_id=message_id,
        sender=sender,
        channel="sms",
        body="hello",
        created_at=at,
        reason=reason,
        extra={"reason_source": source, **extra},
    )
    return {
        "practice_id": PRACTICE,
        "conversation_id": CONVERSATION,
        "patient_id": PATIENT,
        "message_id": message_id,
        "message_sk": sk,
    }


def _recipients(store: FakeRoutingStore) -> list[str]:
    return sorted(n.staff_id for n in store.notifications.values())


def test_r_route_8_recipients_by_reason_listed_in_unassigned_and_their_own_inbox_labelled() -> None:
    # Given reason routing on, Maria on prescriptions, Tom on billing
    subs = {
        "maria": Subscriptions(reasons=frozenset({"prescriptions_refills"})),
        "tom": Subscriptions(reasons=frozenset({"billing"})),
    }
    store = _world(Settings(reasons_enabled=True), subs)
    # When a message about prescriptions (from a voicemail extension) is routed
    routed = route_message(
        _message(store, 1, reason="prescriptions_refills", source="voicemail_extension"), CLOCK, store
    )
    # Then Maria alone is notified, the conversation is open in Unassigned and in Maria's inbox, labelled
    assert not routed.already_routed and _recipients(store) == ["maria"]
    conversation = store.conversations[CONVERSATION]
    assert (conversation.status, conversation.holder_type, conversation.reason) == (
        "open",
        "unassigned",
        "prescriptions_refills",
    )
    assert sorted(name for name, _ in store.listings) == ["staff#maria", "unassigned"]
    assert not any(listing.held for listing in store.listings.values())
    # And the message explains why
    routing = next(iter(store.messages.values())).routing
    assert routing is not None and routing["recipients"] == ["maria"]
    assert routing["reason_source"] == "voicemail_extension" and routing["routed_at"] == iso(NOW)


def test_r_route_6_a_message_without_reason_counts_as_other_and_reaches_nobody_subscribed_elsewhere() -> None:
    subs = {"maria": Subscriptions(reasons=frozenset({"prescriptions_refills"}))}
    store = _world(Settings(reasons_enabled=True), subs, reason="prescriptions_refills")
    route_message(_message(store, 1, reason=None, source="cleared_by_sms"), CLOCK, store)
    assert _recipients(store) == [] and store.conversations[CONVERSATION].reason is None
    routing = next(iter(store.messages.values())).routing
    assert routing is not None and routing["reason_bucket"] == "other"


def test_r_route_1_a_held_conversation_stays_with_its_holder_who_is_notified() -> None:
    # Given a conversation Tom holds, and routing that would send the message to Maria
    subs = {"maria": Subscriptions(reasons=frozenset({"other"})), "tom": Subscriptions()}
    store = _world(
        Settings(reasons_enabled=True), subs, status="open", holder=("staff", "tom"), listed_in=("staff#tom",)
    )
    # When the patient writes again
    route_message(_message(store, 1), CLOCK, store)
    # Then it stays with Tom, who alone is notified; his listing is the held one
    assert _recipients(store) == ["tom"]
    assert store.conversations[CONVERSATION].holder_id == "tom"
    assert [(name, listing.held) for (name, _), listing in store.listings.items()] == [("staff#tom", True)]


def test_r_route_12_an_extension_mapped_to_an_inbox_sends_it_there_and_notifies_its_subscribers() -> None:
    subs = {"ana": Subscriptions(inboxes=frozenset({"billing-desk"})), "bo": Subscriptions()}
    store = _world(Settings(), subs)
    route_message(_message(store, 1, target_inbox="billing-desk"), CLOCK, store)
    conversation = store.conversations[CONVERSATION]
    assert (conversation.holder_type, conversation.holder_id) == ("inbox", "billing-desk")
    assert _recipients(store) == ["ana"] and list(store.listings) == [("inbox#billing-desk", CONVERSATION)]


def test_routing_off_everything_waits_in_unassigned_for_its_subscribers_and_stale_listings_go() -> None:
    # Given routing off, a closed conversation still listed in Tom's inbox from before
    subs = {"ana": Subscriptions(inboxes=frozenset({"unassigned"})), "tom": Subscriptions()}
    store = _world(Settings(), subs, listed_in=("staff#tom",))
    store.listings[("staff#tom", CONVERSATION)] = None  # type: ignore[assignment]  # only the key matters
    route_message(_message(store, 1), CLOCK, store)
    assert _recipients(store) == ["ana"] and list(store.listings) == [("unassigned", CONVERSATION)]
    assert store.conversations[CONVERSATION].listed_in == ("unassigned",)


def test_r_route_7_the_next_appointment_labels_the_conversation_and_sticks_to_the_profile() -> None:
    # Given location routing, Maria on Manhattan, Tom on Brooklyn, a patient on Brooklyn with a Manhattan appointment
    subs = {"maria": Subscriptions(locations=frozenset({"man"})), "tom": Subscriptions(locations=frozenset({"bk"}))}
    store = _world(Settings(locations_enabled=True), subs, location="bk")
    store.appointments = [
        Appointment("a-old", PATIENT, "bk", NOW - timedelta(days=1), "booked"),
        Appointment("a-cxl", PATIENT, "bk", NOW + timedelta(days=1), "cancelled"),
        Appointment("a-7", PATIENT, "man", NOW + timedelta(days=3), "booked"),
    ]
    # When the patient texts
    route_message(_message(store, 1), CLOCK, store)
    # Then Maria (Manhattan) is notified, not Tom, and the profile now shows Manhattan (its version moved on)
    assert _recipients(store) == ["maria"]
    assert store.patients[PATIENT].location == "man" and store.patients[PATIENT].version == 6
    assert store.conversations[CONVERSATION].location == "man"
    # And with the appointment cancelled, the profile's location routes the next message (source: profile)
    store.appointments = [Appointment("a-7", PATIENT, "man", NOW + timedelta(days=3), "cancelled")]
    store.notifications.clear()
    route_message(_message(store, 2), CLOCK, store)
    assert _recipients(store) == ["maria"] and store.patients[PATIENT].version == 6
    last = max(store.messages.values(), key=lambda m: m.created_at).routing
    assert last is not None and last["location_source"] == "profile"


def test_system_messages_route_on_the_conversations_reason_and_notify_as_system_message() -> None:
    subs = {"maria": Subscriptions(reasons=frozenset({"billing"}))}
    store = _world(Settings(reasons_enabled=True), subs, reason="billing")
    route_message(_message(store, 1, sender="system"), CLOCK, store)
    assert [(n.staff_id, n.type) for n in store.notifications.values()] == [("maria", "system_message")]


def test_r_rel_1_an_event_delivered_twice_routes_once() -> None:
    subs = {"ana": Subscriptions(inboxes=frozenset({"unassigned"}))}
    store = _world(Settings(), subs)
    detail = _message(store, 1)
    first, second = route_message(detail, CLOCK, store), route_message(detail, CLOCK, store)
    assert (first.already_routed, second.already_routed) == (False, True)
    assert store.commits == 1 and store.conversations[CONVERSATION].version == 4 and len(store.notifications) == 1


def test_a_message_that_moved_or_never_committed_is_not_routed() -> None:
    store = _world()
    detail = {**_message(store, 1), "message_sk": "MSG#missing"}
    assert route_message(detail, CLOCK, store).already_routed and store.commits == 0


def test_r_rel_2_a_lost_race_reads_again_and_routes_on_what_won() -> None:
    # Given routing off, and staff member Tom taking the conversation between routing's read and its commit
    subs = {"ana": Subscriptions(inboxes=frozenset({"unassigned"}))}
    store = _world(Settings(), subs)

    def tom_takes_it(s: FakeRoutingStore) -> None:
        current = s.conversations[CONVERSATION]
        s.conversations[CONVERSATION] = Conversation(
            **{**current.__dict__, "status": "open", "holder_type": "staff", "holder_id": "tom", "version": 4}
        )

    store.between_read_and_commit = tom_takes_it
    # When the message is routed
    routed = route_message(_message(store, 1), CLOCK, store)
    # Then the first commit lost (Stale), routing read again and left the conversation with Tom, who is notified
    assert not routed.already_routed and store.reads == 2 and store.commits == 1
    assert _recipients(store) == ["tom"] and store.conversations[CONVERSATION].version == 5


def test_r_rel_2_routing_that_loses_every_race_fails_so_eventbridge_retries() -> None:
    store = _world()
    detail = _message(store, 1)

    def always_changed(s: FakeRoutingStore) -> None:
        current = s.conversations[CONVERSATION]
        s.conversations[CONVERSATION] = Conversation(**{**current.__dict__, "version": current.version + 1})
        s.between_read_and_commit = always_changed

    store.between_read_and_commit = always_changed
    with pytest.raises(RuntimeError, match="EventBridge"):
        route_message(detail, CLOCK, store)
    assert store.commits == 0 and store.reads == 16
