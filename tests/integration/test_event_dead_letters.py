"""R-REL-1/R-REL-2: an EventBridge delivery that keeps failing is parked in the rule's DLQ and can be re-driven."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.template import EventRule, FunctionSpec, Wiring, load_template, wiring

pytestmark = pytest.mark.integration

FLAKY_HANDLER = """
import json, pathlib
STATE = pathlib.Path(__file__).with_name("state.json")

def lambda_handler(event, context):
    state = json.loads(STATE.read_text())
    state["calls"] += 1
    STATE.write_text(json.dumps(state))
    if state["broken"]:
        raise RuntimeError("dependency down")
    state["handled"].append(event["id"])
    STATE.write_text(json.dumps(state))
    return {"ok": True}
"""


def test_the_template_gives_the_routing_rule_retries_and_a_dead_letter_queue() -> None:
    rule = next(r for r in wiring().rules if r.function == "RoutingFunction")
    assert rule.dead_letter_queue == "RoutingDeadLetterQueue" and rule.max_retries > 0
    assert load_template()["Resources"]["RoutingDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


def test_r_rel_2_failed_delivery_is_parked_then_redriven_once(tmp_path: Path, s3: Any) -> None:
    import json

    import boto3

    from frontdesk.adapters.events import LOCAL_BUS
    from infra.local.server import Gateway

    (tmp_path / "app.py").write_text(FLAKY_HANDLER)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"calls": 0, "broken": True, "handled": []}))
    spec = FunctionSpec("FlakyRoutingFunction", tmp_path, "app.lambda_handler")
    rule = EventRule("FlakyRoutingFunction", {"source": ["frontdesk.test"]}, "TestDeadLetterQueue", max_retries=2)
    sqs = boto3.client("sqs", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1")
    gateway = Gateway(Wiring({spec.logical_id: spec}, [], [], [rule], [], None, {}), "bucket", s3, sqs)
    try:
        # Given a consumer whose dependency is down, When an event is published
        LOCAL_BUS.publish("frontdesk.test", "Something", {"n": 1})
        # Then it was tried 1 + 2 times and parked in the DLQ
        assert json.loads(state.read_text())["calls"] == 3
        assert [item["function"] for item in gateway.dead_letters.peek("TestDeadLetterQueue")] == [
            "FlakyRoutingFunction"
        ]
        # When the dependency is back and the DLQ is re-driven, Then the event is handled once and the DLQ is empty
        state.write_text(json.dumps({**json.loads(state.read_text()), "broken": False}))
        assert gateway.redrive("TestDeadLetterQueue") == {"queue": "TestDeadLetterQueue", "redelivered": 1, "failed": 0}
        assert len(json.loads(state.read_text())["handled"]) == 1
        assert gateway.redrive("TestDeadLetterQueue")["redelivered"] == 0
    finally:
        LOCAL_BUS.clear_subscribers()
