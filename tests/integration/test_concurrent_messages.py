"""R-REL-1/R-REL-2 (issue 6 item 7): 20 messages arriving at once in one conversation lose none and route each once,
on DynamoDB Local; the events, delivered concurrently and then all over again, route nothing twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from frontdesk.domain.routing import Settings, Subscriptions
from tests.support import invoke_route, unique_phone


class Capture:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(detail)


def test_r_rel_2_twenty_concurrent_messages_into_one_conversation_lose_none_and_route_once(dynamodb: str) -> None:
    from frontdesk.services.intake import receive_sms
    from frontdesk.services.routing import route_message
    from frontdesk.store import keys
    from frontdesk.store import listings as listings_store
    from frontdesk.store import routing as store
    from frontdesk.store.conversations import MessageItem, get_conversation, list_messages

    # Given a practice with reason routing on and two staff subscribed to `other`, and a known sender
    support = {"sub": "support", "role": "support"}
    number, sender = unique_phone(), unique_phone()
    practice_id = invoke_route("POST", "/practices", {"name": "Busy", "textable_number": number}, support).body[
        "practice_id"
    ]
    subs = {sid: Subscriptions(reasons=frozenset({"other"})) for sid in ("s1", "s2")}
    store.update_config(practice_id, lambda c: replace(c, settings=Settings(True, False), subscriptions=subs))
    capture = Capture()
    first = receive_sms(number, sender, "first", "pm-first", publisher=capture)
    conversation_id = first["conversation_id"]

    # When 20 SMS from that sender arrive at once, each also delivered twice by the provider
    def deliver(index: int) -> dict[str, Any]:
        return receive_sms(number, sender, f"message {index}", f"pm-{index}", publisher=capture)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(deliver, [*range(20), *range(20)]))

    # Then they all went to one conversation, the repeated deliveries answered like the first, none was lost
    assert {a["conversation_id"] for a in answers} == {conversation_id}
    assert answers[:20] == answers[20:]
    assert len({a["message_id"] for a in answers}) == 20
    messages, _ = list_messages(practice_id, conversation_id, 200, None)
    bodies = sorted(m.body for m in messages if m.sender == "patient")
    assert bodies == sorted(["first", *(f"message {i}" for i in range(20))])
    assert len(capture.events) == 21  # one MessageReceived per stored message, none for a repeat

    # When every event is routed concurrently, and then all of them again (at-least-once delivery)
    with ThreadPoolExecutor(max_workers=21) as pool:
        routed = list(pool.map(route_message, capture.events))
        again = list(pool.map(route_message, capture.events))

    # Then each message was routed exactly once, and each subscriber has one notification per message
    assert sorted(r.already_routed for r in routed) == [False] * 21
    assert all(r.already_routed for r in again)
    for event in capture.events:
        item = MessageItem.get(keys.conversation_pk(practice_id, conversation_id), event["message_sk"])
        assert item.routing, item.message_id
    for staff_id in ("s1", "s2"):
        notes, _ = listings_store.list_notifications(practice_id, staff_id, 200, None)
        assert sorted(n.notification_id for n in notes) == sorted({n.notification_id for n in notes})
        assert len(notes) == 21, staff_id
    conversation = get_conversation(practice_id, conversation_id)
    assert conversation is not None and conversation.last_message_at is not None
