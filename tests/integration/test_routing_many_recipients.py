"""Routing with more recipients than one transaction holds: everyone is notified, once (R-ROUTE-8, R-REL-1)."""

from __future__ import annotations

from dataclasses import replace

from frontdesk.domain.routing import Settings, Subscriptions
from tests.support import invoke_route, unique_phone


def test_r_route_8_three_hundred_recipients_each_notified_exactly_once(dynamodb: str) -> None:
    from frontdesk.services.intake import receive_sms
    from frontdesk.services.routing import route_message
    from frontdesk.store import listings as listings_store
    from frontdesk.store import routing as store
    from frontdesk.store.conversations import get_conversation

    # Given reason routing on and 300 staff members all subscribed to `other`
    support = {"sub": "support", "role": "support"}
    number = unique_phone()
    practice = invoke_route("POST", "/practices", {"name": "Big", "textable_number": number}, support).body
    practice_id = practice["practice_id"]
    staff_ids = [f"staff{i:03d}" for i in range(300)]
    everyone = {sid: Subscriptions(reasons=frozenset({"other"})) for sid in staff_ids}
    store.update_config(
        practice_id, lambda current: replace(current, settings=Settings(True, False), subscriptions=everyone)
    )
    # When an SMS arrives (no reason: `other`) and its MessageReceived is routed twice (publisher captured)
    events: list[dict] = []

    class Capture:
        def publish(self, source: str, detail_type: str, detail: dict) -> None:
            events.append(detail)

    answer = receive_sms(number, unique_phone(), "hello", "pmid-big", publisher=Capture())
    first = route_message(events[0])
    second = route_message(events[0])
    # Then every one of them has exactly one notification and the conversation in their own inbox
    assert (first.already_routed, second.already_routed) == (False, True)
    assert first.decision is not None and len(first.decision.recipients) == 300
    for staff_id in staff_ids[::37] + [staff_ids[-1]]:
        notes, _ = listings_store.list_notifications(practice_id, staff_id, 10, None)
        assert [n.conversation_id for n in notes] == [answer["conversation_id"]]
        mine, _ = listings_store.list_inbox(practice_id, f"staff#{staff_id}", 10, None)
        assert [i.conversation_id for i in mine] == [answer["conversation_id"]]
    conversation = get_conversation(practice_id, answer["conversation_id"])
    assert conversation is not None and len(conversation.listed_in) == 301
    # And closing it removes it from all 301 inboxes
    admin = {"sub": "a", "role": "admin", "practice_id": practice_id, "staff_id": "staff000"}
    closed = invoke_route("POST", f"/conversations/{answer['conversation_id']}/close", {}, admin)
    assert closed.status == 200, closed
    for staff_id in staff_ids[::37] + [staff_ids[-1]]:
        assert listings_store.list_inbox(practice_id, f"staff#{staff_id}", 10, None)[0] == []
    assert listings_store.list_inbox(practice_id, "unassigned", 10, None)[0] == []
