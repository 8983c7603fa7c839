"""Practices, staff and custom shared inboxes."""

from __future__ import annotations

from frontdesk.adapters.clock import Clock, get_clock
from frontdesk.adapters.identity import CognitoDirectory, get_directory
from frontdesk.auth import Principal
from frontdesk.domain.patients import clean_name
from frontdesk.domain.phones import normalize_phone
from frontdesk.domain.practices import Inbox, Practice, Staff
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.ids import new_id
from frontdesk.store import practices as store

SUPPORTED_COUNTRIES = ("US",)


def create_practice(
    name: str, country: str, textable_number: str, has_pm_integration: bool, clock: Clock | None = None
) -> Practice:
    if country not in SUPPORTED_COUNTRIES:
        raise ValidationFailed("Only US practices are supported.", field="country")
    practice = Practice(
        practice_id=new_id(),
        name=clean_name(name, field="name"),
        country=country,
        textable_number=normalize_phone(textable_number, country, field="textable_number"),
        has_pm_integration=has_pm_integration,
        created_at=(clock or get_clock()).now(),
    )
    store.create_practice(practice)
    return practice


def require_practice(practice_id: str) -> Practice:
    practice = store.get_practice(practice_id)
    if practice is None:
        raise NotFound("No such practice.")
    return practice


def practice_for_caller(caller: Principal, body_practice_id: str | None) -> str:
    """Support works across practices and names one; everyone else acts in the practice of their token."""
    if caller.role == "support":
        if not body_practice_id:
            raise ValidationFailed("practice_id is required for support users.", field="practice_id")
        return body_practice_id
    if body_practice_id and body_practice_id != caller.practice_id:
        raise Forbidden("You cannot act for another practice.")
    assert caller.practice_id is not None
    return caller.practice_id


def create_staff(
    caller: Principal,
    practice_id: str | None,
    name: str,
    email: str,
    role: str,
    clock: Clock | None = None,
    directory: CognitoDirectory | None = None,
) -> Staff:
    target = practice_for_caller(caller, practice_id)
    require_practice(target)
    address = email.strip()
    if "@" not in address or len(address) > 254 or address.startswith("@") or address.endswith("@"):
        raise ValidationFailed("A valid email address is required.", field="email")
    staff = Staff(
        practice_id=target,
        staff_id=new_id(),
        name=clean_name(name, field="name"),
        email=address,
        role=role,
        created_at=(clock or get_clock()).now(),
        status="invited",
    )
    # R-AUTH-2: the record first (conditional), then the user; if the user cannot be made the record goes again,
    # so neither exists without the other. (The user's own half-failures are undone inside invite.)
    store.create_staff(staff)
    try:
        (directory or get_directory()).invite(address, role, target, staff.staff_id)
    except BaseException:
        store.delete_staff(target, staff.staff_id, staff.email)
        raise
    return staff


RESERVED_INBOX_NAMES = ("unassigned",)  # the platform's own shared inbox (R-ROUTE-1); compared case-insensitively


def create_inbox(practice_id: str, name: str, clock: Clock | None = None) -> Inbox:
    cleaned = clean_name(name, field="name")
    if cleaned.casefold() in RESERVED_INBOX_NAMES:
        raise Conflict(
            "Unassigned is the platform's own inbox; choose another name.", field="name", code="inbox_name_reserved"
        )
    inbox = Inbox(
        practice_id=practice_id,
        inbox_id=new_id(),
        name=cleaned,
        created_at=(clock or get_clock()).now(),
    )
    store.create_inbox(inbox)
    return inbox
