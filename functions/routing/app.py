"""Routing: consumes MessageReceived from the event bus and routes the message (R-ROUTE-1, 7, 8, 12)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from dataclasses import asdict, dataclass, fields
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk.services.routing import route_message

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@dataclass(frozen=True)
class MessageReceived:
    """The MessageReceived detail (ids and routing inputs only, never the body).

    Checked by hand, not with pydantic: eleven string fields do not need a validation library, and pydantic (with
    Powertools' parser) was half a boto3 import of this function's cold start (docs/performance.md).
    """

    practice_id: str
    conversation_id: str
    patient_id: str
    message_id: str
    message_sk: str
    sender: str
    channel: str
    at: str
    reason: str | None = None
    kind: str | None = None
    extension: str | None = None

    @classmethod
    def from_detail(cls, detail: Any) -> MessageReceived:
        """Raises ValueError (the invocation fails: EventBridge retries, then the dead-letter queue) when a required
        field is missing or any field is not a string; unknown fields are ignored."""
        if not isinstance(detail, dict):
            raise ValueError("MessageReceived: the detail is not an object")
        values: dict[str, str | None] = {}
        for field in fields(cls):
            value = detail.get(field.name)
            required = field.default is not None
            if (value is None and required) or (value is not None and not isinstance(value, str)):
                raise ValueError(f"MessageReceived: invalid {field.name}")
            values[field.name] = value
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> MessageReceived:
        """From the EventBridge event (its `detail`)."""
        return cls.from_detail((event or {}).get("detail"))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    routed = route_message(asdict(MessageReceived.from_event(event)))
    if not routed.already_routed:
        metrics.add_metric(name="MessageRouted", unit=MetricUnit.Count, value=1)
    return {"message_id": routed.message_id, "already_routed": routed.already_routed}


frontdesk.startup.done()
