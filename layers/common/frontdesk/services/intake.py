"""Inbound patient messages on every channel: store, then announce MessageReceived; routing happens elsewhere.

R-ROUTE-1 (every inbound message lands in the conversation), R-ROUTE-3..6 (the reason a message carries),
R-ROUTE-12 (voicemail extensions), R-ROUTE-13 (senders identified by phone), R-REL-1 (idempotent intake).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.events import EventPublisher
from frontdesk.domain import reasons as reason_rules
from frontdesk.domain.conversations import Conversation, Message
from frontdesk.domain.dob import conversation_block
from frontdesk.domain.messages import Posted
from frontdesk.domain.office_hours import OfficeHours
from frontdesk.domain.patients import DuplicatePair, Patient
from frontdesk.domain.phones import normalize_phone
from frontdesk.domain.practices import Practice
from frontdesk.domain.routing import RoutingConfig, VoicemailExtension
from frontdesk.domain.sms_keywords import keyword_of
from frontdesk.errors import Forbidden, NotFound, ValidationFailed
from frontdesk.ids import new_id
from frontdesk.services import after_hours, sms_consent
from frontdesk.services.messages import NewMessage, announce
from frontdesk.services.retry import retry_on_stale
from frontdesk.store import conversations as conversations_store
from frontdesk.store import idempotency as idempotency_store
from frontdesk.store import message_path, waits
from frontdesk.store import office_hours as office_hours_store
from frontdesk.store import patients as patients_store
from frontdesk.store import practices as practices_store
from frontdesk.store import routing as routing_store
from frontdesk.store import voicemail_extensions as extensions_store

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


class IntakeStore(Protocol):
    """What intake needs from the store (A20, A23, A53, R-ROUTE-13); DynamoDB below, an in-memory fake in the unit
    tests. Writes take and return domain values; a lost optimistic-lock race raises `frontdesk.errors.Stale`."""

    def get_patient(self, practice_id: str, patient_id: str, *, consistent: bool = False) -> Patient | None: ...

    def get_conversation(
        self, practice_id: str, conversation_id: str, *, consistent: bool = False
    ) -> Conversation | None: ...

    def get_config(self, practice_id: str, *, consistent: bool = False) -> RoutingConfig: ...

    def list_messages(
        self,
        practice_id: str,
        conversation_id: str,
        limit: int,
        start_key: dict[str, Any] | None,
        *,
        newest_first: bool = False,
    ) -> tuple[list[Message], dict[str, Any] | None]: ...

    def get_idempotent_answer(self, practice_id: str, scope: str, key: str, now: datetime) -> dict[str, Any] | None: ...

    def config_and_hours(self, practice_id: str, *, consistent: bool = False) -> tuple[RoutingConfig, OfficeHours]: ...

    def practice_and_hours(self, practice_id: str) -> tuple[Practice | None, OfficeHours]: ...

    def practice_for_number(self, e164: str) -> str | None: ...

    def get_extension(self, practice_id: str, extension: str) -> VoicemailExtension | None: ...

    def patient_ids_by_phone(self, practice_id: str, e164: str) -> list[tuple[str, str, datetime | None]]: ...

    def patients_by_ids(self, practice_id: str, patient_ids: list[str]) -> list[Patient]: ...

    def create_patient(self, patient: Patient, *, actor: str, duplicates: list[DuplicatePair]) -> None: ...

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
    ) -> dict[str, Any]: ...

    def mark_read(self, conversation: Conversation, now: datetime) -> None: ...

    def claim_after_hours_reply(
        self, practice_id: str, conversation_id: str, period: str, message: Posted, now: datetime, keep_until: datetime
    ) -> bool: ...


class DynamoIntakeStore:
    """The table (store/message_path.py and the look-ups of store/patients, practices, routing, office_hours)."""

    get_patient = staticmethod(patients_store.get_patient)
    get_conversation = staticmethod(conversations_store.get_conversation)
    get_config = staticmethod(routing_store.get_config)
    list_messages = staticmethod(conversations_store.list_messages)
    get_idempotent_answer = staticmethod(idempotency_store.get_idempotent_answer)
    config_and_hours = staticmethod(office_hours_store.config_and_hours)
    practice_and_hours = staticmethod(office_hours_store.practice_and_hours)
    practice_for_number = staticmethod(practices_store.practice_for_number)
    get_extension = staticmethod(extensions_store.get_extension)
    patient_ids_by_phone = staticmethod(patients_store.patient_ids_by_phone)
    patients_by_ids = staticmethod(patients_store.patients_by_ids)
    create_patient = staticmethod(patients_store.create_patient)
    append_inbound = staticmethod(message_path.append_inbound)
    mark_read = staticmethod(message_path.mark_read)
    claim_after_hours_reply = staticmethod(waits.claim_after_hours_reply)


_DYNAMO = DynamoIntakeStore()


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


def _require_patient(store: IntakeStore, practice_id: str, patient_id: str, now: datetime) -> Patient:
    patient = store.get_patient(practice_id, patient_id, consistent=True)
    if patient is None:
        raise NotFound("No such patient.")
    block = conversation_block(patient, now)
    if block is not None:
        raise Forbidden("Verify your date of birth first.", code=block)
    return patient


def _prompt_inputs(conversation: Conversation, config: RoutingConfig) -> reason_rules.PromptInputs:
    offered = reason_rules.offered_reasons(subs.reasons for subs in config.subscriptions.values())
    return reason_rules.PromptInputs(
        reasons_enabled=config.settings.reasons_enabled,
        offered=tuple(offered),
        conversation_closed=conversation.status == "closed",
        last_practice_message_at=conversation.last_practice_message_at,
        patient_read_at=conversation.patient_read_at,
        last_patient_message_at=conversation.last_patient_message_at,
    )


def patient_conversation(
    practice_id: str, patient_id: str, clock: Clock | None = None, *, store: IntakeStore | None = None
) -> PatientView:
    """GET /patient/conversation: the DOB gate first (R-DOB-1/2), then messages and the reason prompt (R-ROUTE-3/4)."""
    store = store or _DYNAMO
    now = (clock or get_clock()).now()
    patient = _require_patient(store, practice_id, patient_id, now)
    conversation = _require_conversation(store, practice_id, patient.conversation_id)
    config = store.get_config(practice_id)
    inputs = _prompt_inputs(conversation, config)
    messages, _ = store.list_messages(practice_id, conversation.conversation_id, 200, None, newest_first=True)
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
    store: IntakeStore | None = None,
) -> dict[str, Any]:
    """POST /patient/conversation/messages → {message_id, reason}; a repeated client_message_id: the first answer."""
    store = store or _DYNAMO
    now = (clock or get_clock()).now()
    scope, key = "patient-message", f"{patient_id}|{client_message_id}"
    first = store.get_idempotent_answer(practice_id, scope, key, now)
    if first is not None:
        return first
    patient = _require_patient(store, practice_id, patient_id, now)
    if not body.strip():
        raise ValidationFailed("The message is empty.", field="body")
    return _store_patient_message(store, practice_id, patient, body, reason, channel, scope, key, now, publisher)


@retry_on_stale(_INBOUND_ATTEMPTS)  # the conversation changed under us: read it again
def _store_patient_message(
    store: IntakeStore,
    practice_id: str,
    patient: Patient,
    body: str,
    reason: str | None,
    channel: str,
    scope: str,
    key: str,
    now: datetime,
    publisher: EventPublisher | None,
) -> dict[str, Any]:
    patient_id = patient.patient_id
    conversation = _require_conversation(store, practice_id, patient.conversation_id, consistent=True)
    # The routing config and the office hours in one BatchGetItem (A53): no extra request while open.
    config, hours = store.config_and_hours(practice_id)
    try:
        choice = reason_rules.choose_reason(
            _prompt_inputs(conversation, config), reason, conversation.last_patient_reason, now
        )
    except reason_rules.ReasonRefused as refused:
        text = (
            "Choose a reason for your message." if refused.code == "reason_required" else "That reason is not offered."
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
    stored = store.append_inbound(
        message, conversation, now, scope, key, answer, activity=_cell_activity(patient), hours=hours
    )
    if stored is not answer:
        return stored
    announce(message, now, publisher)
    # R-HOURS-2: app and messenger patients get the after-hours reply in the app only.
    inbound = after_hours.Inbound(practice_id, conversation.conversation_id, patient_id, channel, None)
    after_hours.reply_if_closed(inbound, hours, now, claim=store.claim_after_hours_reply)
    return answer


def mark_read(
    practice_id: str, patient_id: str, clock: Clock | None = None, *, store: IntakeStore | None = None
) -> None:
    """POST /patient/conversation/read: the patient has read the practice's messages so far (feeds R-ROUTE-3)."""
    store = store or _DYNAMO
    now = (clock or get_clock()).now()
    patient = _require_patient(store, practice_id, patient_id, now)
    _mark_read(store, practice_id, patient.conversation_id, now)


@retry_on_stale(_ATTEMPTS)
def _mark_read(store: IntakeStore, practice_id: str, conversation_id: str, now: datetime) -> None:
    store.mark_read(_require_conversation(store, practice_id, conversation_id, consistent=True), now)


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
    store: IntakeStore | None = None,
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
        store=store,
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
    store: IntakeStore | None = None,
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
        store=store,
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
    store: IntakeStore | None = None,
) -> dict[str, Any]:
    store = store or _DYNAMO
    now = (clock or get_clock()).now()
    practice_id = practice_for_to(to, store)
    scope = f"provider-{provider}"  # R-SMS-1: per provider, not per channel
    first = store.get_idempotent_answer(practice_id, scope, provider_message_id, now)
    if first is not None:
        return first  # R-REL-1: a replayed webhook is answered like the first; nothing is written twice
    practice, hours = store.practice_and_hours(practice_id)  # one BatchGetItem (A53)
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
        mapping = store.get_extension(practice_id, extension)
        if mapping is not None and mapping.reason:
            reason, source = mapping.reason, "voicemail_extension"  # R-ROUTE-12
        elif mapping is not None and mapping.inbox_id:
            extra = {**extra, "target_inbox": mapping.inbox_id}
    patient, ambiguous = identify_sender(practice_id, from_e164, line_type, now, store)
    inbound = _Inbound(channel, body, reason, ambiguous, {**extra, "reason_source": source}, from_e164, line_type)
    return _store_provider_message(
        store, practice_id, practice, hours, patient, inbound, scope, provider_message_id, now, publisher
    )


@dataclass(frozen=True)
class _Inbound:
    channel: str
    body: str
    reason: str | None
    ambiguous: bool
    extra: dict[str, Any]
    from_e164: str
    line_type: str


@retry_on_stale(_INBOUND_ATTEMPTS)  # the conversation changed under us: read it again
def _store_provider_message(
    store: IntakeStore,
    practice_id: str,
    practice: Practice | None,
    hours: OfficeHours,
    patient: Patient,
    received: _Inbound,
    scope: str,
    provider_message_id: str,
    now: datetime,
    publisher: EventPublisher | None,
) -> dict[str, Any]:
    channel, body, from_e164, line_type = received.channel, received.body, received.from_e164, received.line_type
    conversation = _require_conversation(store, practice_id, patient.conversation_id, consistent=True)
    message = NewMessage(
        practice_id,
        conversation.conversation_id,
        patient.patient_id,
        "patient",
        channel,
        body,
        reason=received.reason,
        ambiguous_sender=received.ambiguous,
        extra=received.extra,
    )
    answer = {"message_id": message.message_id, "conversation_id": conversation.conversation_id}
    stored = store.append_inbound(
        message,
        conversation,
        now,
        scope,
        provider_message_id,
        answer,
        activity=(from_e164, patient.patient_id),
        hours=hours,
    )
    if stored is not answer:
        return stored
    announce(message, now, publisher)
    # R-HOURS-2: SMS senders and voicemail callers from a cell phone also get the reply by SMS.
    reply_to = from_e164 if channel == "sms" or line_type == "cell" else None
    inbound = after_hours.Inbound(practice_id, conversation.conversation_id, patient.patient_id, channel, reply_to)
    after_hours.reply_if_closed(inbound, hours, now, practice, claim=store.claim_after_hours_reply)
    return answer


def practice_for_to(to: str, store: IntakeStore | None = None) -> str:
    """The practice whose textable number the provider delivered to; any other number is a 404."""
    try:
        e164 = normalize_phone(to, "US", field="to")
    except ValidationFailed:
        raise NotFound("No practice has that number.") from None
    practice_id = (store or _DYNAMO).practice_for_number(e164)
    if practice_id is None:
        raise NotFound("No practice has that number.")
    return practice_id


def identify_sender(
    practice_id: str, e164: str, line_type: str, now: datetime, store: IntakeStore | None = None
) -> tuple[Patient, bool]:
    """R-ROUTE-13: the patient with that number; several → the most recently active (flagged ambiguous); none → a new
    profile with the number as a cell phone or a landline, as the provider reports."""
    store = store or _DYNAMO
    found = store.patient_ids_by_phone(practice_id, e164)
    activity = {patient_id: last_active for patient_id, _, last_active in found}
    patients = store.patients_by_ids(practice_id, [patient_id for patient_id, _, _ in found]) if found else []
    if not patients:
        return _create_unknown_caller(store, practice_id, e164, line_type, now), False

    def last_active(patient: Patient) -> datetime:
        moments = [m for m in (activity.get(patient.patient_id), patient.last_active_at, patient.created_at) if m]
        return max(moments)

    chosen = max(patients, key=lambda p: (last_active(p), p.patient_id))
    return chosen, len(patients) > 1


def _create_unknown_caller(store: IntakeStore, practice_id: str, e164: str, line_type: str, now: datetime) -> Patient:
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
    store.create_patient(patient, actor=INTAKE_ACTOR, duplicates=[])
    return patient


def _cell_activity(patient: Patient) -> tuple[str, str] | None:
    return (patient.cell_phone, patient.patient_id) if patient.cell_phone else None


def _require_conversation(
    store: IntakeStore, practice_id: str, conversation_id: str, *, consistent: bool = False
) -> Conversation:
    conversation = store.get_conversation(practice_id, conversation_id, consistent=consistent)
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation
