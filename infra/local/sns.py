"""SNS as the runner's event source: the template's SNS subscriptions, the Lambda SNS event shape, and AWS End User
Messaging's two-way SMS notification (POST /_local/sms/inbound, API.md "Local runner additions").

A publish is delivered synchronously to every function the template subscribes to the topic, in the envelope
Lambda receives from SNS; a handler failure is retried as Lambda retries asynchronous invocations (2 more times),
then the event is parked in the function's DeadLetterQueue, as in AWS."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from infra.local.functions import invoke
from infra.template import SnsSubscription, Wiring

log = logging.getLogger("frontdesk.local")
REGION, ACCOUNT = "us-east-1", "000000000000"
ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations
INBOUND_SMS_TOPIC = "InboundSmsTopic"  # the template's topic for End User Messaging two-way SMS


def topic_arn(topic: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}"


def sns_event(topic: str, message: str, message_id: str, published_at: datetime) -> dict[str, Any]:
    """One SNS notification as Lambda receives it (the `Sns.Message` is the publisher's string)."""
    arn = topic_arn(topic)
    stamp = published_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{published_at.microsecond // 1000:03d}Z"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": arn,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": stamp,
                    "SignatureVersion": "1",
                    "Signature": "local",
                    "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/local.pem",
                    "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def two_way_sms_notification(origination: str, destination: str, body: str, inbound_message_id: str) -> str:
    """What End User Messaging publishes for an SMS a patient texts to a practice number (docs/events.md)."""
    words = body.split()
    return json.dumps(
        {
            "originationNumber": origination,
            "destinationNumber": destination,
            "messageKeyword": words[0].upper() if words else "",
            "messageBody": body,
            "inboundMessageId": inbound_message_id,
            "previousPublishedMessageId": "",
        }
    )


class LocalSns:
    def __init__(self, wiring: Wiring, park: Callable[[str, str, dict[str, Any]], None]) -> None:
        self.wiring = wiring
        self._park = park  # (queue, function, event): the runner's dead-letter queues

    def subscriptions(self, topic: str) -> list[SnsSubscription]:
        return [s for s in self.wiring.sns_subscriptions if s.topic == topic]

    def publish(self, topic: str, message: str, published_at: datetime, *, deliveries: int = 1) -> dict[str, Any]:
        """Delivers to every subscriber; `deliveries` > 1 repeats the same notification (SNS is at least once)."""
        message_id = str(uuid.uuid4())
        results: list[Any] = []
        for _ in range(deliveries):
            for subscription in self.subscriptions(topic):
                results.append(self._deliver(subscription, sns_event(topic, message, message_id, published_at)))
        return {"message_id": message_id, "results": results}

    def _deliver(self, subscription: SnsSubscription, event: dict[str, Any]) -> Any:
        spec = self.wiring.functions[subscription.function]
        for _attempt in range(ASYNC_RETRIES + 1):
            try:
                return invoke(spec, event)
            except Exception as error:  # Lambda retries an asynchronous invocation, then dead-letters it
                log.warning("SNS delivery to %s failed: %s", subscription.function, type(error).__name__)
        if subscription.dead_letter_queue:
            self._park(subscription.dead_letter_queue, subscription.function, event)
        return None


def inbound_sms(sns: LocalSns, payload: dict[str, Any], now: datetime) -> tuple[int, dict[str, Any]]:
    """POST /_local/sms/inbound {from, to, body, inbound_message_id?, deliveries?} -> {inbound_message_id}."""
    fields = {name: payload.get(name) for name in ("from", "to", "body")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        return 400, _error("Give from, to and body (strings).")
    inbound_id = payload.get("inbound_message_id") or str(uuid.uuid4())
    deliveries = payload.get("deliveries", 1)
    if not isinstance(inbound_id, str) or not isinstance(deliveries, int) or not 1 <= deliveries <= 5:
        return 400, _error("inbound_message_id is a string; deliveries is 1 to 5.")
    if not sns.subscriptions(INBOUND_SMS_TOPIC):
        return 404, {"error": {"code": "not_found", "message": "template.yaml subscribes nothing to the topic."}}
    message = two_way_sms_notification(str(fields["from"]), str(fields["to"]), str(fields["body"]), inbound_id)
    sns.publish(INBOUND_SMS_TOPIC, message, now, deliveries=deliveries)
    return 200, {"inbound_message_id": inbound_id}


def _error(message: str) -> dict[str, Any]:
    return {"error": {"code": "validation_error", "message": message}}
