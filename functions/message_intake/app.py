"""Inbound patient messages: app and messenger, SMS and voicemail webhooks (signed), and AWS End User Messaging
two-way SMS through its SNS topic (R-SMS-1: the same intake as the webhook)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

import base64
import hashlib
import hmac
import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field, ValidationError

from frontdesk import secrets
from frontdesk.adapters.clock import iso, parse_iso
from frontdesk.domain.conversations import Message
from frontdesk.domain.reasons import LABELS
from frontdesk.errors import ApiError, TooLarge, Unauthenticated
from frontdesk.http import (
    MAX_BODY_BYTES,
    PUBLIC,
    Access,
    caller,
    check_access,
    error_responses,
    json_response,
    make_resolver,
    ok_response,
    refuse_without_secrets,
    resolve,
)
from frontdesk.schemas import ApiModel, BodyText, HttpsUrl, OneLine, StrippedBodyText
from frontdesk.services import intake

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver()
PATIENT = frozenset({"patient"})
WEBHOOKS = ("POST /webhooks/sms", "POST /webhooks/voicemail")
ACCESS: Access = {
    "GET /patient/conversation": PATIENT,
    "POST /patient/conversation/messages": PATIENT,
    "POST /patient/conversation/read": PATIENT,
    "POST /webhooks/sms": PUBLIC,
    "POST /webhooks/voicemail": PUBLIC,
}
SIGNATURE_HEADER = "x-frontdesk-signature"


class PatientMessageIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    body: BodyText = Field(min_length=1, max_length=10_000)
    reason: str | None = Field(default=None, max_length=40)
    client_message_id: OneLine = Field(min_length=1, max_length=100)
    channel: Literal["app", "messenger"] = "app"  # extension: which patient surface sent it (docs/api-extensions.md)


class PatientMessageOut(ApiModel):
    message_id: str
    reason: str | None


class PromptReasonOut(ApiModel):
    reason: str
    label: str


class ReasonPromptOut(ApiModel):
    required: bool
    reasons: list[PromptReasonOut]


class PatientMessageView(ApiModel):
    message_id: str
    sender: str
    channel: str
    body: str
    reason: str | None = None
    kind: str | None = None
    created_at: str


class PatientConversationOut(ApiModel):
    conversation_id: str
    messages: list[PatientMessageView]
    reason_prompt: ReasonPromptOut


class Done(ApiModel):
    status: str


class SmsIn(ApiModel):
    model_config = ConfigDict(extra="ignore")  # providers add fields of their own
    provider_message_id: str = Field(min_length=1, max_length=200)
    to: str = Field(min_length=1, max_length=40)
    body: BodyText = Field(max_length=10_000)
    from_: str = Field(alias="from", min_length=1, max_length=40)


class VoicemailIn(ApiModel):
    model_config = ConfigDict(extra="ignore")
    provider_message_id: str = Field(min_length=1, max_length=200)
    to: str = Field(min_length=1, max_length=40)
    from_: str = Field(alias="from", min_length=1, max_length=40)
    extension: str | None = Field(default=None, max_length=20, pattern=r"^[0-9*#]{1,20}$")
    recording_url: HttpsUrl = Field(min_length=1, max_length=2000)
    transcript: BodyText | None = Field(default=None, max_length=10_000)
    line_type: Literal["cell", "landline"]


class WebhookOut(ApiModel):
    # Null for a text that is only a keyword and wrote no system message (R-SMS-2, docs/api-extensions.md).
    message_id: str | None
    conversation_id: str | None
    keyword: Literal["stop", "start", "help"] | None = None


class AwsInboundSms(ApiModel):
    """AWS End User Messaging two-way SMS: the JSON in the SNS record's Message (docs/events.md)."""

    model_config = ConfigDict(extra="ignore")  # messageKeyword, previousPublishedMessageId, isoCountryCode...
    origination_number: str = Field(alias="originationNumber", min_length=1, max_length=40)
    destination_number: str = Field(alias="destinationNumber", min_length=1, max_length=40)
    message_body: StrippedBodyText = Field(alias="messageBody", max_length=10_000)  # NUL & co. removed, as webhooks 400
    inbound_message_id: str = Field(alias="inboundMessageId", min_length=1, max_length=200)


def _message_out(message: Message) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "sender": message.sender,
        "channel": message.channel,
        "body": message.body,
        "reason": message.reason,
        "kind": message.kind,
        "created_at": iso(message.created_at),
    }


@app.get("/patient/conversation", responses={**ok_response(PatientConversationOut), **error_responses(403, 404)})
def get_conversation() -> Response[PatientConversationOut]:
    who = caller(app)
    assert who.practice_id is not None and who.patient_id is not None
    view = intake.patient_conversation(who.practice_id, who.patient_id)
    return json_response(
        200,
        {
            "conversation_id": view.conversation_id,
            "messages": [_message_out(m) for m in view.messages],
            "reason_prompt": {
                "required": view.prompt.required,
                "reasons": [{"reason": r, "label": LABELS[r]} for r in view.prompt.reasons],
            },
        },
    )


@app.post(
    "/patient/conversation/messages",
    responses={**ok_response(PatientMessageOut, 201), **error_responses(403, 404, 409, 413)},
)
def post_message(body: Annotated[PatientMessageIn, Body()]) -> Response[PatientMessageOut]:
    who = caller(app)
    assert who.practice_id is not None and who.patient_id is not None
    answer = intake.receive_patient_message(
        who.practice_id, who.patient_id, body.body, body.reason, body.client_message_id, body.channel
    )
    metrics.add_metric(name="MessageReceived", unit=MetricUnit.Count, value=1)
    return json_response(201, answer)


@app.post("/patient/conversation/read", responses={**ok_response(Done), **error_responses(403, 404, 409)})
def post_read() -> Response[Done]:
    who = caller(app)
    assert who.practice_id is not None and who.patient_id is not None
    intake.mark_read(who.practice_id, who.patient_id)
    return json_response(200, {"status": "read"})


SIGNED = {401: {**error_responses(401)[401], "description": "unauthenticated: X-Frontdesk-Signature missing or wrong"}}


@app.post("/webhooks/sms", responses={**ok_response(WebhookOut), **error_responses(404, 409, 413), **SIGNED})
def sms_webhook(body: Annotated[SmsIn, Body()]) -> Response[WebhookOut]:
    answer = intake.receive_sms(body.to, body.from_, body.body, body.provider_message_id)
    metrics.add_metric(name="MessageReceived", unit=MetricUnit.Count, value=1)
    return json_response(200, answer)


@app.post("/webhooks/voicemail", responses={**ok_response(WebhookOut), **error_responses(404, 409, 413), **SIGNED})
def voicemail_webhook(body: Annotated[VoicemailIn, Body()]) -> Response[WebhookOut]:
    answer = intake.receive_voicemail(
        body.to,
        body.from_,
        body.provider_message_id,
        body.recording_url,
        body.transcript,
        body.extension,
        body.line_type,
    )
    metrics.add_metric(name="MessageReceived", unit=MetricUnit.Count, value=1)
    return json_response(200, answer)


def valid_signature(raw: bytes, header: str | None, secret: str) -> bool:
    """R-SEC-1: `sha256=<hex HMAC-SHA256 of the raw body>`, compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def _raw_body(event: dict[str, Any]) -> bytes:
    """The bytes the provider signed; not decoded as text, since a non-UTF-8 body must reach the 401/400 checks."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except ValueError:
            return b""
    return str(body).encode()


def _pre_checks(event: dict[str, Any]) -> dict[str, Any] | None:
    """Before any parsing: a webhook without a valid signature is a 401 (nothing is read or stored); then a body over
    MAX_BODY_BYTES is a 413 (API.md), for a caller who passed authentication; then resolve() refuses JSON nested too
    deeply (R-API-1): a stranger's deep body costs one HMAC, never a parse."""
    route_key = str(event.get("routeKey", ""))
    raw_bytes = _raw_body(event)
    error: ApiError | None = None
    if route_key in WEBHOOKS:
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        if not valid_signature(raw_bytes, headers.get(SIGNATURE_HEADER), secrets.get("webhook")):
            error = Unauthenticated("A valid X-Frontdesk-Signature is required.")
    elif route_key == "POST /patient/conversation/messages":
        error = check_access(ACCESS, event)
    if (
        error is None
        and len(raw_bytes) > MAX_BODY_BYTES
        and route_key in (*WEBHOOKS, "POST /patient/conversation/messages")
    ):
        error = TooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} kB.")
    if error is None:
        return None
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(error.envelope()),
        "isBase64Encoded": False,
    }


AWS_SMS_PROVIDER = "aws-end-user-messaging"  # R-SMS-1: its inboundMessageId is unique within this provider


def receive_sns(event: dict[str, Any]) -> dict[str, Any]:
    """The SNS event source: each record's Message is an End User Messaging notification. SNS delivers at least
    once, so intake is idempotent on inboundMessageId; a failure raises, Lambda retries, then the DLQ keeps it."""
    answers = []
    for record in SNSEvent(event).records:
        try:
            notification = AwsInboundSms.model_validate_json(record.sns.message)
        except ValidationError:
            # Not pydantic's text: it quotes the input (phone numbers, the body) into the function's error log.
            raise ValueError("The SNS message is not an End User Messaging two-way SMS notification.") from None
        answers.append(
            intake.receive_sms(
                notification.destination_number,
                notification.origination_number,
                notification.message_body,
                notification.inbound_message_id,
                provider=AWS_SMS_PROVIDER,
                sent_at=parse_iso(record.sns.timestamp),  # when SNS published it: orders STOP/START
            )
        )
        metrics.add_metric(name="MessageReceived", unit=MetricUnit.Count, value=1)
    return {"received": len(answers), "answers": answers}


def _is_sns(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return bool(records) and all(r.get("EventSource") == "aws:sns" for r in records)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _is_sns(event):
        return receive_sns(event)
    return refuse_without_secrets() or _pre_checks(event) or resolve(app, ACCESS, event, context)


frontdesk.startup.done()
