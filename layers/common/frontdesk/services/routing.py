"""Routing one MessageReceived (A21): bounded requests whatever the practice's size, idempotent per message.

Reads RoutingConfig, Conversation, Message and Patient in one BatchGetItem and the next upcoming appointment in one
Query, then writes the decision (conversation, labels, listings, notifications, the routing explanation on the
message, the sticky location on the profile) in one transaction conditioned on the message not being routed yet —
so an event delivered twice routes once (R-REL-1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from frontdesk.adapters.clock import Clock, get_clock, iso
from frontdesk.domain.appointments import Appointment
from frontdesk.domain.conversations import Conversation
from frontdesk.domain.patients import Patient
from frontdesk.domain.routing import Decision, Holder, RoutingInput, RoutingInputs, decide
from frontdesk.services.retry import retry_on_stale
from frontdesk.store import appointments as appointments_store
from frontdesk.store import message_path

logger = Logger(child=True)
_ATTEMPTS = 16  # many messages of one conversation routed at once (R-REL-2)


class RoutingStore(Protocol):
    """What routing needs from the store (A21, A28); DynamoDB below, an in-memory fake in the unit tests."""

    def read_for_routing(
        self, practice_id: str, conversation_id: str, message_sk: str, patient_id: str
    ) -> RoutingInputs: ...

    def next_appointment(self, practice_id: str, patient_id: str, now: datetime) -> Appointment | None: ...

    def commit_decision(
        self,
        conversation: Conversation,
        message_sk: str,
        message_id: str,
        message_at: datetime,
        decision: Decision,
        explanation: dict[str, Any],
        notification_type: str,
        relocated: Patient | None = None,
    ) -> bool: ...


class DynamoRoutingStore:
    """The table: one BatchGetItem, one Query, one transaction (store/message_path.py, store/appointments.py)."""

    read_for_routing = staticmethod(message_path.read_for_routing)
    next_appointment = staticmethod(appointments_store.next_appointment)
    commit_decision = staticmethod(message_path.commit_decision)


_DYNAMO = DynamoRoutingStore()


def _exhausted() -> Exception:
    return RuntimeError("routing lost too many optimistic-lock races; EventBridge will retry")


@dataclass(frozen=True)
class Routed:
    message_id: str
    already_routed: bool
    decision: Decision | None


@retry_on_stale(_ATTEMPTS, exhausted=_exhausted)
def route_message(detail: dict[str, Any], clock: Clock | None = None, store: RoutingStore | None = None) -> Routed:
    practice_id = str(detail["practice_id"])
    conversation_id = str(detail["conversation_id"])
    message_id = str(detail["message_id"])
    message_sk = str(detail["message_sk"])
    ids = {"practice_id": practice_id, "conversation_id": conversation_id, "message_id": message_id}
    store = store or _DYNAMO
    now = (clock or get_clock()).now()
    inputs = store.read_for_routing(practice_id, conversation_id, message_sk, str(detail["patient_id"]))
    conversation, message, config, patient = inputs.conversation, inputs.message, inputs.config, inputs.patient
    if message is None or conversation is None:
        # The message moved (a merge) or never committed: nothing to route.
        logger.warning("message to route not found", extra=ids)
        return Routed(message_id, True, None)
    if message.routing:
        return Routed(message_id, True, None)  # R-REL-1: delivered twice, routed once

    if message.sender == "system":
        reason, reason_source = conversation.reason, "conversation"
    else:
        reason, reason_source = message.reason, str(message.extra.get("reason_source") or "none")
    # R-ROUTE-7: the next upcoming non-cancelled appointment labels the conversation and sticks to the profile.
    location, location_source, relocated = None, "none", None
    if patient is not None:
        appointment = store.next_appointment(practice_id, patient.patient_id, now)
        if appointment is not None:
            location, location_source = appointment.location_id, "upcoming_appointment"
            if appointment.location_id != patient.location:
                relocated = replace(patient, location=appointment.location_id)
        elif patient.location:
            location, location_source = patient.location, "profile"
    holder = Holder(conversation.holder_type, conversation.holder_id) if conversation.holder_type else None
    decision = decide(
        RoutingInput(
            settings=config.settings,
            subscriptions=config.subscriptions,
            status=conversation.status,
            holder=holder,
            reason=reason,
            reason_source=reason_source,
            location=location,
            location_source=location_source,
            target_inbox=str(message.extra["target_inbox"]) if message.extra.get("target_inbox") else None,
        )
    )
    explanation = {**decision.explanation, "routed_at": iso(now)}
    notification_type = "system_message" if message.sender == "system" else "new_message"
    # Stale (the conversation or the profile changed since the read): retry_on_stale reads again.
    written = store.commit_decision(
        conversation,
        message_sk,
        message.message_id,
        message.created_at,
        decision,
        explanation,
        notification_type,
        relocated,
    )
    if not written:
        return Routed(message_id, True, None)
    logger.info("message routed", extra={**ids, "recipients": len(decision.recipients), "rule": explanation["rule"]})
    return Routed(message_id, False, decision)
