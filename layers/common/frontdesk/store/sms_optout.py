"""R-SMS-2 / R-SMS-3: the SMS opt-out register, per practice number and patient number (docs/data-model.md).

Keyed by the NUMBER, never by the patient: an opt-out survives merges, phone changes and new profiles for the same
number. Every send reads it with at most one GetItem (BatchGetItem when one action sends to several numbers)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

from frontdesk.store import keys
from frontdesk.store.base import TableItem


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
    actions = [
        OptOutItem.item_type.set(OptOutItem),  # the discriminator, as a save would write it
        OptOutItem.practice_id.set(practice_id),
        OptOutItem.practice_number.set(practice_number),
        OptOutItem.phone.set(phone),
        OptOutItem.opted_out.set(opted_out),
        OptOutItem.changed_at.set(at),
        OptOutItem.source.set(source),
    ]
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
