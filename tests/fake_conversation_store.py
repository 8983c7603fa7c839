"""An in-memory implementation of services.intake.IntakeStore and services.conversations.ConversationStore: one
practice's conversations, messages, profiles and listings, with the same contract as the DynamoDB one (every write
to a conversation is conditioned on the version read and raises Stale when it changed; idempotency records answer a
repeated key with the first answer; a move can be conditioned on the holder), so the services' rules are proved by
fast unit tests. What only DynamoDB can prove (transactions, real races, index lag) stays in the integration tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from frontdesk.domain.conversations import Conversation, Message
from frontdesk.domain.listings import Listing, Notification
from frontdesk.domain.messages import NewMessage, Posted
from frontdesk.domain.office_hours import OfficeHours
from frontdesk.domain.patients import DuplicatePair, Patient
from frontdesk.domain.practices import Inbox, Practice, Staff
from frontdesk.domain.routing import UNASSIGNED, Holder, RoutingConfig, VoicemailExtension
from frontdesk.errors import Stale
from frontdesk.services import outbound_sms


@dataclass(frozen=True)
class Audit:
    patient_id: str
    actor: str
    action: str
    at: datetime


@dataclass(frozen=True)
class Unread:
    """R-HOURS-4: the oldest staff reply the patient has not read."""

    reply_at: datetime
    due_at: datetime


@dataclass
class FakeConversationStore:
    practice: Practice
    config: RoutingConfig
    hours: OfficeHours = field(default_factory=OfficeHours)
    patients: dict[str, Patient] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[str, list[tuple[datetime, Message]]] = field(default_factory=dict)  # by conversation id
    phones: dict[tuple[str, str], tuple[str, datetime | None]] = field(default_factory=dict)  # (e164, patient id)
    listings: dict[tuple[str, str], Listing] = field(default_factory=dict)  # (listing name, conversation id)
    staff: dict[str, Staff] = field(default_factory=dict)
    inboxes: dict[str, Inbox] = field(default_factory=dict)
    extensions: dict[str, VoicemailExtension] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (scope, key)
    due: dict[str, datetime] = field(default_factory=dict)  # R-HOURS-3: the response-wait index, by conversation
    overdue: set[str] = field(default_factory=set)  # R-HOURS-3: the overdue listing
    unread: dict[str, Unread] = field(default_factory=dict)  # R-HOURS-4, by conversation
    after_hours_claims: set[tuple[str, str]] = field(default_factory=set)  # (conversation id, period)
    audit: list[Audit] = field(default_factory=list)
    notifications: dict[str, list[Notification]] = field(default_factory=dict)
    opted_out: set[str] = field(default_factory=set)  # numbers on the practice's opt-out register (R-SMS-2)
    writes: int = 0  # conversation writes that committed
    # Called once after the next consistent read of a conversation and before the write it feeds: a test's
    # concurrent writer changes the state there (it may set itself again to keep winning).
    between_read_and_write: Callable[[FakeConversationStore], None] | None = None
    # The inbox listings as an eventually consistent index shows them: None reads `listings` itself.
    index_view: dict[tuple[str, str], Listing] | None = None

    # ----- reads -----

    def get_patient(self, practice_id: str, patient_id: str, *, consistent: bool = False) -> Patient | None:
        self._practice(practice_id)
        patient = self.patients.get(patient_id)
        return None if patient is None or patient.merged_into else patient

    def get_conversation(
        self, practice_id: str, conversation_id: str, *, consistent: bool = False
    ) -> Conversation | None:
        self._practice(practice_id)
        found = self.conversations.get(conversation_id)
        if consistent and self.between_read_and_write is not None:
            hook, self.between_read_and_write = self.between_read_and_write, None
            hook(self)
        return found

    def get_config(self, practice_id: str, *, consistent: bool = False) -> RoutingConfig:
        self._practice(practice_id)
        return self.config

    def list_messages(
        self,
        practice_id: str,
        conversation_id: str,
        limit: int,
        start_key: dict[str, Any] | None,
        *,
        newest_first: bool = False,
    ) -> tuple[list[Message], dict[str, Any] | None]:
        self._practice(practice_id)
        ordered = [m for _, m in sorted(self.messages.get(conversation_id, []), key=lambda e: e[0])]
        if newest_first:
            ordered.reverse()
        return _page(ordered, limit, start_key)

    def get_idempotent_answer(self, practice_id: str, scope: str, key: str, now: datetime) -> dict[str, Any] | None:
        self._practice(practice_id)
        return self.idempotency.get((scope, key))

    def config_and_hours(self, practice_id: str, *, consistent: bool = False) -> tuple[RoutingConfig, OfficeHours]:
        return self.get_config(practice_id), self.hours

    def practice_and_hours(self, practice_id: str) -> tuple[Practice | None, OfficeHours]:
        self._practice(practice_id)
        return self.practice, self.hours

    def practice_for_number(self, e164: str) -> str | None:
        return self.practice.practice_id if e164 == self.practice.textable_number else None

    def get_extension(self, practice_id: str, extension: str) -> VoicemailExtension | None:
        self._practice(practice_id)
        return self.extensions.get(extension)

    def patient_ids_by_phone(self, practice_id: str, e164: str) -> list[tuple[str, str, datetime | None]]:
        self._practice(practice_id)
        found = []
        for (phone, patient_id), (line_type, last_active) in self.phones.items():
            if phone == e164:
                found.append((patient_id, line_type, last_active))
        return found

    def patients_by_ids(self, practice_id: str, patient_ids: list[str]) -> list[Patient]:
        found = [self.get_patient(practice_id, pid) for pid in dict.fromkeys(patient_ids)]
        return [p for p in found if p is not None]

    def get_inbox(self, practice_id: str, inbox_id: str) -> Inbox | None:
        self._practice(practice_id)
        return self.inboxes.get(inbox_id)

    def get_staff(self, practice_id: str, staff_id: str) -> Staff | None:
        self._practice(practice_id)
        return self.staff.get(staff_id)

    def list_inbox(
        self, practice_id: str, listing: str, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[Listing], dict[str, Any] | None]:
        """Newest conversation first, like gsi2; from `index_view` when a test makes the index lag."""
        self._practice(practice_id)
        source = self.listings if self.index_view is None else self.index_view
        items = [entry for (name, _), entry in source.items() if name == listing]
        items.sort(key=lambda e: (e.last_message_at, e.conversation_id), reverse=True)
        return _page(items, limit, start_key)

    def list_notifications(
        self, practice_id: str, staff_id: str, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[Notification], dict[str, Any] | None]:
        self._practice(practice_id)
        return _page(self.notifications.get(staff_id, []), limit, start_key)

    def check_sms(
        self, practice_id: str, to: str, *, purpose: outbound_sms.Purpose
    ) -> outbound_sms.Permit | outbound_sms.SendResult:
        self._practice(practice_id)
        if to in self.opted_out:
            return outbound_sms.SendResult("opted_out", opted_out_by="register")
        return outbound_sms.Permit(practice_id, to, self.practice.textable_number, purpose)

    # ----- writes -----

    def record_audit(self, practice_id: str, patient_id: str, actor: str, action: str, at: datetime) -> None:
        self._practice(practice_id)
        self.audit.append(Audit(patient_id, actor, action, at))

    def create_patient(self, patient: Patient, *, actor: str, duplicates: list[DuplicatePair]) -> None:
        assert patient.patient_id not in self.patients and patient.conversation_id not in self.conversations
        self.patients[patient.patient_id] = patient
        self.conversations[patient.conversation_id] = new_conversation(patient)
        if patient.cell_phone:
            self.phones[(patient.cell_phone, patient.patient_id)] = ("cell", patient.last_active_at)
        for landline in patient.landlines:
            self.phones[(landline, patient.patient_id)] = ("landline", patient.last_active_at)
        self.audit.append(Audit(patient.patient_id, actor, "patient.create", patient.created_at))

    def append_inbound(
        self,
        message: NewMessage,
        conversation: Conversation,
        now: datetime,
        scope: str,
        key: str,
        answer: dict[str, Any],
        *,
        activity: tuple[str, str] | None,
        hours: OfficeHours,
    ) -> dict[str, Any]:
        first = self.idempotency.get((scope, key))
        if first is not None:
            return first
        stored = self._at_version(conversation)
        waiting = {}
        if stored.waiting_since is None:  # R-HOURS-3: the wait starts at the oldest unanswered message
            waiting = {"waiting_since": now, "overdue_since": None}
            self.due.pop(stored.conversation_id, None)
            if hours.response_target_minutes > 0:
                due = hours.add_office_minutes(now, hours.response_target_minutes)
                if due is not None:
                    self.due[stored.conversation_id] = due
        self._write(
            replace(stored, last_patient_message_at=now, last_patient_reason=message.reason, **waiting)  # type: ignore[arg-type]
        )
        self.idempotency[(scope, key)] = answer
        self._append(message, now)
        if activity is not None and activity in self.phones:
            line_type, _ = self.phones[activity]
            self.phones[activity] = (line_type, now)
        self._clear_unread(stored.conversation_id, now)  # R-HOURS-4: the patient answered
        return answer

    def mark_read(self, conversation: Conversation, now: datetime) -> None:
        stored = self._at_version(conversation)
        self._write(replace(stored, patient_read_at=now))
        self._clear_unread(stored.conversation_id, now)

    def append_reply(
        self, message: NewMessage, conversation: Conversation, now: datetime, *, actor: str, unread_due: datetime
    ) -> None:
        stored = self._at_version(conversation)
        last_message_at = max(filter(None, (stored.last_message_at, now)))
        if message.internal:
            self._write(replace(stored, last_message_at=last_message_at))
        else:  # R-HOURS-3: a reply ends the wait; R-HOURS-4: the oldest unread reply is remembered
            self._write(
                replace(
                    stored,
                    last_message_at=last_message_at,
                    last_practice_message_at=now,
                    waiting_since=None,
                    overdue_since=None,
                )
            )
            self.due.pop(stored.conversation_id, None)
            self.overdue.discard(stored.conversation_id)
            self.unread.setdefault(stored.conversation_id, Unread(now, unread_due))
        self._append(message, now)
        self.audit.append(Audit(message.patient_id, actor, "conversation.reply", now))

    def move(
        self,
        conversation: Conversation,
        status: str,
        holder: Holder | None,
        *,
        actor: str,
        action: str,
        now: datetime,
        only_from: Holder | None = None,
        note: NewMessage | None = None,
        end_wait: bool = False,
    ) -> Conversation:
        stored = self._at_version(conversation)
        if only_from is not None and (stored.holder_type, stored.holder_id) != (only_from.type, only_from.id):
            raise Stale("the conversation changed holder since it was read")
        names = (holder.listing(),) if holder is not None else ()
        moved = replace(
            stored,
            status=status,
            holder_type=holder.type if holder else None,
            holder_id=holder.id if holder else None,
            listed_in=names,
        )
        if end_wait:  # R-HOURS-3: off the due index and out of the overdue list
            moved = replace(moved, waiting_since=None, overdue_since=None)
            self.due.pop(stored.conversation_id, None)
            self.overdue.discard(stored.conversation_id)
        self._write(moved)
        for name in stored.listed_in:
            self.listings.pop((name, stored.conversation_id), None)
        if holder is not None:
            self.listings[(holder.listing(), stored.conversation_id)] = Listing(
                conversation_id=stored.conversation_id,
                patient_id=stored.patient_id,
                status=status,
                holder_type=holder.type,
                holder_id=holder.id,
                reason=stored.reason,
                location=stored.location,
                held=holder.type != UNASSIGNED,
                last_message_at=stored.last_message_at or stored.created_at,
            )
        self.audit.append(Audit(stored.patient_id, actor, action, now))
        if note is not None:
            self._append(note, now)
        return self.conversations[stored.conversation_id]

    def claim_after_hours_reply(
        self, practice_id: str, conversation_id: str, period: str, message: Posted, now: datetime, keep_until: datetime
    ) -> bool:
        self._practice(practice_id)
        if (conversation_id, period) in self.after_hours_claims:
            return False
        self.after_hours_claims.add((conversation_id, period))
        self._append(message.message, message.at)
        return True

    # ----- what tests look at -----

    def timeline(self, conversation_id: str) -> list[Message]:
        """The conversation's messages in time order."""
        return [m for _, m in sorted(self.messages.get(conversation_id, []), key=lambda e: e[0])]

    # ----- the contract's conditions -----

    def _practice(self, practice_id: str) -> None:
        assert practice_id == self.practice.practice_id, "one practice per fake"

    def _at_version(self, conversation: Conversation) -> Conversation:
        stored = self.conversations.get(conversation.conversation_id)
        if stored is None or stored.version != conversation.version:
            raise Stale("the conversation changed since it was read")
        return stored

    def _write(self, conversation: Conversation) -> None:
        self.writes += 1
        self.conversations[conversation.conversation_id] = replace(conversation, version=conversation.version + 1)

    def _append(self, message: NewMessage, at: datetime) -> None:
        held = self.messages.setdefault(message.conversation_id, [])
        assert all(m.message_id != message.message_id for _, m in held), "a message key is never overwritten"
        held.append((at, to_message(message, at)))

    def _clear_unread(self, conversation_id: str, read_at: datetime) -> None:
        unread = self.unread.get(conversation_id)
        if unread is not None and unread.reply_at <= read_at:
            del self.unread[conversation_id]


def new_conversation(patient: Patient) -> Conversation:
    """What creating a profile writes: its conversation, closed, at version 1."""
    return Conversation(
        practice_id=patient.practice_id,
        conversation_id=patient.conversation_id,
        patient_id=patient.patient_id,
        status="closed",
        holder_type=None,
        holder_id=None,
        reason=None,
        location=None,
        last_message_at=None,
        last_patient_message_at=None,
        last_patient_reason=None,
        last_practice_message_at=None,
        patient_read_at=None,
        listed_in=(),
        created_at=patient.created_at,
        version=1,
    )


def to_message(message: NewMessage, at: datetime) -> Message:
    return Message(
        message_id=message.message_id,
        sender=message.sender,
        channel=message.channel,
        body=message.body,
        created_at=at,
        reason=message.reason,
        kind=message.kind,
        ambiguous_sender=message.ambiguous_sender,
        internal=message.internal,
        author_id=message.author_id,
        extra=dict(message.extra),
    )


def _page(items: list[Any], limit: int, start_key: dict[str, Any] | None) -> tuple[list[Any], dict[str, Any] | None]:
    start = int(start_key["offset"]) if start_key else 0
    end = start + limit
    return items[start:end], ({"offset": end} if end < len(items) else None)
