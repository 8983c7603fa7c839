"""Routing: consumes MessageReceived from the event bus and routes the message (R-ROUTE-1, 7, 8, 12)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from frontdesk.services.routing import route_message

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class MessageReceived(BaseModel):
    """The MessageReceived detail (ids and routing inputs only, never the body)."""

    practice_id: str
    conversation_id: str
    patient_id: str
    message_id: str
    message_sk: str
    sender: str
    channel: str
    reason: str | None = None
    kind: str | None = None
    extension: str | None = None
    at: str


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@event_parser(model=MessageReceived, envelope=envelopes.EventBridgeEnvelope)
def lambda_handler(event: MessageReceived, context: LambdaContext) -> dict[str, Any]:
    routed = route_message(event.model_dump())
    if not routed.already_routed:
        metrics.add_metric(name="MessageRouted", unit=MetricUnit.Count, value=1)
    return {"message_id": routed.message_id, "already_routed": routed.already_routed}
