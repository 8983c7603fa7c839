"""Practices, their textable numbers, staff members and custom shared inboxes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action

from frontdesk.domain.practices import Inbox, Practice, Staff
from frontdesk.errors import Conflict, NotFound, Stale
from frontdesk.store import keys
from frontdesk.store.base import TableItem, cancellation_codes, transaction


class PracticeItem(TableItem, discriminator="Practice"):
    practice_id = UnicodeAttribute()
    name = UnicodeAttribute()
    country = UnicodeAttribute()
    textable_number = UnicodeAttribute()
    has_pm_integration = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    # R-AUTH-3: how many admins of the practice are not deactivated (invited or active). Changed in the transaction
    # of every staff write that changes it, conditioned on staying above zero; absent on practices created before
    # it existed until the first such write counts them (_count_admins).
    admins = NumberAttribute(null=True)

    @staticmethod
    def key(practice_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), "PRACTICE"


class NumberClaimItem(TableItem, discriminator="NumberClaim"):
    practice_id = UnicodeAttribute()

    @staticmethod
    def key(e164: str) -> tuple[str, str]:
        return keys.number_pk(e164), "NUMBER"


class EmailClaimItem(TableItem, discriminator="StaffEmailClaim"):
    """The unique claim of a staff email across the stack (keys.staff_email_pk)."""

    practice_id = UnicodeAttribute()
    staff_id = UnicodeAttribute()

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return keys.staff_email_pk(email), "STAFFEMAIL"


class StaffItem(TableItem, discriminator="Staff"):
    practice_id = UnicodeAttribute()
    staff_id = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(null=True)  # invited | active | deactivated (absent: a member from before sign-in)

    @staticmethod
    def key(practice_id: str, staff_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), f"STAFF#{staff_id}"


class InboxItem(TableItem, discriminator="Inbox"):
    practice_id = UnicodeAttribute()
    inbox_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

    @staticmethod
    def key(practice_id: str, inbox_id: str) -> tuple[str, str]:
        return keys.practice_pk(practice_id), f"INBOX#{inbox_id}"


def create_practice(practice: Practice) -> None:
    """The practice and the claim on its textable number are written together; a taken number is a 409."""
    pk, sk = PracticeItem.key(practice.practice_id)
    item = PracticeItem(pk, sk, **_fields(practice), admins=0)
    claim_pk, claim_sk = NumberClaimItem.key(practice.textable_number)
    claim = NumberClaimItem(claim_pk, claim_sk, practice_id=practice.practice_id)
    try:
        with transaction() as tx:
            tx.save(item, condition=PracticeItem.pk.does_not_exist())
            tx.save(claim, condition=NumberClaimItem.pk.does_not_exist())
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in cancellation_codes(error):
            raise Conflict(
                "That textable number already belongs to a practice.", field="textable_number", code="number_taken"
            ) from None
        raise


def get_practice(practice_id: str) -> Practice | None:
    try:
        item = PracticeItem.get(*PracticeItem.key(practice_id))
    except DoesNotExist:
        return None
    return Practice(
        practice_id=item.practice_id,
        name=item.name,
        country=item.country,
        textable_number=item.textable_number,
        has_pm_integration=bool(item.has_pm_integration),
        created_at=item.created_at,
    )


def practice_for_number(e164: str) -> str | None:
    try:
        return str(NumberClaimItem.get(*NumberClaimItem.key(e164)).practice_id)
    except DoesNotExist:
        return None


def create_staff(staff: Staff) -> None:
    """The staff record and the claim on its email are written together; an email another staff member has (in
    any case, any practice of the stack) is a 409 email_taken and writes nothing."""
    pk, sk = StaffItem.key(staff.practice_id, staff.staff_id)
    claim_pk, claim_sk = EmailClaimItem.key(staff.email)
    claim = EmailClaimItem(claim_pk, claim_sk, practice_id=staff.practice_id, staff_id=staff.staff_id)
    for _ in range(_COUNT_ATTEMPTS):
        try:
            with transaction() as tx:
                tx.save(StaffItem(pk, sk, **_fields(staff)), condition=StaffItem.pk.does_not_exist())
                tx.save(claim, condition=EmailClaimItem.pk.does_not_exist())
                if _is_counted(staff):  # position 2 (after the puts): one more admin
                    _count_in(tx, staff.practice_id, 1)
            return
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if _CONDITION_FAILED in codes[:2]:
                raise Conflict(
                    "That email address is already used by a user.", field="email", code="email_taken"
                ) from None
            if codes[2:3] != [_CONDITION_FAILED]:
                raise
            _count_admins(staff.practice_id)  # a practice from before the count (or none: NotFound)
    raise Stale("the practice's admin count could not be set")


def get_staff(practice_id: str, staff_id: str, *, consistent: bool = False) -> Staff | None:
    try:
        item = StaffItem.get(*StaffItem.key(practice_id, staff_id), consistent_read=consistent)
    except DoesNotExist:
        return None
    return _staff_of(item)


def list_staff(practice_id: str) -> list[Staff]:
    items = StaffItem.query(keys.practice_pk(practice_id), StaffItem.sk.startswith("STAFF#"))
    return [_staff_of(i) for i in items]


def _staff_of(item: StaffItem) -> Staff:
    return Staff(
        practice_id=item.practice_id,
        staff_id=item.staff_id,
        name=item.name,
        email=item.email,
        role=item.role,
        created_at=item.created_at,
        status=item.status or "active",
    )


def delete_staff(practice_id: str, staff_id: str, email: str) -> None:
    """Undoes an invitation whose user could not be created (R-AUTH-2): the record and its email claim go together
    (the claim only while it is this member's, so a retry never frees another's); a missing record is a no-op."""
    pk, sk = StaffItem.key(practice_id, staff_id)
    claim_pk, claim_sk = EmailClaimItem.key(email)
    member = get_staff(practice_id, staff_id, consistent=True)
    counted = member is not None and _is_counted(member)
    for with_claim in (True, False):
        try:
            with transaction() as tx:
                # position 0: the record (conditioned when it is counted, so two undos never count it out twice)
                tx.delete(StaffItem(pk, sk), condition=StaffItem.pk.exists() if counted else None)
                if with_claim:  # position 1: the claim, only while it is this member's
                    tx.delete(EmailClaimItem(claim_pk, claim_sk), condition=EmailClaimItem.staff_id == staff_id)
                if counted:  # the last position: one admin fewer (no floor: the invitation never happened)
                    _count_in(tx, practice_id, -1, keep_one=False)
            return
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if counted and codes[:1] == [_CONDITION_FAILED]:
                return  # another undo deleted the record and counted it out
            if not (with_claim and codes[1:2] == [_CONDITION_FAILED]):
                raise


def set_staff_status(practice_id: str, staff_id: str, status: str, only_from: str | None = None) -> bool:
    """Sets a member's status; with `only_from`, only if that is their status now. False: no such member, or the
    condition did not hold (nothing written)."""
    pk, sk = StaffItem.key(practice_id, staff_id)
    condition = StaffItem.pk.exists()
    if only_from is not None:
        condition &= StaffItem.status == only_from
    try:
        StaffItem(pk, sk).update(actions=[StaffItem.status.set(status)], condition=condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def change_staff(member: Staff, *, status: str | None = None, role: str | None = None) -> Staff:
    """Writes the member's new status and/or role, conditioned on the member as read (`member`): `Stale` when they
    changed since (or are gone). When the change alters how many admins the practice has that are not deactivated,
    the practice's count changes in the same transaction, conditioned on staying above zero: a change that would
    leave the practice without an admin is refused with 409 `last_admin`, and two admins demoting (or deactivating)
    each other at the same moment leave one (R-AUTH-3)."""
    changed = replace(member, status=status or member.status, role=role or member.role)
    delta = int(_is_counted(changed)) - int(_is_counted(member))
    pk, sk = StaffItem.key(member.practice_id, member.staff_id)
    as_read = (StaffItem.role == member.role) & (
        (StaffItem.status == "active") | StaffItem.status.does_not_exist()
        if member.status == "active"  # a member from before sign-in has no status stored (read as active)
        else StaffItem.status == member.status
    )
    actions: list[Action] = [StaffItem.status.set(changed.status), StaffItem.role.set(changed.role)]
    if delta == 0:
        try:
            StaffItem(pk, sk).update(actions=actions, condition=as_read)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise Stale("the staff member changed since it was read") from None
            raise
        return changed
    try:
        with transaction() as tx:
            tx.update(StaffItem(pk, sk), actions=actions, condition=as_read)  # position 0
            _count_in(tx, member.practice_id, delta)  # position 1
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if codes[:1] == [_CONDITION_FAILED] or "TransactionConflict" in codes:
            raise Stale("the staff member changed since it was read") from None
        if codes[1:2] != [_CONDITION_FAILED]:
            raise
        if _count_admins(member.practice_id):
            raise Stale("the practice's admins were counted") from None  # counted just now: try again
        raise Conflict(
            "A practice keeps at least one admin: make another member an admin first.", code="last_admin"
        ) from None
    return changed


_CONDITION_FAILED = "ConditionalCheckFailed"
_COUNT_ATTEMPTS = 3
ADMIN_ROLE = "admin"


def _is_counted(member: Staff) -> bool:
    return member.role == ADMIN_ROLE and member.status != "deactivated"


def _count_in(tx: Any, practice_id: str, delta: int, *, keep_one: bool = True) -> None:
    """Adds `delta` to the practice's admin count inside `tx`, only once it is counted (and, for a decrease with
    `keep_one`, only while another admin remains)."""
    condition = PracticeItem.admins.exists()
    if delta < 0 and keep_one:
        condition &= PracticeItem.admins > -delta
    pk, sk = PracticeItem.key(practice_id)
    tx.update(PracticeItem(pk, sk), actions=[PracticeItem.admins.add(delta)], condition=condition)


def _count_admins(practice_id: str) -> bool:
    """A practice created before the count existed gets it: one consistent Query of its staff, written only if still
    absent. While it is absent every write that would change it fails, so the Query sees a settled set of admins.
    False when the practice already had its count (nothing written); NotFound without a practice."""
    pk, sk = PracticeItem.key(practice_id)
    try:
        item = PracticeItem.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        raise NotFound("No such practice.") from None
    if item.admins is not None:
        return False
    members = StaffItem.query(keys.practice_pk(practice_id), StaffItem.sk.startswith("STAFF#"), consistent_read=True)
    count = sum(1 for m in members if _is_counted(_staff_of(m)))
    try:
        PracticeItem(pk, sk).update(
            actions=[PracticeItem.admins.set(count)],
            condition=PracticeItem.pk.exists() & PracticeItem.admins.does_not_exist(),
        )
    except UpdateError as error:
        if error.cause_response_code != "ConditionalCheckFailedException":
            raise
    return True


def create_inbox(inbox: Inbox) -> None:
    pk, sk = InboxItem.key(inbox.practice_id, inbox.inbox_id)
    InboxItem(pk, sk, **_fields(inbox)).save(condition=InboxItem.pk.does_not_exist())


def get_inbox(practice_id: str, inbox_id: str) -> Inbox | None:
    try:
        item = InboxItem.get(*InboxItem.key(practice_id, inbox_id))
    except DoesNotExist:
        return None
    return Inbox(practice_id=item.practice_id, inbox_id=item.inbox_id, name=item.name, created_at=item.created_at)


def _fields(record: object) -> dict[str, Any]:
    return dict(vars(record))
