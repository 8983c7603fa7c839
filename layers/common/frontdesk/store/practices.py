"""Practices, their textable numbers, staff members and custom shared inboxes."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from frontdesk.domain.practices import Inbox, Practice, Staff
from frontdesk.errors import Conflict
from frontdesk.store import keys
from frontdesk.store.base import TableItem, cancellation_codes, transaction


class PracticeItem(TableItem, discriminator="Practice"):
    practice_id = UnicodeAttribute()
    name = UnicodeAttribute()
    country = UnicodeAttribute()
    textable_number = UnicodeAttribute()
    has_pm_integration = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()

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
    item = PracticeItem(pk, sk, **_fields(practice))
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
    try:
        with transaction() as tx:
            tx.save(StaffItem(pk, sk, **_fields(staff)), condition=StaffItem.pk.does_not_exist())
            tx.save(claim, condition=EmailClaimItem.pk.does_not_exist())
    except TransactWriteError as error:
        if "ConditionalCheckFailed" in cancellation_codes(error):
            raise Conflict("That email address is already used by a user.", field="email", code="email_taken") from None
        raise


def get_staff(practice_id: str, staff_id: str) -> Staff | None:
    try:
        item = StaffItem.get(*StaffItem.key(practice_id, staff_id))
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
    try:
        with transaction() as tx:
            tx.delete(StaffItem(pk, sk))
            tx.delete(EmailClaimItem(claim_pk, claim_sk), condition=EmailClaimItem.staff_id == staff_id)
    except TransactWriteError as error:
        if "ConditionalCheckFailed" not in cancellation_codes(error):
            raise
        StaffItem(pk, sk).delete()


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


def set_staff_role(practice_id: str, staff_id: str, role: str) -> bool:
    pk, sk = StaffItem.key(practice_id, staff_id)
    try:
        StaffItem(pk, sk).update(actions=[StaffItem.role.set(role)], condition=StaffItem.pk.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
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
