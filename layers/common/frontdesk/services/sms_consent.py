"""R-SMS-2: STOP, START and HELP texted to a practice number. Called by intake for every inbound SMS (the signed
webhook and AWS End User Messaging through SNS alike) BEFORE sender identification and routing.

A keyword is never stored as a patient message: it is not something the team should answer, it would count as an
unanswered message (R-HOURS-3), reopen a closed conversation and notify staff. What the team needs is the system
message `patient_opted_out` / `patient_opted_in` in each conversation of that number, which says what happened.
HELP changes nothing the team acts on: it is answered automatically and leaves no message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from frontdesk.adapters.events import EventPublisher
from frontdesk.domain.practices import Practice
from frontdesk.domain.sms_keywords import Keyword, KeywordWrite
from frontdesk.services import outbound_sms
from frontdesk.services.messages import NewMessage, announce
from frontdesk.services.outbound_sms import Purpose
from frontdesk.services.retry import retry_on_stale
from frontdesk.store import idempotency as idempotency_store
from frontdesk.store import message_path, sms_optout
from frontdesk.store import patients as patients_store
from frontdesk.store.practices import get_practice

OPTED_OUT_NOTE = (
    "The patient texted a stop word: no SMS goes to this number from the practice until they text START. "
    "Replies are refused; internal notes are still possible."
)
OPTED_IN_NOTE = "The patient texted START: SMS to this number are allowed again."
_KEYWORD_ATTEMPTS = 4  # racing keywords of one number are rare; each attempt reads the register afresh


def help_text(practice: Practice) -> str:
    return (
        f"{practice.name}: reply to this number to message the practice team, or call {practice.textable_number}. "
        "Text STOP to opt out of texts, START to opt back in."
    )


def confirmation_text(practice: Practice, opted_out: bool) -> str:
    if opted_out:
        return f"{practice.name}: you will no longer receive texts from this number. Text START to opt back in."
    return f"{practice.name}: you will receive texts from this number again. Text STOP to opt out, HELP for help."


def answer_keyword(
    practice: Practice,
    phone: str,
    keyword: Keyword,
    scope: str,
    key: str,
    now: datetime,
    *,
    sent_at: datetime | None = None,
    publisher: EventPublisher | None = None,
) -> dict[str, Any] | None:
    """Applies the keyword texted from `phone` (E.164) and answers like an intake: {message_id, conversation_id,
    keyword}; the ids are null when no system message was written (HELP, a repeated STOP, an unknown number).
    Idempotent on (scope, key) like every provider message; `sent_at` orders keywords SNS delivers out of order.

    None for a start word (START, UNSTOP, YES) from a number that was not opted out: nothing to opt back in, and
    "Yes" is the commonest answer to a staff question, so the caller stores and routes it as a patient message.
    The register still records it (as of `sent_at`), so a STOP sent before it but delivered after changes nothing."""
    answer: dict[str, Any] = {"message_id": None, "conversation_id": None, "keyword": keyword.value}
    record = (practice.practice_id, scope, key, answer)
    if keyword is Keyword.HELP:
        # At most one answer per HELP: claimed first, answered after (a lost reply beats two of them).
        if not _claim(record, [], now):
            return _first(practice.practice_id, scope, key, now) or answer
        outbound_sms.send_sms(
            practice.practice_id, phone, help_text(practice), purpose=Purpose.HELP_REPLY, practice=practice
        )
        return answer
    return _apply(practice, phone, keyword, scope, key, sent_at or now, now, publisher)


@retry_on_stale(_KEYWORD_ATTEMPTS)  # the register changed between its read and the transaction: read it again
def _apply(
    practice: Practice,
    phone: str,
    keyword: Keyword,
    scope: str,
    key: str,
    at: datetime,
    now: datetime,
    publisher: EventPublisher | None,
) -> dict[str, Any] | None:
    """STOP or START. The register's change, the idempotency claim and the system messages are one transaction: a
    Lambda that dies before it leaves nothing written, so SNS's redelivery does it all (a register changed before
    its claim made the redelivery see "no change": no confirmation, and a START routed to staff as a message)."""
    practice_id, number, opted_out = practice.practice_id, practice.textable_number, keyword is Keyword.STOP
    if opted_out:
        read = sms_optout.state(practice_id, number, phone)
    else:
        read = sms_optout.note_start_word(practice_id, number, phone, at)
        if read is None:
            return None  # a start word from a number that was not opted out: one UpdateItem, as any "Yes"
    older = read is not None and read.changed_at > at  # SNS delivered a newer keyword first: this one changes nothing
    if older and not opted_out:
        return None
    changes = not older and (read.opted_out if read is not None else False) != opted_out
    messages = _system_messages(practice_id, phone, opted_out) if changes else []
    answer: dict[str, Any] = {"message_id": None, "conversation_id": None, "keyword": keyword.value}
    if messages:
        answer = {**answer, "message_id": messages[0].message_id, "conversation_id": messages[0].conversation_id}
    write = None if older else KeywordWrite(opted_out, at, read)
    if not sms_optout.claim_keyword(
        practice_id, number, phone, write, (practice_id, scope, key, answer), messages, now
    ):
        return _first(practice_id, scope, key, now) or answer  # another delivery of this keyword did it all
    if changes:
        purpose = Purpose.OPT_OUT_CONFIRMATION if opted_out else Purpose.OPT_IN_CONFIRMATION
        outbound_sms.send_sms(
            practice_id, phone, confirmation_text(practice, opted_out), purpose=purpose, practice=practice
        )
    for message in messages:
        announce(message, now, publisher)  # routing puts it in the team's inbox like any system message
    return answer


def _system_messages(practice_id: str, phone: str, opted_out: bool) -> list[NewMessage]:
    """One system message in the conversation of every profile that has the number as its cell phone."""
    found = patients_store.patient_ids_by_phone(practice_id, phone)
    holders = [pid for pid, line, _ in found if line == "cell"]
    kind, body = ("patient_opted_out", OPTED_OUT_NOTE) if opted_out else ("patient_opted_in", OPTED_IN_NOTE)
    return [
        NewMessage(practice_id, p.conversation_id, p.patient_id, "system", "system", body, kind=kind)
        for p in patients_store.patients_by_ids(practice_id, holders)
        if p.cell_phone == phone
    ]


def _claim(record: tuple[str, str, str, dict[str, Any]] | None, messages: list[NewMessage], now: datetime) -> bool:
    """The idempotency record and the system messages in one transaction; False when the key was already used."""
    return message_path.claim_with_messages(record, messages, now)


def _first(practice_id: str, scope: str, key: str, now: datetime) -> dict[str, Any] | None:
    return idempotency_store.get_idempotent_answer(practice_id, scope, key, now)


def carry_opt_out(practice_id: str, kept_cell: str | None, other_cells: list[str | None], at: datetime) -> bool:
    """R-SMS-2 across a merge: the kept profile's cell phone is opted out if any merged number was. One
    BatchGetItem for the numbers; idempotent (a retried merge finds the kept number already opted out)."""
    numbers = [n for n in dict.fromkeys([kept_cell, *other_cells]) if n]
    if kept_cell is None or len(numbers) < 2:
        return False  # one number (or none): the register, keyed by number, already holds it
    practice = get_practice(practice_id)
    if practice is None:
        return False
    opted_out = sms_optout.opted_out_among(practice_id, practice.textable_number, numbers)
    if not opted_out or kept_cell in opted_out:
        return False
    return sms_optout.record(practice_id, practice.textable_number, kept_cell, True, at, "merge")
