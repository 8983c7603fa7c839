"""Routing one MessageReceived (A21): bounded requests whatever the practice's size, idempotent per message.

Reads RoutingConfig, Conversation, Message and Patient in one BatchGetItem and the next upcoming appointment in one
Query, then writes the decision (conversation, labels, listings, notifications, the routing explanation on the
message, the sticky location on the profile) in one transaction conditioned on the message not being routed yet —
so an event delivered twice routes once (R-REL-1).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.exceptions import TransactWriteError

from frontdesk.adapters.clock import Clock, get_clock, iso
from frontdesk.domain.routing import Decision, Holder, RoutingInput, decide
from frontdesk.store import routing as routing_store
from frontdesk.store.base import TableItem, cancellation_codes, transaction
from frontdesk.store.conversations import (
    Conversation,
    ConversationItem,
    MessageItem,
    conversation_ref,
    to_conversation,
    to_message,
)
from frontdesk.store.patients import PatientItem, to_patient
from frontdesk.store.routing import Listing, ListingItem, RoutingConfigItem

logger = Logger(child=True)
_ATTEMPTS = 16  # with jittered back-off: many messages of one conversation routed at once (R-REL-2)
_TRANSACTION_LIMIT = 100
_STALE_IN_TX = 40


@dataclass(frozen=True)
class Routed:
    message_id: str
    already_routed: bool
    decision: Decision | None


def route_message(detail: dict[str, Any], clock: Clock | None = None) -> Routed:
    practice_id = str(detail["practice_id"])
    conversation_id = str(detail["conversation_id"])
    message_id = str(detail["message_id"])
    message_sk = str(detail["message_sk"])
    ids = {"practice_id": practice_id, "conversation_id": conversation_id, "message_id": message_id}
    for attempt in range(_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not security
        now = (clock or get_clock()).now()
        config_item, conversation_item, message_item, patient_item = _read(
            practice_id, conversation_id, message_sk, str(detail["patient_id"])
        )
        if message_item is None or conversation_item is None:
            # The message moved (a merge) or never committed: nothing to route.
            logger.warning("message to route not found", extra=ids)
            return Routed(message_id, True, None)
        if message_item.routing:
            return Routed(message_id, True, None)  # R-REL-1: delivered twice, routed once
        conversation = to_conversation(conversation_item)
        message = to_message(message_item)
        config = routing_store.to_config(config_item, practice_id)
        patient = to_patient(patient_item) if patient_item is not None else None

        if message.sender == "system":
            reason, reason_source = conversation.reason, "conversation"
        else:
            reason, reason_source = message.reason, str(message.extra.get("reason_source") or "none")
        # R-ROUTE-7: the next upcoming non-cancelled appointment labels the conversation and sticks to the profile.
        location, location_source, new_profile_location = None, "none", None
        if patient is not None:
            appointment = routing_store.next_appointment(practice_id, patient.patient_id, now)
            if appointment is not None:
                location, location_source = appointment.location_id, "upcoming_appointment"
                if appointment.location_id != patient.location:
                    new_profile_location = appointment.location_id
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
        outcome = _write(
            conversation,
            message_sk,
            message.message_id,
            message.created_at,
            decision,
            explanation,
            notification_type,
            patient_item if new_profile_location else None,
            new_profile_location,
        )
        if outcome == "routed":
            logger.info(
                "message routed", extra={**ids, "recipients": len(decision.recipients), "rule": explanation["rule"]}
            )
            return Routed(message_id, False, decision)
        if outcome == "already":
            return Routed(message_id, True, None)
    raise RuntimeError("routing lost too many optimistic-lock races; EventBridge will retry")


def _read(
    practice_id: str, conversation_id: str, message_sk: str, patient_id: str
) -> tuple[RoutingConfigItem | None, ConversationItem | None, MessageItem | None, PatientItem | None]:
    """One BatchGetItem for the four items routing needs (A21)."""
    wanted = [
        RoutingConfigItem.key(practice_id),
        ConversationItem.key(practice_id, conversation_id),
        (ConversationItem.key(practice_id, conversation_id)[0], message_sk),
        PatientItem.key(practice_id, patient_id),
    ]
    found = list(TableItem.batch_get(wanted, consistent_read=True))
    pick = {type(item): item for item in found}
    return (
        pick.get(RoutingConfigItem),  # type: ignore[return-value]
        pick.get(ConversationItem),
        pick.get(MessageItem),
        pick.get(PatientItem),
    )


def _write(
    conversation: Conversation,
    message_sk: str,
    message_id: str,
    message_at: datetime,
    decision: Decision,
    explanation: dict[str, Any],
    notification_type: str,
    patient_item: PatientItem | None,
    new_profile_location: str | None,
) -> str:
    practice_id, conversation_id = conversation.practice_id, conversation.conversation_id
    last_message_at = max(filter(None, (conversation.last_message_at, message_at)))
    snapshot_holder = decision.holder
    listings = list(decision.listings)
    stale = [name for name in conversation.listed_in if name not in listings]
    extra_items: list[Any] = []
    for name in listings:
        held = snapshot_holder.type != "unassigned" and name == snapshot_holder.listing()
        extra_items.append(
            routing_store.listing_item(
                practice_id,
                name,
                Listing(
                    conversation_id=conversation_id,
                    patient_id=conversation.patient_id,
                    status="open",
                    holder_type=snapshot_holder.type,
                    holder_id=snapshot_holder.id,
                    reason=decision.labels["reason"],
                    location=decision.labels["location"],
                    held=held,
                    last_message_at=last_message_at,
                ),
            )
        )
    for staff_id in decision.recipients:
        extra_items.append(
            routing_store.notification_item(
                practice_id, staff_id, message_id, conversation_id, notification_type, message_at
            )
        )
    # Listings and notifications have deterministic keys: writing them again is harmless. What does not fit in the
    # transaction (very many recipients) is written first in batches, so a crash before the transaction re-does it.
    # Stale listings beyond what the transaction holds are deleted right after it commits (a listing whose
    # conversation moved on is only a stale entry in someone's inbox until then).
    stale_in_tx, stale_after = stale[:_STALE_IN_TX], stale[_STALE_IN_TX:]
    room = _TRANSACTION_LIMIT - 3 - len(stale_in_tx)
    overflow = extra_items[room:] if len(extra_items) > room else []
    in_tx = extra_items[: len(extra_items) - len(overflow)]
    if overflow:
        with ListingItem.batch_write() as batch:
            for item in overflow:
                batch.save(item)
    pk, _ = ConversationItem.key(practice_id, conversation_id)
    try:
        with transaction() as tx:
            tx.update(
                MessageItem(pk, message_sk),
                actions=[MessageItem.routing.set(explanation)],
                condition=MessageItem.pk.exists() & MessageItem.routing.does_not_exist(),
            )
            tx.update(
                conversation_ref(conversation),
                actions=[
                    ConversationItem.status.set("open"),
                    ConversationItem.holder_type.set(decision.holder.type),
                    _set_or_remove(ConversationItem.holder_id, decision.holder.id),
                    _set_or_remove(ConversationItem.reason, decision.labels["reason"]),
                    _set_or_remove(ConversationItem.location, decision.labels["location"]),
                    ConversationItem.last_message_at.set(last_message_at),
                    ConversationItem.listed_in.set(listings),  # type: ignore[arg-type]
                ],
            )
            if patient_item is not None and new_profile_location:
                tx.update(patient_item, actions=[PatientItem.location.set(new_profile_location)])
            for name in stale_in_tx:
                tx.delete(routing_store.listing_key_item(practice_id, name, conversation_id))
            for item in in_tx:
                tx.save(item)
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes and codes[0] == "ConditionalCheckFailed":
            return "already"
        if "ConditionalCheckFailed" in codes:
            return "retry"  # the conversation or the profile changed since we read it
        raise
    routing_store.delete_listings(practice_id, conversation_id, stale_after)
    return "routed"


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.set(value) if value is not None else attribute.remove()
