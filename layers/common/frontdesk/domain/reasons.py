"""The fixed reason catalogue, its labels, and the reason-prompt rule (R-ROUTE-3, R-ROUTE-4, R-ROUTE-5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# R-ROUTE-4: fixed; practices cannot add or reword reasons.
CATALOGUE: tuple[tuple[str, str], ...] = (
    ("appointments", "Appointments"),
    ("prescriptions_refills", "Prescriptions / Refills"),
    ("test_lab_results", "Test / Lab Results"),
    ("billing", "Billing"),
    ("referrals", "Referrals"),
    ("forms_records", "Forms / Records"),
    ("other", "Other"),
)
REASONS: tuple[str, ...] = tuple(reason for reason, _ in CATALOGUE)
LABELS: dict[str, str] = dict(CATALOGUE)
OTHER = "other"
UNKNOWN_LOCATION = "unknown"
STICKY_WINDOW = timedelta(hours=1)  # R-ROUTE-3 / R-ROUTE-5


def offered_reasons(subscribed_reasons: Iterable[Iterable[str]]) -> list[str]:
    """R-ROUTE-4 / R-ROUTE-11: a reason is offered when at least one staff member subscribes to it (catalogue order)."""
    wanted = {reason for reasons in subscribed_reasons for reason in reasons}
    return [reason for reason in REASONS if reason in wanted]


def subscribers_by_reason(subscriptions: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """staff_id -> reasons  ==>  reason -> sorted staff ids, for the whole catalogue."""
    result: dict[str, list[str]] = {reason: [] for reason in REASONS}
    for staff_id, reasons in subscriptions.items():
        for reason in reasons:
            if reason in result:
                result[reason].append(staff_id)
    return {reason: sorted(ids) for reason, ids in result.items()}


@dataclass(frozen=True)
class PromptInputs:
    """What the prompt rule looks at: the conversation and the patient's history in it."""

    reasons_enabled: bool
    offered: tuple[str, ...]
    conversation_closed: bool
    last_practice_message_at: datetime | None
    patient_read_at: datetime | None
    last_patient_message_at: datetime | None


def has_read_last_practice_message(inputs: PromptInputs) -> bool:
    if inputs.last_practice_message_at is None:
        return True  # nothing from the practice to read
    return inputs.patient_read_at is not None and inputs.patient_read_at >= inputs.last_practice_message_at


def within_sticky_window(last_patient_message_at: datetime | None, now: datetime) -> bool:
    """R-ROUTE-5: the previous patient message is at most one hour old."""
    return last_patient_message_at is not None and now - last_patient_message_at <= STICKY_WINDOW


def prompt_required(inputs: PromptInputs, now: datetime) -> bool:
    """R-ROUTE-3: reason routing on, something to offer, conversation closed, last practice message read, and the
    patient's last message more than one hour old (or none at all)."""
    return (
        inputs.reasons_enabled
        and bool(inputs.offered)
        and inputs.conversation_closed
        and has_read_last_practice_message(inputs)
        and not within_sticky_window(inputs.last_patient_message_at, now)
    )


@dataclass(frozen=True)
class ReasonChoice:
    reason: str | None
    source: str  # patient | sticky | none


class ReasonRefused(Exception):
    """reason_required / reason_not_offered (the service maps it to a 400)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def choose_reason(inputs: PromptInputs, given: str | None, previous_reason: str | None, now: datetime) -> ReasonChoice:
    """The reason a messenger/app message is stored with (R-ROUTE-3, R-ROUTE-4, R-ROUTE-5).

    - prompt required: a reason must be given and offered;
    - within the sticky hour: the previous message's reason, whatever was sent;
    - otherwise an offered reason the patient gave is kept; with reason routing off reasons are ignored.
    """
    if not inputs.reasons_enabled:
        return ReasonChoice(None, "none")
    if prompt_required(inputs, now):
        if given is None:
            raise ReasonRefused("reason_required")
        if given not in inputs.offered:
            raise ReasonRefused("reason_not_offered")
        return ReasonChoice(given, "patient")
    if within_sticky_window(inputs.last_patient_message_at, now):
        return ReasonChoice(previous_reason, "sticky")
    if given is not None:
        if given not in inputs.offered:
            raise ReasonRefused("reason_not_offered")
        return ReasonChoice(given, "patient")
    return ReasonChoice(None, "none")
