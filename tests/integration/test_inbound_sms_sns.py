"""R-SMS-1: AWS End User Messaging two-way SMS reaches the intake function through SNS (template.yaml), in the
event shape of tests/events/sns_two_way_sms.json; the same intake as the webhook, idempotent on inboundMessageId."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from frontdesk.store import keys
from frontdesk.store.conversations import MessageItem
from infra.local.functions import invoke
from infra.template import load_template, wiring
from tests.conftest import secret_value
from tests.support import invoke_route, practice_with_texting_patient

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parent.parent / "events" / "sns_two_way_sms.json"


def _event(origination: str, destination: str, body: str, inbound_id: str) -> dict[str, Any]:
    event = copy.deepcopy(json.loads(SAMPLE.read_text()))
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(
        originationNumber=origination, destinationNumber=destination, messageBody=body, inboundMessageId=inbound_id
    )
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return event


@pytest.fixture
def world(dynamodb: str) -> dict[str, Any]:
    return practice_with_texting_patient("Clinic")


def _intake() -> Any:
    return wiring().functions["MessageIntakeFunction"]


def _patient_messages(world: dict[str, Any]) -> list[MessageItem]:
    pk = keys.conversation_pk(world["admin"]["practice_id"], world["patient"]["conversation_id"])
    return [m for m in MessageItem.query(pk, MessageItem.sk.startswith("MSG#")) if m.sender == "patient"]


def test_r_sms_1_the_template_subscribes_intake_to_the_topic_with_a_dead_letter_queue() -> None:
    # Given template.yaml
    template = load_template()
    subscriptions = wiring().sns_subscriptions
    # Then the intake function is the topic's subscriber, failures go to an encrypted queue, the ARN is an output
    assert [(s.function, s.topic, s.dead_letter_queue) for s in subscriptions] == [
        ("MessageIntakeFunction", "InboundSmsTopic", "InboundSmsDeadLetterQueue")
    ]
    resources = template["Resources"]
    assert resources["InboundSmsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}
    assert resources["InboundSmsDeadLetterQueue"]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}
    policy = resources["InboundSmsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Principal"] == {"Service": "sms-voice.amazonaws.com"} and policy["Action"] == "sns:Publish"
    assert template["Outputs"]["InboundSmsTopicArn"]["Value"] == {"Ref": "InboundSmsTopic"}


def test_r_sms_1_an_sns_notification_is_stored_like_a_webhook_sms_and_once(world: dict[str, Any]) -> None:
    # Given the sample notification, from the patient's phone to the practice's number
    event = _event(world["phone"], world["number"], "Can I move my appointment?", "in-1")
    # When SNS delivers it twice
    first = invoke(_intake(), event)
    second = invoke(_intake(), event)
    # Then one SMS message is in the patient's conversation, and both deliveries answer the same
    assert first == second and first["received"] == 1
    assert first["answers"][0]["conversation_id"] == world["patient"]["conversation_id"]
    stored = _patient_messages(world)
    assert [(m.channel, m.body) for m in stored] == [("sms", "Can I move my appointment?")]


def test_r_sms_1_ids_are_per_provider_a_webhook_id_equal_to_an_inbound_id_is_another_message(
    world: dict[str, Any],
) -> None:
    from tests.support import sign

    # Given an SMS through SNS with inboundMessageId "same"
    invoke(_intake(), _event(world["phone"], world["number"], "first", "same"))
    # When the signed webhook (another provider) delivers a message with provider_message_id "same"
    raw = json.dumps({"provider_message_id": "same", "from": world["phone"], "to": world["number"], "body": "second"})
    headers = {"x-frontdesk-signature": sign(raw.encode(), secret_value("webhook"))}
    assert invoke_route("POST", "/webhooks/sms", raw.encode(), headers=headers).status == 200
    # Then both are stored
    assert sorted(m.body for m in _patient_messages(world)) == ["first", "second"]


def test_r_sms_1_a_malformed_notification_fails_without_quoting_it(world: dict[str, Any]) -> None:
    # Given an SNS message that is not a two-way SMS notification
    event = _event(world["phone"], world["number"], "x", "in-2")
    event["Records"][0]["Sns"]["Message"] = json.dumps({"originationNumber": world["phone"]})
    # Then the invocation fails (Lambda retries, then the DLQ keeps it) and the error does not carry the phone
    with pytest.raises(ValueError) as failure:
        invoke(_intake(), event)
    assert world["phone"] not in str(failure.value)


def test_r_sms_1_control_characters_in_an_sns_body_are_removed_not_refused(world: dict[str, Any]) -> None:
    # Given notifications whose bodies carry control characters (a webhook would get 400 for them): a message, and a
    # STOP with a NUL after it
    text = "Can I\x00 move\x07 it?\r\nThanks\t\x1b[0m!\x85"
    first = invoke(_intake(), _event(world["phone"], world["number"], text, "ctl-1"))
    stop = invoke(_intake(), _event(world["phone"], world["number"], "STOP\x00", "ctl-2"))
    # Then the message is stored without them (newline, CR and tab kept) instead of failing into the DLQ
    assert first["received"] == 1
    assert [m.body for m in _patient_messages(world)] == ["Can I move it?\r\nThanks\t[0m!"]
    # And the STOP is the keyword it is
    assert stop["answers"][0]["keyword"] == "stop"
