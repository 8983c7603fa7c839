"""R-SMS-2 / R-SMS-3: the SMS opt-out register, per practice number and patient number (docs/data-model.md).

Keyed by the NUMBER, never by the patient: an opt-out survives merges, phone changes and new profiles for the same
number. Every send reads it with at most one GetItem (BatchGetItem when one action sends to several numbers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from frontdesk.domain.messages import NewMessage
from frontdesk.domain.sms_keywords import KeywordWrite, OptOutState
from frontdesk.errors import Stale
from frontdesk.store import idempotency as idempotency_store
from frontdesk.store import keys
from frontdesk.store.base import TableItem, cancellation_codes, transaction
from frontdesk.store.conversations import message_item
from frontdesk.store.idempotency import IdempotencyItem

_CONDITION_FAILED = "ConditionalCheckFailed"


class OptOutItem(TableItem, discriminator="SmsOptOut"):
    practice_id = UnicodeAttribute()
    practice_number = UnicodeAttribute()
    phone = UnicodeAttribute()
    opted_out = BooleanAttribute()
    changed_at = UTCDateTimeAttribute()  # when the keyword (or the provider's refusal) that set it was sent
    source = UnicodeAttribute()  # keyword | provider

    @staticmethod
    def key(practice_id: str, practice_number: str, phone: str) -> tuple[str, str]:
        return f"{keys.practice_pk(practice_id)}#SMSOPT#{phone}", f"FROM#{practice_number}"


def state(practice_id: str, practice_number: str, phone: str) -> OptOutState | None:
    """One strongly consistent GetItem; None when the number never texted a keyword nor was refused."""
    try:
        item = OptOutItem.get(*OptOutItem.key(practice_id, practice_number, phone), consistent_read=True)
    except DoesNotExist:
        return None
    return OptOutState(bool(item.opted_out), item.changed_at)


def note_start_word(practice_id: str, practice_number: str, phone: str, at: datetime) -> OptOutState | None:
    """A start word from a number that is not opted out (the commonest: "Yes" to a staff question) changes nothing
    but is recorded as of `at`, so a STOP sent before it and delivered after it changes nothing either: one
    conditional UpdateItem, and None. Otherwise nothing is written and the state that stopped it is returned (one
    more GetItem): opted out (the word opts the number in), or decided by a newer keyword (`changed_at > at`).
    `Stale` when neither holds any more (the register changed between the two requests)."""
    if _note_start(practice_id, practice_number, phone, at):
        return None
    found = state(practice_id, practice_number, phone)
    if found is None or (not found.opted_out and found.changed_at <= at):
        raise Stale("the opt-out register changed between its conditional write and its read")
    return found


def _note_start(practice_id: str, practice_number: str, phone: str, at: datetime) -> bool:
    pk, sk = OptOutItem.key(practice_id, practice_number, phone)
    condition = OptOutItem.pk.does_not_exist() | ((OptOutItem.opted_out == False) & (OptOutItem.changed_at <= at))  # noqa: E712
    try:
        OptOutItem(pk, sk).update(
            actions=_actions(practice_id, practice_number, phone, False, at, "keyword"), condition=condition
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def claim_keyword(
    practice_id: str,
    practice_number: str,
    phone: str,
    write: KeywordWrite | None,
    claim: tuple[str, str, str, dict[str, Any]],
    messages: list[NewMessage],
    now: datetime,
) -> bool:
    """A STOP or START as one TransactWriteItems: the idempotency record `claim` (practice id, scope, key, answer),
    the register's change `write` (None: a keyword older than the register's state, which changes nothing) and the
    system messages. All or nothing, so a Lambda that dies before it leaves nothing a redelivery could mistake for
    done, and one that dies after it leaves the keyword answered. False when the key was already claimed (another
    delivery of the same keyword did it all); `Stale` when the register changed since `write.read` was read."""
    _, scope, key, answer = claim
    try:
        with transaction() as tx:
            tx.save(  # position 0: the idempotency record
                idempotency_store.idempotency_item(practice_id, scope, key, answer, now),
                condition=IdempotencyItem.pk.does_not_exist() | (IdempotencyItem.expires_ttl < now),
            )
            for message in messages:  # positions 1..n (PynamoDB sends every put before every update)
                tx.save(message_item(message, now))
            if write is not None:  # position n + 1: the register, as it was read
                pk, sk = OptOutItem.key(practice_id, practice_number, phone)
                read = write.read
                condition = (
                    OptOutItem.pk.does_not_exist()
                    if read is None
                    else (OptOutItem.opted_out == read.opted_out) & (OptOutItem.changed_at == read.changed_at)
                )
                actions = _actions(practice_id, practice_number, phone, write.opted_out, write.at, "keyword")
                tx.update(OptOutItem(pk, sk), actions=actions, condition=condition)
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes[:1] == [_CONDITION_FAILED]:
            return False
        if codes[1 + len(messages) : 2 + len(messages)] == [_CONDITION_FAILED] or "TransactionConflict" in codes:
            raise Stale("the opt-out register changed since it was read") from None
        raise
    return True


def _actions(
    practice_id: str, practice_number: str, phone: str, opted_out: bool, at: datetime, source: str
) -> list[Any]:
    return [
        OptOutItem.item_type.set(OptOutItem),  # the discriminator, as a save would write it
        OptOutItem.practice_id.set(practice_id),
        OptOutItem.practice_number.set(practice_number),
        OptOutItem.phone.set(phone),
        OptOutItem.opted_out.set(opted_out),
        OptOutItem.changed_at.set(at),
        OptOutItem.source.set(source),
    ]


def is_opted_out(practice_id: str, practice_number: str, phone: str) -> bool:
    """One strongly consistent GetItem: a STOP a moment ago already counts."""
    try:
        item = OptOutItem.get(*OptOutItem.key(practice_id, practice_number, phone), consistent_read=True)
    except DoesNotExist:
        return False
    return bool(item.opted_out)


def opted_out_among(practice_id: str, practice_number: str, phones: Iterable[str]) -> set[str]:
    """The numbers of `phones` that opted out: one BatchGetItem per 100 numbers."""
    wanted = [OptOutItem.key(practice_id, practice_number, phone) for phone in dict.fromkeys(phones)]
    if not wanted:
        return set()
    return {item.phone for item in OptOutItem.batch_get(wanted, consistent_read=True) if item.opted_out}


def record(practice_id: str, practice_number: str, phone: str, opted_out: bool, at: datetime, source: str) -> bool:
    """Sets the number's state as of `at`; True when this changed it (the caller then confirms, once).

    SNS delivers in no guaranteed order: a keyword older than the one that set the current state changes nothing
    (condition on changed_at). One conditional UpdateItem returning the old item, so two STOPs at once confirm once."""
    pk, sk = OptOutItem.key(practice_id, practice_number, phone)
    actions = _actions(practice_id, practice_number, phone, opted_out, at, source)
    condition = OptOutItem.pk.does_not_exist() | (OptOutItem.changed_at <= at)
    try:
        answer = OptOutItem._get_connection().update_item(  # Model.update cannot return the OLD item
            pk, range_key=sk, actions=actions, condition=condition, return_values="ALL_OLD"
        )
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False  # a newer keyword already decided
        raise
    old = answer.get("Attributes") or {}
    was = old.get("opted_out", {}).get("BOOL", False)
    return bool(was) != opted_out
