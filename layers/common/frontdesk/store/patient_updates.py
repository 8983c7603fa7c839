"""The one way a stored profile changes: an UpdateItem of the changed fields under the version read, the look-up
items re-indexed and whatever goes with the change (system messages, duplicate pairs, audit) in one transaction.
Every caller uses it: DOB answers and edits, phone changes, an import's update, a merge's target and source."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime
from typing import Any

from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from frontdesk.domain.patients import Patient, PatientChange
from frontdesk.errors import Stale
from frontdesk.store.audit import audit_item
from frontdesk.store.base import stale_on_lost_condition, transaction
from frontdesk.store.conversations import MessageItem, message_item
from frontdesk.store.patients import (
    PatientItem,
    PhoneIndexItem,
    duplicate_pair_item,
    index_head_item,
    index_partitions,
    name_dob_item,
    phone_index_item,
)

# Every Patient field a change may touch; keys, conversation and creation time never change.
_CHANGEABLE = (
    "first_name",
    "last_name",
    "date_of_birth",
    "cell_phone",
    "landlines",
    "email",
    "external_id",
    "location",
    "verified",
    "dob_verified_at",
    "dob_state",
    "dob_failed_attempts",
    "dob_reported",
    "merged_into",
    "last_active_at",
)


def _stored(name: str, value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if name == "landlines":
        return list(value)
    return value


def update_profile(tx: TransactWrite, before: Patient, after: Patient) -> None:
    """The profile's changed fields, under the version read (PynamoDB adds the condition and bumps it): a concurrent
    change, or a merge that took the profile away, makes the whole transaction fail (R-REL-2, R-MERGE-2)."""
    actions: list[Action] = []
    for name in _CHANGEABLE:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            attribute = getattr(PatientItem, name)
            actions.append(attribute.remove() if new is None else attribute.set(_stored(name, new)))
    if not actions:
        actions = [PatientItem.dob_state.set(after.dob_state)]  # still bumps and checks the version
    item = PatientItem(*PatientItem.key(before.practice_id, before.patient_id))
    item.version = before.version or None
    condition = PatientItem.merged_into.does_not_exist() if before.merged_into is None else None
    tx.update(item, actions=actions, condition=condition)


def reindex(tx: TransactWrite, before: Patient, after: Patient) -> None:
    """The look-up items follow the profile: its cell phone, new landlines, name+DOB, and the head of every index
    partition it enters (A30)."""
    for partition in dict.fromkeys(index_partitions(after)):
        if partition not in index_partitions(before):
            tx.save(index_head_item(after.practice_id, partition))
    if before.cell_phone != after.cell_phone:
        if before.cell_phone:
            tx.delete(phone_index_item(before, before.cell_phone, "cell"))
        if after.cell_phone:
            tx.save(phone_index_item(after, after.cell_phone, "cell"))
    for landline in after.landlines:
        if landline not in before.landlines:
            tx.save(phone_index_item(after, landline, "landline"))
    if (before.first_name, before.last_name, before.date_of_birth) != (
        after.first_name,
        after.last_name,
        after.date_of_birth,
    ):
        tx.delete(name_dob_item(before))
        tx.save(name_dob_item(after))


def write_change(tx: TransactWrite, change: PatientChange) -> None:
    """A change and what goes with it, inside the caller's transaction (a phone change's confirmation adds it)."""
    update_profile(tx, change.before, change.after)
    reindex(tx, change.before, change.after)
    for posted in change.messages:
        tx.save(message_item(posted.message, posted.at), condition=MessageItem.pk.does_not_exist())
    for other in change.duplicate_of:
        pair = duplicate_pair_item(
            change.after.practice_id, change.after.patient_id, other, "same_cell_phone", change.at
        )
        tx.save(pair)
    if change.audit:
        actor, action = change.audit
        tx.save(audit_item(change.after.practice_id, change.after.patient_id, actor, action, change.at))


def apply_patient_change(change: PatientChange) -> None:
    """One transaction; raises Stale when the profile changed (or was merged away) since it was read."""
    with stale_on_lost_condition(), transaction() as tx:
        write_change(tx, change)


def update_patient_versioned(old: Patient, new: Patient, *, actor: str, action: str, at: datetime) -> bool:
    """An import's update of a profile (apply_patient_change, audited). False when another writer changed the
    profile first: the caller re-reads and tries again."""
    try:
        apply_patient_change(PatientChange(old, new, at=at, audit=(actor, action)))
    except Stale:
        return False
    return True


def touch_login(patient: Patient, now: datetime) -> None:
    """A login: the patient is verified (R-PHONE-2 from now on) and most recently active on their phone."""
    pk, sk = PatientItem.key(patient.practice_id, patient.patient_id)
    PatientItem(pk, sk).update(
        actions=[PatientItem.verified.set(True), PatientItem.last_active_at.set(now)],
        condition=PatientItem.pk.exists(),
        add_version_condition=False,
    )
    if patient.cell_phone:
        # Recency for the shared-phone choice at the next login; missing index item: nothing to record.
        index = PhoneIndexItem(*PhoneIndexItem.key(patient.practice_id, patient.cell_phone, patient.patient_id))
        with suppress(Stale), stale_on_lost_condition():
            index.update(actions=[PhoneIndexItem.last_active_at.set(now)], condition=PhoneIndexItem.pk.exists())
