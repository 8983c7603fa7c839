"""R-HOURS-3: overdue conversations. The `escalate-overdue` job escalates each wait exactly once (system message
`response_overdue`, notifications to the holder or the R-ROUTE-8 recipients and to every admin); staff list what is
overdue with GET /inboxes/overdue/conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.auth import Principal
from frontdesk.domain.conversations import Conversation
from frontdesk.domain.messages import Posted
from frontdesk.domain.routing import Holder, RoutingConfig, RoutingInput, decide
from frontdesk.errors import Stale
from frontdesk.services.messages import NewMessage
from frontdesk.store import listings as listings_store
from frontdesk.store import practices as practices_store
from frontdesk.store import routing as routing_store
from frontdesk.store import waits

logger = Logger(child=True)
OVERDUE_KIND = "response_overdue"


def recipients_now(conversation: Conversation, config: RoutingConfig) -> list[str]:
    """Who the conversation belongs to now, by the routing decision itself (R-ROUTE-1/8): its holder (a staff
    member, a custom inbox's subscribers) or, in Unassigned or closed, the staff whose subscriptions match."""
    holder = Holder(conversation.holder_type, conversation.holder_id) if conversation.holder_type else None
    decision = decide(
        RoutingInput(
            settings=config.settings,
            subscriptions=config.subscriptions,
            status=conversation.status,
            holder=holder,
            reason=conversation.reason,
            reason_source="conversation",
            location=conversation.location,
            location_source="conversation",
        )
    )
    return list(decision.recipients)


def escalate_overdue(clock: Clock | None = None) -> dict[str, int]:
    """Reads only the due part of the sparse index (A56); each escalation is one conditional transaction, so a
    second run, an overlapping run or a staff reply in between never makes a second one."""
    now = (clock or get_clock()).now()
    escalated = skipped = 0
    configs: dict[str, RoutingConfig] = {}
    admins: dict[str, list[str]] = {}
    for seen in waits.due_waits(now):
        current = waits.get_conversation_consistent(seen.practice_id, seen.conversation_id)
        if current is None or current.waiting_since is None or current.overdue_since is not None:
            skipped += 1  # answered or escalated since the index was read
            continue
        practice_id = current.practice_id
        if practice_id not in configs:
            configs[practice_id] = routing_store.get_config(practice_id)
            admins[practice_id] = [s.staff_id for s in practices_store.list_staff(practice_id) if s.role == "admin"]
        recipients = list(dict.fromkeys([*recipients_now(current, configs[practice_id]), *admins[practice_id]]))
        message = NewMessage(
            practice_id,
            current.conversation_id,
            current.patient_id,
            "system",
            "system",
            "This conversation has waited longer than the practice's response target without a staff reply.",
            kind=OVERDUE_KIND,
        )
        notifications: list[Any] = [
            listings_store.notification_item(
                practice_id, staff_id, message.message_id, current.conversation_id, "system_message", now
            )
            for staff_id in recipients
        ]
        try:
            waits.escalate(current, now, Posted(message, now), notifications)
        except Stale:
            skipped += 1
            continue
        escalated += 1
        logger.info(
            "conversation overdue",
            extra={"practice_id": practice_id, "conversation_id": current.conversation_id, "notified": len(recipients)},
        )
    return {"escalated": escalated, "skipped": skipped}


@dataclass(frozen=True)
class OverdueEntry:
    conversation: Conversation
    overdue_since: datetime


def list_overdue(
    caller: Principal, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[OverdueEntry], dict[str, Any] | None]:
    """Admins see every overdue conversation; other staff those they hold or would receive (A57: one Query and one
    BatchGetItem per page, plus the routing config for a non-admin)."""
    assert caller.practice_id is not None and caller.staff_id is not None
    practice_id = caller.practice_id
    found, next_key = waits.overdue_page(practice_id, limit, start_key)
    conversations = waits.conversations_by_ids(practice_id, [cid for cid, _ in found]) if found else {}
    config = routing_store.get_config(practice_id) if caller.role != "admin" else None
    entries = []
    for conversation_id, overdue_since in found:
        conversation = conversations.get(conversation_id)
        if conversation is None or conversation.overdue_since is None:
            continue
        if config is not None and caller.staff_id not in recipients_now(conversation, config):
            continue
        entries.append(OverdueEntry(conversation, overdue_since))
    return entries, next_key
