"""Inbound patient messages on every channel: store, then announce MessageReceived; routing happens elsewhere.

R-ROUTE-1 (every inbound message lands in the conversation), R-ROUTE-3..6 (the reason a message carries),
R-ROUTE-12 (voicemail extensions), R-ROUTE-13 (senders identified by phone), R-REL-1 (idempotent intake).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.events import EventPublisher
from frontdesk.domain import reasons as reason_rules
from frontdesk.domain.dob import conversation_block
from frontdesk.domain.office_hours import OfficeHours
from frontdesk.domain.patients import Patient
from frontdesk.domain.phones import normalize_phone
from frontdesk.domain.sms_keywords import keyword_of
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.ids import new_id
from frontdesk.services import after_hours, sms_consent
from frontdesk.services.messages import NewMessage, announce, message_item
from frontdesk.store import conversations as conversations_store
from frontdesk.store import office_hours as office_hours_store
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store
from frontdesk.store import routing as routing_store
from frontdesk.store import waits
from frontdesk.store.base import cancellation_codes, transaction
from frontdesk.store.conversations import Conversation, ConversationItem, Message
from frontdesk.store.patients import PhoneIndexItem
from frontdesk.store.routing import IdempotencyItem

# R-ROUTE-13: a profile created from an unknown number. The Patient type requires a DOB; this sentinel (the earliest
# DOB the platform accepts) marks "not known yet" until staff complete or merge the profile (docs/api-extensions.md).
UNKNOWN_FIRST_NAME = "Unknown"
UNKNOWN_LAST_NAME = "Caller"
UNKNOWN_DOB = date(1900, 1, 1)
INTAKE_ACTOR = "system:intake"
# R-SMS-1: provider message ids are unique per provider, not per channel (one id as SMS and as voicemail is one
# message). The signed webhooks are one provider; AWS End User Messaging (through SNS) is another.
WEBHOOK_PROVIDER = "webhook"
_ATTEMPTS = 8
_INBOUND_ATTEMPTS = 16  # many messages at once into one conversation (R-REL-2): lost races back off and retry


def _back_off(attempt: int) -> None:
    """Full jitter, capped: racing writers of one conversation spread out instead of colliding again."""
    time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))  # noqa: S311 - jitter, not security


@dataclass(frozen=True)
class ReasonPrompt:
    required: bool
    reasons: list[str]


@dataclass(frozen=True)
class PatientView:
    conversation_id: str
    messages: list[Message]
    prompt: ReasonPrompt


# ----- the patient's side (app and web messenger) -----


def _require_patient(practice_id: str, patient_id: str, now: datetime) -> Patient:
    patient = patients_store.get_patient(practice_id, patient_id, consistent=True)
    if patient is None:
        raise NotFound("No such patient.")
    block = conversation_block(patient, now)
    if block is not None:
        raise Forbidden("Verify your date of birth first.", code=block)
    return patient


def _prompt_inputs(conversation: Conversation, config: routing_store.RoutingConfig) -> reason_rules.PromptInputs:
    offered = reason_rules.offered_reasons(subs.reasons for subs in config.subscriptions.values())
    return reason_rules.PromptInputs(
        reasons_enabled=config.settings.reasons_enabled,
        offered=tuple(offered),
        conversation_closed=conversation.status == "closed",
        last_practice_message_at=conversation.last_practice_message_at,
        patient_read_at=conversation.patient_read_at,
        last_patient_message_at=conversation.last_patient_message_at,
    )


def patient_conversation(practice_id: str, patient_id: str, clock: Clock | None = None) -> PatientView:
    """GET /patient/conversation: the DOB gate first (R-DOB-1/2), then messages and the reason prompt (R-ROUTE-3/4)."""
    now = (clock or get_clock()).now()
    patient = _require_patient(practice_id, patient_id, now)
    conversation = _require_conversation(practice_id, patient.conversation_id)
    config = routing_store.get_config(practice_id)
    inputs = _prompt_inputs(conversation, config)
    messages, _ = conversations_store.list_messages(
        practice_id, conversation.conversation_id, 200, None, newest_first=True
    )
    visible = [m for m in reversed(messages) if not m.internal]  # internal notes are never shown to the patient
    prompt = ReasonPrompt(
        reason_rules.prompt_required(inputs, now), list(inputs.offered) if inputs.reasons_enabled else []
    )
    return PatientView(conversation.conversation_id, visible, prompt)


def receive_patient_message(
    practice_id: str,
    patient_id: str,
    body: str,
    reason: str | None,
    client_message_id: str,
    channel: str = "app",
    *,
    clock: Clock | None = None,
    publisher: EventPublisher | None = None,
) -> dict[str, Any]:
    """POST /patient/conversation/messages → {message_id, reason}; a repeated client_message_id: the first answer."""
    now = (clock or get_clock()).now()
    scope, key = "patient-message", f"{patient_id}|{client_message_id}"
    first = routing_store.get_idempotent_answer(practice_id, scope, key, now)
    if first is not None:
        return first
    patient = _require_patient(practice_id, patient_id, now)
    if not body.strip():
        raise ValidationFailed("The message is empty.", field="body")
    for attempt in range(_INBOUND_ATTEMPTS):
        conversation = _require_conversation(practice_id, patient.conversation_id, consistent=True)
        # The routing config and the office hours in one BatchGetItem (A53): no extra request while open.
        config, hours = office_hours_store.config_and_hours(practice_id)
        try:
            choice = reason_rules.choose_reason(
                _prompt_inputs(conversation, config), reason, conversation.last_patient_reason, now
            )
        except reason_rules.ReasonRefused as refused:
            text = (
                "Choose a reason for your message."
                if refused.code == "reason_required"
                else "That reason is not offered."
            )
            raise ValidationFailed(text, field="reason", code=refused.code) from None
        message = NewMessage(
            practice_id,
            conversation.conversation_id,
            patient_id,
            "patient",
            channel,
            body,
            reason=choice.reason,
            extra={"reason_source": choice.source},
        )
        answer = {"message_id": message.message_id, "reason": choice.reason}
        stored = _store_inbound(
            message, conversation, now, scope, key, answer, activity=_cell_activity(patient), hours=hours
        )
        if stored is None:
            _back_off(attempt)
            continue  # the conversation changed under us: read it again
        if stored is not answer:
            return stored
        announce(message, now, publisher)
        # R-HOURS-2: app and messenger patients get the after-hours reply in the app only.
        inbound = after_hours.Inbound(practice_id, conversation.conversation_id, patient_id, channel, None)
        after_hours.reply_if_closed(inbound, hours, now)
        return answer
    raise Conflict("The conversation is busy; try again.", code="concurrent_update")


def mark_read(practice_id: str, patient_id: str, clock: Clock | None = None) -> None:
    """POST /patient/conversation/read: the patient has read the practice's messages so far (feeds R-ROUTE-3)."""
    now = (clock or get_clock()).now()
    patient = _require_patient(practice_id, patient_id, now)
    for _ in range(_ATTEMPTS):
        conversation = _require_conversation(practice_id, patient.conversation_id, consistent=True)
        try:
            conversations_store.conversation_ref(conversation).update(
                actions=[ConversationItem.patient_read_at.set(now)]
            )
        except UpdateError as error:  # only a lost optimistic-lock race is retried
            if error.cause_response_code == "ConditionalCheckFailedException":
                continue
            raise
        waits.clear_unread(practice_id, conversation.conversation_id, read_at=now)  # R-HOURS-4: reading stops it
        return
    raise Conflict("The conversation is busy; try again.", code="concurrent_update")


# ----- provider webhooks -----


def receive_sms(
    to: str,
    sender: str,
    body: str,
    provider_message_id: str,
    *,
    provider: str = WEBHOOK_PROVIDER,
    sent_at: datetime | None = None,
    clock: Clock | None = None,
    publisher: EventPublisher | None = None,
) -> dict[str, Any]:
    """POST /webhooks/sms and AWS two-way SMS (R-SMS-1). R-ROUTE-6: an SMS removes the conversation's reason.
    R-SMS-2: a text that is only a keyword (STOP, START, HELP...) is answered, never routed."""
    return _receive_from_provider(
        "sms",
        to,
        sender,
        body,
        provider_message_id,
        "cell",
        None,
        {},
        clock=clock,
        publisher=publisher,
        provider=provider,
        sent_at=sent_at,
    )


def receive_voicemail(
    to: str,
    sender: str,
    provider_message_id: str,
    recording_url: str,
    transcript: str | None,
    extension: str | None,
    line_type: str,
    *,
    clock: Clock | None = None,
    publisher: EventPublisher | None = None,
) -> dict[str, Any]:
    """POST /webhooks/voicemail. R-ROUTE-6 / R-ROUTE-12: no reason unless the extension maps to one."""
    extra: dict[str, Any] = {"recording_url": recording_url}
    if extension:
        extra["extension"] = extension
    body = transcript or "(voicemail without transcript)"
    return _receive_from_provider(
        "voicemail",
        to,
        sender,
        body,
        provider_message_id,
        line_type,
        extension,
        extra,
        clock=clock,
        publisher=publisher,
    )


def _receive_from_provider(
    channel: str,
    to: str,
    sender: str,
    body: str,
    provider_message_id: str,
    line_type: str,
    extension: str | None,
    extra: dict[str, Any],
    *,
    clock: Clock | None,
    publisher: EventPublisher | None,
    provider: str = WEBHOOK_PROVIDER,
    sent_at: datetime | None = None,
) -> dict[str, Any]:
    now = (clock or get_clock()).now()
    practice_id = practice_for_to(to)
    scope = f"provider-{provider}"  # R-SMS-1: per provider, not per channel
    first = routing_store.get_idempotent_answer(practice_id, scope, provider_message_id, now)
    if first is not None:
        return first  # R-REL-1: a replayed webhook is answered like the first; nothing is written twice
    practice, hours = office_hours_store.practice_and_hours(practice_id)  # one BatchGetItem (A53)
    country = practice.country if practice else "US"
    from_e164 = normalize_phone(sender, country, field="from")
    keyword = keyword_of(body) if channel == "sms" and practice is not None else None
    if keyword is not None and practice is not None:  # R-SMS-2: before identification, so no profile is created
        answered = sms_consent.answer_keyword(
            practice, from_e164, keyword, scope, provider_message_id, now, sent_at=sent_at, publisher=publisher
        )
        if answered is not None:
            return answered  # otherwise a "Yes" from a number that never opted out: a message for staff
    reason, source = None, f"cleared_by_{channel}"  # R-ROUTE-6
    if extension:
        mapping = routing_store.get_extension(practice_id, extension)
        if mapping is not None and mapping.reason:
            reason, source = mapping.reason, "voicemail_extension"  # R-ROUTE-12
        elif mapping is not None and mapping.inbox_id:
            extra = {**extra, "target_inbox": mapping.inbox_id}
    patient, ambiguous = identify_sender(practice_id, from_e164, line_type, now)
    for attempt in range(_INBOUND_ATTEMPTS):
        conversation = _require_conversation(practice_id, patient.conversation_id, consistent=True)
        message = NewMessage(
            practice_id,
            conversation.conversation_id,
            patient.patient_id,
            "patient",
            channel,
            body,
            reason=reason,
            ambiguous_sender=ambiguous,
            extra={**extra, "reason_source": source},
        )
        answer = {"message_id": message.message_id, "conversation_id": conversation.conversation_id}
        stored = _store_inbound(
            message,
            conversation,
            now,
            scope,
            provider_message_id,
            answer,
            activity=(from_e164, patient.patient_id),
            hours=hours,
        )
        if stored is None:
            _back_off(attempt)
            continue
        if stored is not answer:
            return stored
        announce(message, now, publisher)
        # R-HOURS-2: SMS senders and voicemail callers from a cell phone also get the reply by SMS.
        reply_to = from_e164 if channel == "sms" or line_type == "cell" else None
        inbound = after_hours.Inbound(practice_id, conversation.conversation_id, patient.patient_id, channel, reply_to)
        after_hours.reply_if_closed(inbound, hours, now, practice)
        return answer
    raise Conflict("The conversation is busy; try again.", code="concurrent_update")


def practice_for_to(to: str) -> str:
    """The practice whose textable number the provider delivered to; any other number is a 404."""
    try:
        e164 = normalize_phone(to, "US", field="to")
    except ValidationFailed:
        raise NotFound("No practice has that number.") from None
    practice_id = practices_store.practice_for_number(e164)
    if practice_id is None:
        raise NotFound("No practice has that number.")
    return practice_id


def identify_sender(practice_id: str, e164: str, line_type: str, now: datetime) -> tuple[Patient, bool]:
    """R-ROUTE-13: the patient with that number; several → the most recently active (flagged ambiguous); none → a new
    profile with the number as a cell phone or a landline, as the provider reports."""
    found = patients_store.patient_ids_by_phone(practice_id, e164)
    activity = {patient_id: last_active for patient_id, _, last_active in found}
    patients = patients_store.patients_by_ids(practice_id, [patient_id for patient_id, _, _ in found]) if found else []
    if not patients:
        return _create_unknown_caller(practice_id, e164, line_type, now), False

    def last_active(patient: Patient) -> datetime:
        moments = [m for m in (activity.get(patient.patient_id), patient.last_active_at, patient.created_at) if m]
        return max(moments)

    chosen = max(patients, key=lambda p: (last_active(p), p.patient_id))
    return chosen, len(patients) > 1


def _create_unknown_caller(practice_id: str, e164: str, line_type: str, now: datetime) -> Patient:
    patient = Patient(
        practice_id=practice_id,
        patient_id=new_id(),
        first_name=UNKNOWN_FIRST_NAME,
        last_name=UNKNOWN_LAST_NAME,
        date_of_birth=UNKNOWN_DOB,
        conversation_id=new_id(),
        created_at=now,
        cell_phone=e164 if line_type == "cell" else None,
        landlines=[e164] if line_type != "cell" else [],
        last_active_at=now,
    )
    # No duplicate check: every unknown caller shares the placeholder name and DOB.
    patients_store.create_patient(patient, actor=INTAKE_ACTOR, duplicates=[])
    return patient


def _cell_activity(patient: Patient) -> tuple[str, str] | None:
    return (patient.cell_phone, patient.patient_id) if patient.cell_phone else None


def _store_inbound(
    message: NewMessage,
    conversation: Conversation,
    now: datetime,
    scope: str,
    key: str,
    answer: dict[str, Any],
    *,
    activity: tuple[str, str] | None,
    hours: OfficeHours,
) -> dict[str, Any] | None:
    """A20: idempotency record + message + conversation update in one transaction. R-HOURS-3: the first unanswered
    message starts the conversation's response wait (due after the target in office minutes); R-HOURS-4: a patient
    message ends the unread-reply reminders (the patient answered, so the reply reached them).

    Returns `answer` when stored, the first answer when the idempotency key was already used, None on a lost
    optimistic-lock race on the conversation (the caller reads it again)."""
    record = routing_store.idempotency_item(message.practice_id, scope, key, answer, now)
    due = None
    if conversation.waiting_since is None and hours.response_target_minutes > 0:
        due = hours.add_office_minutes(now, hours.response_target_minutes)
    wait_actions = waits.start_wait_actions(conversation, now, due)
    try:
        with transaction() as tx:
            tx.save(record, condition=IdempotencyItem.pk.does_not_exist() | (IdempotencyItem.expires_ttl < now))
            tx.save(message_item(message, now), condition=conversations_store.MessageItem.pk.does_not_exist())
            tx.update(
                conversations_store.conversation_ref(conversation),
                actions=[
                    ConversationItem.last_patient_message_at.set(now),
                    ConversationItem.last_patient_reason.set(message.reason)
                    if message.reason
                    else ConversationItem.last_patient_reason.remove(),
                    *wait_actions,
                ],
            )
            if activity is not None:
                phone, patient_id = activity
                pk, sk = PhoneIndexItem.key(message.practice_id, phone, patient_id)
                tx.update(
                    PhoneIndexItem(pk, sk),
                    actions=[PhoneIndexItem.last_active_at.set(now)],
                    condition=PhoneIndexItem.pk.exists(),
                )
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes and codes[0] == "ConditionalCheckFailed":
            first = routing_store.get_idempotent_answer(message.practice_id, scope, key, now)
            if first is not None:
                return first
        if len(codes) > 3 and codes[3] == "ConditionalCheckFailed":
            return _store_inbound(message, conversation, now, scope, key, answer, activity=None, hours=hours)
        if "ConditionalCheckFailed" in codes:
            return None
        raise
    if _unread_reply_possible(conversation):
        # R-HOURS-4: the patient answered, so the reply reached them. Its own request, after the commit and only
        # when a reply may be unread: the message's transaction keeps its items (and its contention) unchanged.
        waits.clear_unread(message.practice_id, message.conversation_id, read_at=now)
    return answer


def _unread_reply_possible(conversation: Conversation) -> bool:
    replied, read = conversation.last_practice_message_at, conversation.patient_read_at
    return replied is not None and (read is None or read < replied)


def _require_conversation(practice_id: str, conversation_id: str, *, consistent: bool = False) -> Conversation:
    conversation = conversations_store.get_conversation(practice_id, conversation_id, consistent=consistent)
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation
