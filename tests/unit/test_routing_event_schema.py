"""The MessageReceived event: what intake publishes is what routing parses (docs/events.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from aws_lambda_powertools.utilities.parser import envelopes, parse

from frontdesk.services.messages import NewMessage, message_received_detail

EVENT = Path(__file__).resolve().parent.parent / "events" / "message_received.json"


def _model() -> type:
    from infra.local.functions import load_module
    from infra.template import wiring

    return load_module(wiring().functions["RoutingFunction"]).MessageReceived  # type: ignore[no-any-return]


def test_sample_event_parses_with_the_eventbridge_envelope() -> None:
    parsed = parse(event=json.loads(EVENT.read_text()), model=_model(), envelope=envelopes.EventBridgeEnvelope)
    assert (parsed.practice_id, parsed.message_sk, parsed.channel) == ("p1", "MSG#2026-11-24T01:00:00.000Z#m1", "sms")


def test_published_detail_carries_no_body_and_parses() -> None:
    message = NewMessage("p", "c", "pt", "patient", "app", "my secret symptoms", reason="billing")
    detail = message_received_detail(message, datetime(2026, 1, 1, tzinfo=UTC))
    assert "my secret symptoms" not in json.dumps(detail)
    parsed = _model()(**detail)
    assert parsed.reason == "billing" and parsed.message_sk.endswith(message.message_id)
