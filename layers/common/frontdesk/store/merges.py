"""Merges (R-MERGE-2): the marker that makes a merge resumable and one-target-only, the idempotent copy of the
source's messages, the one transaction that finalises, and the source conversation's listings removed after it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from frontdesk.domain.messages import Posted
from frontdesk.domain.patients import Patient
from frontdesk.errors import Conflict, Stale
from frontdesk.store import keys
from frontdesk.store.audit import audit_item
from frontdesk.store.base import TX_LIMIT, TableItem, stale_on_lost_condition, transaction
from frontdesk.store.conversations import ConversationItem, MessageItem, message_item
from frontdesk.store.patient_updates import update_profile
from frontdesk.store.patients import (
    DuplicatePairItem,
    ExternalIdItem,
    PhoneIndexItem,
    name_dob_item,
    phone_index_item,
)
from frontdesk.store.phone_requests import leave_pending, requests_of


class MergeMarkerItem(TableItem, discriminator="MergeMarker"):
    """On the source while a merge is under way: makes the merge resumable and one-target-only."""

    practice_id = UnicodeAttribute()
    source_patient_id = UnicodeAttribute()
    target_patient_id = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, source_patient_id: str) -> tuple[str, str]:
        return keys.patient_pk(practice_id, source_patient_id), "MERGE"


def start_merge(practice_id: str, source_id: str, target_id: str, now: datetime) -> None:
    """Idempotent for the same target; a merge of the source into another target is a 409."""
    pk, sk = MergeMarkerItem.key(practice_id, source_id)
    marker = MergeMarkerItem(
        pk, sk, practice_id=practice_id, source_patient_id=source_id, target_patient_id=target_id, started_at=now
    )
    condition = MergeMarkerItem.pk.does_not_exist() | (MergeMarkerItem.target_patient_id == target_id)
    try:
        with stale_on_lost_condition():
            marker.save(condition=condition)
    except Stale:
        raise Conflict("This profile is already being merged into another one.", code="merge_in_progress") from None


def merge_target_in_progress(practice_id: str, patient_id: str) -> str | None:
    try:
        return str(
            MergeMarkerItem.get(*MergeMarkerItem.key(practice_id, patient_id), consistent_read=True).target_patient_id
        )
    except DoesNotExist:
        return None


def copy_messages(practice_id: str, source_conversation: str, target_conversation: str) -> int:
    """Copies every message of the source conversation into the target's, up to 100 per transaction.

    Idempotent: a copy keeps the message's sort key (its time and id), so a retry rewrites the same items
    instead of adding new ones. Nothing is deleted from the source here.
    """
    copied = 0
    batch: list[MessageItem] = []
    source_pk = keys.conversation_pk(practice_id, source_conversation)
    target_pk = keys.conversation_pk(practice_id, target_conversation)
    for item in MessageItem.query(
        source_pk, MessageItem.sk.startswith("MSG#"), consistent_read=True, page_size=TX_LIMIT
    ):
        copy = MessageItem(
            target_pk, item.sk, **{k: v for k, v in item.attribute_values.items() if k not in ("pk", "sk", "type")}
        )
        copy.conversation_id = target_conversation
        batch.append(copy)
        if len(batch) == TX_LIMIT:
            _write_copies(batch)
            copied += len(batch)
            batch = []
    if batch:
        _write_copies(batch)
        copied += len(batch)
    return copied


def _write_copies(batch: list[MessageItem]) -> None:
    with transaction() as tx:
        for copy in batch:
            tx.save(copy)


def finalize_merge(
    target_before: Patient,
    target_after: Patient,
    source: Patient,
    moved_numbers: list[tuple[str, str]],
    dropped_numbers: list[str],
    messages: list[Posted],
    actor: str,
    now: datetime,
) -> None:
    """One transaction: the source is merged away (gone from phone look-ups, name+DOB matches and its inbox
    listing, its pending phone change cancelled), the target gains the numbers, the merge is recorded on both,
    the marker is removed."""
    practice_id = source.practice_id
    # A phone change still pending on the source would otherwise expire later into a conversation nobody sees.
    pending = [r for r in requests_of(practice_id, source.patient_id) if r.status == "pending"]
    with stale_on_lost_condition(), transaction() as tx:
        for request in pending:
            leave_pending(tx, request, "cancelled")
        update_profile(tx, source, replace(source, merged_into=target_before.patient_id))
        update_profile(tx, target_before, target_after)
        marker_pk, marker_sk = MergeMarkerItem.key(practice_id, source.patient_id)
        tx.delete(
            MergeMarkerItem(marker_pk, marker_sk),
            condition=MergeMarkerItem.target_patient_id == target_before.patient_id,
        )
        for number in dropped_numbers:
            tx.delete(PhoneIndexItem(*PhoneIndexItem.key(practice_id, number, source.patient_id)))
        for number, line_type in moved_numbers:
            tx.save(phone_index_item(target_after, number, line_type))
        tx.delete(name_dob_item(source))
        if source.external_id and not target_before.external_id:
            ext_pk, ext_sk = ExternalIdItem.key(practice_id, source.external_id)
            tx.save(ExternalIdItem(ext_pk, ext_sk, practice_id=practice_id, patient_id=target_before.patient_id))
        tx.delete(DuplicatePairItem(*DuplicatePairItem.key(practice_id, source.patient_id, target_before.patient_id)))
        # The listing where the source conversation is held leaves with the merge; any further listings (a
        # conversation routed to many staff) follow right after, in remove_listings (the tx holds 100 items).
        for listing in _listing_refs(
            practice_id, source.conversation_id, _listing_names(practice_id, source.conversation_id)[:1]
        ):
            tx.delete(listing)
        for message in messages:
            tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
        tx.save(
            audit_item(practice_id, source.patient_id, actor, f"patient.merged_into:{target_before.patient_id}", now)
        )
        tx.save(
            audit_item(practice_id, target_before.patient_id, actor, f"patient.merge_from:{source.patient_id}", now)
        )


class _KeyRef(TableItem):
    """Just a key (no discriminator of its own): deletes an item another module models, e.g. a listing."""


def _listing_names(practice_id: str, conversation_id: str) -> list[str]:
    """Every inbox listing of a conversation: where it is held, plus the routing module's `listed_in` record
    (read raw, so this works whether or not that attribute is modelled on this branch)."""
    pk, sk = ConversationItem.key(practice_id, conversation_id)
    raw = TableItem._get_connection().get_item(pk, sk, consistent_read=True).get("Item") or {}
    names: list[str] = []
    holder_type = (raw.get("holder_type") or {}).get("S")
    holder_id = (raw.get("holder_id") or {}).get("S")
    if (raw.get("status") or {}).get("S") == "open" and holder_type:
        names.append("unassigned" if holder_type == "unassigned" else f"{holder_type}#{holder_id}")
    names.extend(str(v.get("S")) for v in (raw.get("listed_in") or {}).get("L", []) if v.get("S"))
    return list(dict.fromkeys(names))


def _listing_refs(practice_id: str, conversation_id: str, names: list[str]) -> list[_KeyRef]:
    return [_KeyRef(keys.listing_pk(practice_id, name), f"CONV#{conversation_id}") for name in names]


def remove_listings(practice_id: str, conversation_id: str) -> int:
    """After a merge: the source conversation leaves every inbox (idempotent deletes, 25 per batch)."""
    refs = _listing_refs(practice_id, conversation_id, _listing_names(practice_id, conversation_id))
    with _KeyRef.batch_write() as batch:
        for ref in refs:
            batch.delete(ref)
    return len(refs)
