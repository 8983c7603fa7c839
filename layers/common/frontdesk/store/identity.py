"""Identity items and writes: login codes, phone-change requests, patient identity updates, merges.

Every state change here is conditional (R-REL-2): a login code is used once, a phone-change request leaves
`pending` exactly once, a patient profile changes under its version.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from frontdesk.adapters.clock import iso
from frontdesk.domain.login import LOGIN_CODE_TTL, MAX_CODE_ATTEMPTS, SEND_WINDOW, CodeState, next_send
from frontdesk.domain.messages import Posted
from frontdesk.domain.patients import Patient
from frontdesk.domain.phone_change import PhoneRequest
from frontdesk.errors import Conflict
from frontdesk.store import keys
from frontdesk.store.base import TX_LIMIT, TableItem, cancellation_codes, transaction
from frontdesk.store.conversations import ConversationItem, MessageItem, message_item
from frontdesk.store.patients import (
    DuplicatePairItem,
    ExternalIdItem,
    PatientItem,
    PhoneIndexItem,
    audit_item,
    duplicate_pair_item,
    index_head_item,
    name_dob_item,
    phone_index_item,
)


class StaleWrite(Exception):
    """A conditional write lost: someone else changed the item first (the caller decides what that means)."""


@contextmanager
def _conditional() -> Iterator[None]:
    try:
        yield
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise StaleWrite() from None
        raise
    except (UpdateError, PutError) as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise StaleWrite() from None
        raise


# --- login codes (R-LOGIN-1) ---------------------------------------------------------------------------------


class LoginCodeItem(TableItem, discriminator="LoginCode"):
    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute(null=True)  # None: nobody has that phone (the code was never sent)
    code_hash = UnicodeAttribute()
    salt = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    used = BooleanAttribute(default=False)
    expires_at = UTCDateTimeAttribute()
    window_start = UTCDateTimeAttribute(null=True)  # codes sent to this phone since window_start ...
    sends = NumberAttribute(default=0)  # ... (domain.login.next_send)

    @staticmethod
    def key(practice_id: str, e164: str) -> tuple[str, str]:
        return keys.login_pk(practice_id, e164), "CODE"


def put_login_code(
    practice_id: str, e164: str, patient_id: str | None, code_hash: str, salt: str, now: datetime
) -> bool:
    """A new code replaces the previous one for that phone (one live code per phone), within the send limit.
    False: no new code (limit reached, or a concurrent request issued one first)."""
    pk, sk = LoginCodeItem.key(practice_id, e164)
    try:
        previous: LoginCodeItem | None = LoginCodeItem.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        previous = None
    window = next_send(previous.window_start if previous else None, int(previous.sends or 0) if previous else 0, now)
    if window is None:
        return False
    expires = now + LOGIN_CODE_TTL
    item = LoginCodeItem(
        pk,
        sk,
        practice_id=practice_id,
        patient_id=patient_id,
        code_hash=code_hash,
        salt=salt,
        attempts=0,
        used=False,
        expires_at=expires,
        window_start=window[0],
        sends=window[1],
    )
    # TTL deletes eventually (hours later, never locally); every read checks expires_at itself.
    item.expires_ttl = max(expires, window[0] + SEND_WINDOW) + timedelta(hours=1)
    # the code we read is still the one we replace: two racing requests issue one code, not two
    same = LoginCodeItem.pk.does_not_exist() if previous is None else LoginCodeItem.code_hash == previous.code_hash
    try:
        with _conditional():
            item.save(condition=same)
    except StaleWrite:
        return False
    return True


def get_login_code(practice_id: str, e164: str) -> CodeState | None:
    try:
        item = LoginCodeItem.get(*LoginCodeItem.key(practice_id, e164), consistent_read=True)
    except DoesNotExist:
        return None
    return CodeState(
        code_hash=item.code_hash,
        salt=item.salt,
        expires_at=item.expires_at,
        attempts=int(item.attempts or 0),
        used=bool(item.used),
        patient_id=item.patient_id,
    )


def count_login_failure(practice_id: str, e164: str, code_hash: str) -> int:
    """One more wrong try on that very code; the answer is the attempts so far (MAX+ once the code is burnt)."""
    item = LoginCodeItem(*LoginCodeItem.key(practice_id, e164))
    try:
        with _conditional():
            item.update(
                actions=[LoginCodeItem.attempts.add(1)],
                condition=(LoginCodeItem.code_hash == code_hash) & (LoginCodeItem.attempts < MAX_CODE_ATTEMPTS),
            )
    except StaleWrite:
        return MAX_CODE_ATTEMPTS + 1  # burnt (or replaced by a newer code meanwhile)
    return int(item.attempts or 0)


def use_login_code(practice_id: str, e164: str, code_hash: str) -> bool:
    """Single use: exactly one verify of a code succeeds, however many race (R-LOGIN-1)."""
    item = LoginCodeItem(*LoginCodeItem.key(practice_id, e164))
    try:
        with _conditional():
            item.update(
                actions=[LoginCodeItem.used.set(True)],
                condition=(LoginCodeItem.code_hash == code_hash)
                & (LoginCodeItem.used == False)  # noqa: E712 - a PynamoDB condition, not a comparison
                & (LoginCodeItem.attempts < MAX_CODE_ATTEMPTS),
            )
    except StaleWrite:
        return False
    return True


# --- patient identity updates --------------------------------------------------------------------------------

_IDENTITY_FIELDS = (
    "date_of_birth",
    "cell_phone",
    "landlines",
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


def _patient_actions(before: Patient, after: Patient) -> list[Action]:
    actions: list[Action] = []
    for name in _IDENTITY_FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        attribute = getattr(PatientItem, name)
        actions.append(attribute.remove() if new is None else attribute.set(_stored(name, new)))
    return actions


def _update_patient(tx: TransactWrite, before: Patient, after: Patient) -> None:
    """The profile changes under its version: a concurrent change makes the whole transaction fail (R-REL-2)."""
    actions = _patient_actions(before, after)
    if not actions:
        actions = [PatientItem.dob_state.set(after.dob_state)]  # still bumps and checks the version
    pk, sk = PatientItem.key(before.practice_id, before.patient_id)
    item = PatientItem(pk, sk)
    item.version = before.version or None
    tx.update(item, actions=actions, condition=PatientItem.merged_into.does_not_exist())


def _reindex_dob(tx: TransactWrite, before: Patient, after: Patient) -> None:
    if before.date_of_birth != after.date_of_birth:
        tx.delete(name_dob_item(before))
        tx.save(name_dob_item(after))
        tx.save(index_head_item(after.practice_id, name_dob_item(after).pk))


def _reindex_cell(tx: TransactWrite, before: Patient, after: Patient) -> None:
    if before.cell_phone != after.cell_phone:
        if before.cell_phone:
            tx.delete(phone_index_item(before, before.cell_phone, "cell"))
        if after.cell_phone:
            tx.save(phone_index_item(after, after.cell_phone, "cell"))
            tx.save(index_head_item(after.practice_id, keys.phone_pk(after.practice_id, after.cell_phone)))


@dataclass
class PatientChange:
    """One atomic change of a patient's identity, with what must be written alongside it."""

    before: Patient
    after: Patient
    at: datetime
    audit: tuple[str, str] | None = None  # (actor, action) - R-SEC-2
    messages: list[Posted] = field(default_factory=list)
    duplicate_of: list[str] = field(default_factory=list)  # R-CREATE-4: other profiles with the new cell phone


def _write_change(tx: TransactWrite, change: PatientChange) -> None:
    _update_patient(tx, change.before, change.after)
    _reindex_dob(tx, change.before, change.after)
    _reindex_cell(tx, change.before, change.after)
    for message in change.messages:
        tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
    for other in change.duplicate_of:
        pair = duplicate_pair_item(
            change.after.practice_id, change.after.patient_id, other, "same_cell_phone", change.at
        )
        tx.save(pair)
    if change.audit:
        actor, action = change.audit
        tx.save(audit_item(change.after.practice_id, change.after.patient_id, actor, action, change.at))


def apply_patient_change(change: PatientChange) -> None:
    """Raises StaleWrite when the profile changed (or was merged away) since it was read."""
    with _conditional(), transaction() as tx:
        _write_change(tx, change)


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
        with suppress(StaleWrite), _conditional():
            index.update(actions=[PhoneIndexItem.last_active_at.set(now)], condition=PhoneIndexItem.pk.exists())


# --- phone-change requests (R-PHONE-2..7) --------------------------------------------------------------------


class PhoneChangeRequestItem(TableItem, discriminator="PhoneChangeRequest"):
    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    old_phone = UnicodeAttribute(null=True)
    new_phone = UnicodeAttribute()
    status = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    salt = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    reminded = BooleanAttribute(default=False)
    created_by = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, patient_id: str, request_id: str) -> tuple[str, str]:
        return keys.patient_pk(practice_id, patient_id), f"PHONEREQ#{request_id}"


def _pending_sort_key(request: PhoneRequest) -> str:
    return f"{iso(request.expires_at)}#{request.practice_id}#{request.patient_id}#{request.request_id}"


def _to_request(item: PhoneChangeRequestItem) -> PhoneRequest:
    return PhoneRequest(
        request_id=item.request_id,
        practice_id=item.practice_id,
        patient_id=item.patient_id,
        conversation_id=item.conversation_id,
        old_phone=item.old_phone,
        new_phone=item.new_phone,
        status=item.status,
        code_hash=item.code_hash,
        salt=item.salt,
        created_at=item.created_at,
        expires_at=item.expires_at,
        attempts=int(item.attempts or 0),
        reminded=bool(item.reminded),
        created_by=item.created_by or "",
    )


def _request_ref(request: PhoneRequest) -> PhoneChangeRequestItem:
    return PhoneChangeRequestItem(
        *PhoneChangeRequestItem.key(request.practice_id, request.patient_id, request.request_id)
    )


def _leave_pending(tx: TransactWrite, request: PhoneRequest, status: str) -> None:
    """The one way out of `pending`: conditioned on it, and off the sparse index (R-PHONE-3 exactly once)."""
    tx.update(
        _request_ref(request),
        actions=[
            PhoneChangeRequestItem.status.set(status),
            PhoneChangeRequestItem.gsi3pk.remove(),
            PhoneChangeRequestItem.gsi3sk.remove(),
        ],
        condition=PhoneChangeRequestItem.status == "pending",
    )


def requests_of(practice_id: str, patient_id: str) -> list[PhoneRequest]:
    """Newest first; a patient has a handful (A16)."""
    items = PhoneChangeRequestItem.query(
        keys.patient_pk(practice_id, patient_id),
        PhoneChangeRequestItem.sk.startswith("PHONEREQ#"),
        consistent_read=True,
    )
    return sorted((_to_request(i) for i in items), key=lambda r: r.created_at, reverse=True)


def create_request(
    request: PhoneRequest, superseded: list[PhoneRequest], messages: list[Posted], audit: tuple[str, str, datetime]
) -> None:
    """R-PHONE-5: the new request and the end of every older pending one commit together."""
    pk, sk = PhoneChangeRequestItem.key(request.practice_id, request.patient_id, request.request_id)
    item = PhoneChangeRequestItem(
        pk,
        sk,
        practice_id=request.practice_id,
        patient_id=request.patient_id,
        request_id=request.request_id,
        conversation_id=request.conversation_id,
        old_phone=request.old_phone,
        new_phone=request.new_phone,
        status="pending",
        code_hash=request.code_hash,
        salt=request.salt,
        attempts=0,
        reminded=False,
        created_by=request.created_by,
        created_at=request.created_at,
        expires_at=request.expires_at,
        gsi3pk=keys.PENDING_PHONE_CHANGES,
        gsi3sk=_pending_sort_key(request),
    )
    with _conditional(), transaction() as tx:
        tx.save(item, condition=PhoneChangeRequestItem.pk.does_not_exist())
        for older in superseded:
            _leave_pending(tx, older, "superseded")
        for message in messages:
            tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
        actor, action, at = audit
        tx.save(audit_item(request.practice_id, request.patient_id, actor, action, at))


def close_request(
    request: PhoneRequest, status: str, messages: list[Posted], change: PatientChange | None = None
) -> None:
    """Confirm / decline / expire / cancel: exactly one writer takes a request out of pending (StaleWrite for
    the others), together with its system message and, on confirmation, the new number (R-PHONE-7)."""
    with _conditional(), transaction() as tx:
        _leave_pending(tx, request, status)
        for message in messages:
            tx.save(message_item(message.message, message.at), condition=MessageItem.pk.does_not_exist())
        if change is not None:
            _write_change(tx, change)


def count_wrong_code(request: PhoneRequest) -> int:
    """R-PHONE-4: a wrong code counts an attempt on a still-pending request; the answer is the new count."""
    item = _request_ref(request)
    with _conditional():
        item.update(
            actions=[PhoneChangeRequestItem.attempts.add(1)], condition=PhoneChangeRequestItem.status == "pending"
        )
    return int(item.attempts or 0)


def due_requests(now: datetime, limit: int = 100) -> Iterator[PhoneRequest]:
    """A17: pending requests whose expiry has passed, oldest first. The index holds only pending requests, so
    this costs what is due, not the table."""
    bound = f"{iso(now)}#~"
    for item in PhoneChangeRequestItem.gsi3.query(
        keys.PENDING_PHONE_CHANGES, PhoneChangeRequestItem.gsi3sk <= bound, page_size=limit
    ):
        if isinstance(item, PhoneChangeRequestItem):  # the index is sparse: nothing else is ever in it
            yield _to_request(item)


def requests_expiring_before(now: datetime, until: datetime) -> Iterator[PhoneRequest]:
    """Pending, not yet due, expiring before `until` (the reminder window), not reminded yet."""
    for item in PhoneChangeRequestItem.gsi3.query(
        keys.PENDING_PHONE_CHANGES,
        PhoneChangeRequestItem.gsi3sk.between(f"{iso(now)}#~", f"{iso(until)}#~"),
        filter_condition=PhoneChangeRequestItem.reminded == False,  # noqa: E712 - a PynamoDB condition
    ):
        if isinstance(item, PhoneChangeRequestItem):
            yield _to_request(item)


def mark_reminded(request: PhoneRequest) -> bool:
    """R-PHONE-6: once. Two reminder runs race; one sets the flag, the other sends nothing."""
    try:
        with _conditional():
            _request_ref(request).update(
                actions=[PhoneChangeRequestItem.reminded.set(True)],
                condition=(PhoneChangeRequestItem.status == "pending") & (PhoneChangeRequestItem.reminded == False),  # noqa: E712
            )
    except StaleWrite:
        return False
    return True


# --- merges (R-MERGE-2) ----------------------------------------------------------------------------------------


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
        with _conditional():
            marker.save(condition=condition)
    except StaleWrite:
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
    with _conditional(), transaction() as tx:
        for request in pending:
            _leave_pending(tx, request, "cancelled")
        src_pk, src_sk = PatientItem.key(practice_id, source.patient_id)
        src = PatientItem(src_pk, src_sk)
        src.version = source.version or None
        tx.update(
            src,
            actions=[PatientItem.merged_into.set(target_before.patient_id)],
            condition=PatientItem.merged_into.does_not_exist(),
        )
        _update_patient(tx, target_before, target_after)
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


def load_patient(practice_id: str, patient_id: str) -> Patient | None:
    """The profile even when merged away (a merge retry must see that it already happened)."""
    from frontdesk.store.patients import to_patient

    try:
        return to_patient(PatientItem.get(*PatientItem.key(practice_id, patient_id), consistent_read=True))
    except DoesNotExist:
        return None
