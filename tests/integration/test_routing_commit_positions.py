"""The routing commit reads the message's cancellation reason at the message's position in the request (R-REL-1)."""

from __future__ import annotations

from dataclasses import replace

from frontdesk.domain.routing import Settings, Subscriptions
from tests.support import invoke_route, unique_phone


def test_r_rel_1_a_decision_committed_again_is_already_routed_not_a_lost_race(dynamodb: str) -> None:
    from frontdesk.services.intake import receive_sms
    from frontdesk.services.routing import route_message
    from frontdesk.store import message_path
    from frontdesk.store import routing as routing_store

    # Given reason routing to two subscribers, and an SMS whose routing inputs were read before it was routed
    support = {"sub": "support", "role": "support"}
    number = unique_phone()
    practice_id = invoke_route("POST", "/practices", {"name": "Twice", "textable_number": number}, support).body[
        "practice_id"
    ]
    subscribed = {sid: Subscriptions(reasons=frozenset({"other"})) for sid in ("s1", "s2")}
    routing_store.update_config(
        practice_id, lambda current: replace(current, settings=Settings(True, False), subscriptions=subscribed)
    )
    events: list[dict] = []

    class Capture:
        def publish(self, source: str, detail_type: str, detail: dict) -> None:
            events.append(detail)

    receive_sms(number, unique_phone(), "hello", "pmid-twice", publisher=Capture())
    detail = events[0]
    before = message_path.read_for_routing(
        practice_id, detail["conversation_id"], detail["message_sk"], detail["patient_id"]
    )
    routed = route_message(detail)
    assert routed.decision is not None and routed.decision.listings  # listings: puts before the message's update
    assert before.conversation is not None and before.message is not None
    # When the same decision is committed again from the inputs read before (a second delivery that lost the race)
    written = message_path.commit_decision(
        before.conversation,
        detail["message_sk"],
        before.message.message_id,
        before.message.created_at,
        routed.decision,
        {"rule": "again"},
        "new_message",
    )
    # Then it is "already routed" (False), read from the message's own reason, not a lost race (Stale) to retry
    assert written is False
