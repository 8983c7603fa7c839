"""Patient profiles and the items that index them (phones, external ids, name+DOB, duplicate pairs): creating and
reading them. Changing a stored profile: store/patient_updates.py."""

from __future__ import annotations

from collections.abc import Container, Iterator
from contextlib import contextmanager
from datetime import date, datetime

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from frontdesk.domain.patients import DuplicatePair, Patient
from frontdesk.errors import Conflict
from frontdesk.store import keys
from frontdesk.store.audit import audit_item
from frontdesk.store.base import TableItem, cancellation_codes, put_each_if, transaction
from frontdesk.store.conversations import ConversationItem


class PatientItem(TableItem, discriminator="Patient"):
    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    date_of_birth = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    cell_phone = UnicodeAttribute(null=True)
    landlines = ListAttribute(of=UnicodeAttribute, default=list)
    email = UnicodeAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    location = UnicodeAttribute(null=True)
    verified = BooleanAttribute(default=False)
    dob_verified_at = UTCDateTimeAttribute(null=True)
    dob_state = UnicodeAttribute(default="none")
    dob_failed_attempts = NumberAttribute(default=0)
    dob_reported = UnicodeAttribute(null=True)
    merged_into = UnicodeAttribute(null=True)
    last_active_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    @staticmethod
    def key(practice_id: str, patient_id: str) -> tuple[str, str]:
        return keys.patient_pk(practice_id, patient_id), "PROFILE"


class PhoneIndexItem(TableItem, discriminator="PhoneIndex"):
    """One per (phone, patient): finds patients by a number (search, login, inbound SMS and voicemail)."""

    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    line_type = UnicodeAttribute()  # cell | landline
    last_active_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(practice_id: str, e164: str, patient_id: str) -> tuple[str, str]:
        return keys.phone_pk(practice_id, e164), f"PATIENT#{patient_id}"


class ExternalIdItem(TableItem, discriminator="ExternalId"):
    """Makes the PM/EHR record number unique within a practice and maps it to the patient."""

    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    # When the claim was written: a claim whose profile is not stored yet is an import still writing it if recent.
    claimed_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(practice_id: str, external_id: str) -> tuple[str, str]:
        return keys.external_id_pk(practice_id, external_id), "EXTID"


class NameDobItem(TableItem, discriminator="NameDob"):
    """One per patient under a hash of name and DOB: finds probable duplicates (R-IMPORT-4)."""

    practice_id = UnicodeAttribute()
    patient_id = UnicodeAttribute()
    external_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(practice_id: str, first: str, last: str, dob_iso: str, patient_id: str) -> tuple[str, str]:
        return keys.name_dob_pk(practice_id, first, last, dob_iso), f"PATIENT#{patient_id}"


class IndexHeadItem(TableItem, discriminator="IndexHead"):
    """Put beside every PhoneIndex and NameDob entry and never deleted, so a partition without a head has no
    entries: an import asks for its rows' heads in one BatchGetItem and Queries only the partitions that have one
    (A30), instead of two Queries per row."""

    practice_id = UnicodeAttribute()

    @staticmethod
    def key(partition: str) -> tuple[str, str]:
        return partition, "HEAD"


class DuplicatePairItem(TableItem, discriminator="DuplicatePair"):
    practice_id = UnicodeAttribute()
    patient_ids = ListAttribute(of=UnicodeAttribute)
    reason = UnicodeAttribute()  # same_name_and_dob | same_cell_phone
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, a: str, b: str) -> tuple[str, str]:
        first, second = sorted((a, b))
        return keys.duplicates_pk(practice_id), f"PAIR#{first}#{second}"


def to_patient(item: PatientItem) -> Patient:
    return Patient(
        practice_id=item.practice_id,
        patient_id=item.patient_id,
        first_name=item.first_name,
        last_name=item.last_name,
        date_of_birth=date.fromisoformat(item.date_of_birth),
        conversation_id=item.conversation_id,
        created_at=item.created_at,
        cell_phone=item.cell_phone,
        landlines=[str(number) for number in item.landlines or []],
        email=item.email,
        external_id=item.external_id,
        location=item.location,
        verified=bool(item.verified),
        dob_verified_at=item.dob_verified_at,
        dob_state=item.dob_state or "none",
        dob_failed_attempts=int(item.dob_failed_attempts or 0),
        dob_reported=date.fromisoformat(item.dob_reported) if item.dob_reported else None,
        merged_into=item.merged_into,
        last_active_at=item.last_active_at,
        version=int(item.version or 0),
    )


def to_item(patient: Patient) -> PatientItem:
    pk, sk = PatientItem.key(patient.practice_id, patient.patient_id)
    item = PatientItem(
        pk,
        sk,
        practice_id=patient.practice_id,
        patient_id=patient.patient_id,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth.isoformat(),
        conversation_id=patient.conversation_id,
        cell_phone=patient.cell_phone,
        landlines=list(patient.landlines),
        email=patient.email,
        external_id=patient.external_id,
        location=patient.location,
        verified=patient.verified,
        dob_verified_at=patient.dob_verified_at,
        dob_state=patient.dob_state,
        dob_failed_attempts=patient.dob_failed_attempts,
        dob_reported=patient.dob_reported.isoformat() if patient.dob_reported else None,
        merged_into=patient.merged_into,
        last_active_at=patient.last_active_at,
        created_at=patient.created_at,
    )
    if patient.version:
        item.version = patient.version
    return item


def phone_index_item(patient: Patient, e164: str, line_type: str) -> PhoneIndexItem:
    pk, sk = PhoneIndexItem.key(patient.practice_id, e164, patient.patient_id)
    return PhoneIndexItem(
        pk,
        sk,
        practice_id=patient.practice_id,
        patient_id=patient.patient_id,
        line_type=line_type,
        last_active_at=patient.last_active_at,
    )


def name_dob_item(patient: Patient) -> NameDobItem:
    pk, sk = NameDobItem.key(
        patient.practice_id,
        patient.first_name,
        patient.last_name,
        patient.date_of_birth.isoformat(),
        patient.patient_id,
    )
    return NameDobItem(
        pk, sk, practice_id=patient.practice_id, patient_id=patient.patient_id, external_id=patient.external_id
    )


def index_partitions(patient: Patient) -> list[str]:
    """The PhoneIndex and NameDob partitions holding the patient's entries (each must have its head)."""
    numbers = ([patient.cell_phone] if patient.cell_phone else []) + list(patient.landlines)
    return partitions_of(patient.practice_id, patient.first_name, patient.last_name, patient.date_of_birth, numbers)


def partitions_of(practice_id: str, first: str, last: str, dob: date, numbers: list[str]) -> list[str]:
    partitions = [keys.name_dob_pk(practice_id, first, last, dob.isoformat())]
    partitions += [keys.phone_pk(practice_id, number) for number in numbers]
    return list(dict.fromkeys(partitions))


def index_head_item(practice_id: str, partition: str) -> IndexHeadItem:
    return IndexHeadItem(*IndexHeadItem.key(partition), practice_id=practice_id)


def duplicate_pair_item(practice_id: str, a: str, b: str, reason: str, at: datetime) -> DuplicatePairItem:
    pk, sk = DuplicatePairItem.key(practice_id, a, b)
    return DuplicatePairItem(pk, sk, practice_id=practice_id, patient_ids=sorted((a, b)), reason=reason, created_at=at)


def pair_item_of(patient: Patient, pair: DuplicatePair) -> DuplicatePairItem:
    """The listing of a probable-duplicate pair found when `patient` was created."""
    first, second = pair.patient_ids
    return duplicate_pair_item(patient.practice_id, first, second, pair.reason, patient.created_at)


def new_conversation_item(patient: Patient) -> ConversationItem:
    pk, sk = ConversationItem.key(patient.practice_id, patient.conversation_id)
    return ConversationItem(
        pk,
        sk,
        practice_id=patient.practice_id,
        conversation_id=patient.conversation_id,
        patient_id=patient.patient_id,
        status="closed",
        created_at=patient.created_at,
    )


# A transaction holds at most 100 items; the profile's own items take at most 8 (+ landlines).
PAIRS_IN_CREATE_TRANSACTION = 25


def create_patient(patient: Patient, *, actor: str, duplicates: list[DuplicatePair]) -> None:
    """Profile, conversation, phone/external-id/name+DOB index items, duplicate pairs and audit: all or nothing.

    Pairs past the transaction's room are batch-written right after it: they are derived, idempotent listing
    items (R-IMPORT-4), so a retry or the next duplicate rewrites them; the profile itself is never half-made.
    """
    in_transaction, afterwards = duplicates[:PAIRS_IN_CREATE_TRANSACTION], duplicates[PAIRS_IN_CREATE_TRANSACTION:]
    _create_transaction(patient, actor, in_transaction)
    if afterwards:
        with DuplicatePairItem.batch_write() as batch:
            for pair in afterwards:
                batch.save(pair_item_of(patient, pair))


def _create_transaction(patient: Patient, actor: str, duplicates: list[DuplicatePair]) -> None:
    with _create_conflicts(), transaction() as tx:
        tx.save(to_item(patient), condition=PatientItem.pk.does_not_exist())
        tx.save(new_conversation_item(patient), condition=ConversationItem.pk.does_not_exist())
        if patient.cell_phone:
            tx.save(phone_index_item(patient, patient.cell_phone, "cell"))
        for landline in patient.landlines:
            tx.save(phone_index_item(patient, landline, "landline"))
        if patient.external_id:
            claim = external_id_claim_item(
                patient.practice_id, patient.external_id, patient.patient_id, patient.created_at
            )
            tx.save(claim, condition=ExternalIdItem.pk.does_not_exist())
        tx.save(name_dob_item(patient))
        for partition in index_partitions(patient):
            tx.save(index_head_item(patient.practice_id, partition))
        for pair in duplicates:
            tx.save(pair_item_of(patient, pair))
        tx.save(audit_item(patient.practice_id, patient.patient_id, actor, "patient.create", patient.created_at))


@contextmanager
def _create_conflicts() -> Iterator[None]:
    """Turns a cancelled create into the 409 a client can act on."""
    try:
        yield
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in cancellation_codes(error):
            raise Conflict(
                "Another patient of this practice has that external id.", field="external_id", code="external_id_taken"
            ) from None
        raise


def get_patient(practice_id: str, patient_id: str, *, consistent: bool = False) -> Patient | None:
    """A merged-away profile is gone from look-ups (R-MERGE-2)."""
    try:
        item = PatientItem.get(*PatientItem.key(practice_id, patient_id), consistent_read=consistent)
    except DoesNotExist:
        return None
    patient = to_patient(item)
    return None if patient.merged_into else patient


def load_patient(practice_id: str, patient_id: str) -> Patient | None:
    """The profile even when merged away (a merge retry must see that it already happened)."""
    try:
        return to_patient(PatientItem.get(*PatientItem.key(practice_id, patient_id), consistent_read=True))
    except DoesNotExist:
        return None


def patient_ids_by_phone(practice_id: str, e164: str) -> list[tuple[str, str, datetime | None]]:
    """(patient_id, line_type, last_active_at) of every profile with that number."""
    items = PhoneIndexItem.query(keys.phone_pk(practice_id, e164), PhoneIndexItem.sk.startswith("PATIENT#"))
    return [(i.patient_id, i.line_type, i.last_active_at) for i in items]


def patients_by_ids(practice_id: str, patient_ids: list[str]) -> list[Patient]:
    """One BatchGetItem per 100 ids; merged-away profiles are left out."""
    wanted = [PatientItem.key(practice_id, pid) for pid in dict.fromkeys(patient_ids)]
    found = {item.patient_id: to_patient(item) for item in PatientItem.batch_get(wanted)}
    return [found[pid] for pid in dict.fromkeys(patient_ids) if pid in found and not found[pid].merged_into]


def patient_ids_by_name_dob(practice_id: str, first: str, last: str, dob_iso: str) -> list[tuple[str, str | None]]:
    pk = keys.name_dob_pk(practice_id, first, last, dob_iso)
    return [(i.patient_id, i.external_id) for i in NameDobItem.query(pk, NameDobItem.sk.startswith("PATIENT#"))]


def patient_id_by_external_id(practice_id: str, external_id: str) -> str | None:
    claim = external_id_claim(practice_id, external_id)
    return claim[0] if claim else None


def external_id_claim(
    practice_id: str, external_id: str, *, consistent: bool = False
) -> tuple[str, datetime | None] | None:
    """(patient id, claimed at) of the patient holding the external id, or None."""
    try:
        item = ExternalIdItem.get(*ExternalIdItem.key(practice_id, external_id), consistent_read=consistent)
    except DoesNotExist:
        return None
    return str(item.patient_id), item.claimed_at


def external_id_claim_item(practice_id: str, external_id: str, patient_id: str, at: datetime) -> ExternalIdItem:
    pk, sk = ExternalIdItem.key(practice_id, external_id)
    return ExternalIdItem(pk, sk, practice_id=practice_id, patient_id=patient_id, claimed_at=at)


def claim_external_ids(practice_id: str, claims: dict[str, str], at: datetime) -> dict[str, str]:
    """R-IMPORT-2 when writers run side by side (parallel chunks, two uploads, a staff create): each external id
    is claimed for its patient by a conditional write (free, or already this patient's: a retry).
    Returns {external id: the other patient} for every id someone else holds."""
    wanted = list(claims.items())
    puts = [
        (
            external_id_claim_item(practice_id, external_id, patient_id, at),
            ExternalIdItem.pk.does_not_exist() | (ExternalIdItem.patient_id == patient_id),
        )
        for external_id, patient_id in wanted
    ]
    lost: dict[str, str] = {}
    for position in sorted(put_each_if(puts)):
        external_id, patient_id = wanted[position]
        holder = external_id_claim(practice_id, external_id, consistent=True)
        if holder is None:  # the holder was merged or removed meanwhile: claim it again
            lost.update(claim_external_ids(practice_id, {external_id: patient_id}, at))
        else:
            lost[external_id] = holder[0]
    return lost


def list_duplicates(practice_id: str, limit: int, start_key: dict | None) -> tuple[list[DuplicatePair], dict | None]:
    result = DuplicatePairItem.query(
        keys.duplicates_pk(practice_id),
        DuplicatePairItem.sk.startswith("PAIR#"),
        limit=limit,
        last_evaluated_key=start_key,
    )
    pairs = [DuplicatePair(patient_ids=[str(pid) for pid in i.patient_ids], reason=i.reason) for i in result]
    return pairs, result.last_evaluated_key


# ---------- imports (issue 5): the same items create_patient writes, for batch writes ----------


def new_patient_items(patient: Patient, *, actor: str, heads_present: Container[str] = ()) -> list[TableItem]:
    """What create_patient writes, as items for BatchWriteItem (fresh inserts only: PITFALLS), less the index
    heads the caller knows are stored already (rewriting one would cost a write for nothing), less the
    external-id claim, which must be conditional (the caller claims it first: claim_external_ids), and less the
    duplicate pairs (the caller may find more after these items are stored: pair_item_of).

    Profile and conversation start at version 1, as a transactional create leaves them.
    """
    profile = to_item(patient)
    profile.version = 1
    conversation = new_conversation_item(patient)
    conversation.version = 1
    items: list[TableItem] = [profile, conversation]
    if patient.cell_phone:
        items.append(phone_index_item(patient, patient.cell_phone, "cell"))
    for landline in patient.landlines:
        items.append(phone_index_item(patient, landline, "landline"))
    items.append(name_dob_item(patient))
    items += [index_head_item(patient.practice_id, p) for p in index_partitions(patient) if p not in heads_present]
    items.append(audit_item(patient.practice_id, patient.patient_id, actor, "patient.create", patient.created_at))
    return items
