"""The MessageReceived event: what intake publishes is what routing parses (docs/events.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from frontdesk.services.messages import NewMessage, message_received_detail

EVENT = Path(__file__).resolve().parent.parent / "events" / "message_received.json"


def _model() -> type:
    from infra.local.functions import load_module
    from infra.template import wiring

    return load_module(wiring().functions["RoutingFunction"]).MessageReceived  # type: ignore[no-any-return]


def test_sample_event_parses_with_the_eventbridge_envelope() -> None:
    parsed = _model().from_event(json.loads(EVENT.read_text()))  # type: ignore[attr-defined]
    assert (parsed.practice_id, parsed.message_sk, parsed.channel) == ("p1", "MSG#2026-11-24T01:00:00.000Z#m1", "sms")


def test_published_detail_carries_no_body_and_parses() -> None:
    message = NewMessage("p", "c", "pt", "patient", "app", "my secret symptoms", reason="billing")
    detail = message_received_detail(message, datetime(2026, 1, 1, tzinfo=UTC))
    assert "my secret symptoms" not in json.dumps(detail)
    parsed = _model().from_detail(detail)  # type: ignore[attr-defined]
    assert parsed.reason == "billing" and parsed.message_sk.endswith(message.message_id)


@pytest.mark.parametrize("broken", [{"practice_id": None}, {"message_sk": 7}, {"reason": ["billing"]}, "detail"])
def test_a_malformed_detail_is_refused(broken: object) -> None:
    # Given the sample event with a required field missing, a field of the wrong type, or no object at all
    # Then parsing raises (the invocation fails: EventBridge retries it, then dead-letters it)
    event = json.loads(EVENT.read_text())
    event["detail"] = {**event["detail"], **broken} if isinstance(broken, dict) else broken
    with pytest.raises(ValueError, match="MessageReceived"):
        _model().from_event(event)  # type: ignore[attr-defined]


def test_unknown_fields_are_ignored() -> None:
    event = json.loads(EVENT.read_text())
    event["detail"]["added_later"] = "x"
    assert _model().from_event(event).message_id == "m1"  # type: ignore[attr-defined]
