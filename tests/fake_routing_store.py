"""An in-memory implementation of services.routing.RoutingStore: the same contract as the DynamoDB one (the commit is
conditioned on the message not being routed yet and on the versions read; a lost race raises Stale), so routing's
rules are proved by fast unit tests. What only DynamoDB can prove (transactions, real races) stays in the integration
tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from frontdesk.domain.appointments import Appointment
from frontdesk.domain.conversations import Conversation, Message
from frontdesk.domain.listings import Listing
from frontdesk.domain.patients import Patient
from frontdesk.domain.routing import Decision, RoutingConfig, RoutingInputs
from frontdesk.errors import Stale


@dataclass
class Notified:
    staff_id: str
    message_id: str
    conversation_id: str
    type: str
    at: datetime


@dataclass
class FakeRoutingStore:
    config: RoutingConfig
    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)  # (conversation_id, message_sk)
    patients: dict[str, Patient] = field(default_factory=dict)
    appointments: list[Appointment] = field(default_factory=list)
    listings: dict[tuple[str, str], Listing] = field(default_factory=dict)  # (listing name, conversation_id)
    notifications: dict[tuple[str, str], Notified] = field(default_factory=dict)  # (staff_id, message_id)
    reads: int = 0
    commits: int = 0
    # Called after a read and before the commit it feeds: a test's concurrent writer changes the state there.
    between_read_and_commit: Callable[[FakeRoutingStore], None] | None = None

    def read_for_routing(
        self, practice_id: str, conversation_id: str, message_sk: str, patient_id: str
    ) -> RoutingInputs:
        assert practice_id == self.config.practice_id
        self.reads += 1
        inputs = RoutingInputs(
            config=self.config,
            conversation=self.conversations.get(conversation_id),
            message=self.messages.get((conversation_id, message_sk)),
            patient=self.patients.get(patient_id),
        )
        if self.between_read_and_commit is not None:
            hook, self.between_read_and_commit = self.between_read_and_commit, None
            hook(self)
        return inputs

    def next_appointment(self, practice_id: str, patient_id: str, now: datetime) -> Appointment | None:
        upcoming = [
            a for a in self.appointments if a.patient_id == patient_id and a.status == "booked" and a.starts_at > now
        ]
        return min(upcoming, key=lambda a: a.starts_at, default=None)

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
    ) -> bool:
        cid = conversation.conversation_id
        message = self.messages.get((cid, message_sk))
        if message is None or message.routing is not None:
            return False  # the condition on the message: already routed (R-REL-1)
        stored = self.conversations[cid]
        if stored.version != conversation.version:
            raise Stale("conversation changed since read")
        if relocated is not None and self.patients[relocated.patient_id].version != relocated.version:
            raise Stale("profile changed since read")
        self.commits += 1
        last_message_at = max(filter(None, (conversation.last_message_at, message_at)))
        listings = tuple(decision.listings)
        self.messages[(cid, message_sk)] = replace(message, routing=explanation)
        self.conversations[cid] = replace(
            stored,
            status="open",
            holder_type=decision.holder.type,
            holder_id=decision.holder.id,
            reason=decision.labels["reason"],
            location=decision.labels["location"],
            last_message_at=last_message_at,
            listed_in=listings,
            version=stored.version + 1,
        )
        if relocated is not None:
            self.patients[relocated.patient_id] = replace(relocated, version=relocated.version + 1)
        for name in conversation.listed_in:
            if name not in listings:
                self.listings.pop((name, cid), None)
        for name in listings:
            self.listings[(name, cid)] = Listing(
                conversation_id=cid,
                patient_id=conversation.patient_id,
                status="open",
                holder_type=decision.holder.type,
                holder_id=decision.holder.id,
                reason=decision.labels["reason"],
                location=decision.labels["location"],
                held=decision.holder.type != "unassigned" and name == decision.holder.listing(),
                last_message_at=last_message_at,
            )
        for staff_id in decision.recipients:
            self.notifications[(staff_id, message_id)] = Notified(
                staff_id, message_id, cid, notification_type, message_at
            )
        return True
