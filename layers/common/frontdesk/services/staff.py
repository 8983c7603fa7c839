"""The staff lifecycle after the invitation (R-AUTH-2, R-AUTH-3): listing, deactivation, reactivation, role changes,
and the authorizer's look-up of a member's status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from frontdesk.adapters.clock import Clock
from frontdesk.adapters.events import EventPublisher
from frontdesk.adapters.identity import CognitoDirectory, get_directory
from frontdesk.auth import Principal
from frontdesk.domain.practices import Staff
from frontdesk.errors import Conflict, NotFound
from frontdesk.services.patients import actor_of
from frontdesk.services.practices import practice_for_caller, require_practice
from frontdesk.services.retry import retry_on_stale
from frontdesk.store import listings as listings_store
from frontdesk.store import practices as store

if TYPE_CHECKING:
    from frontdesk.services.conversations import ConversationStore

DEACTIVATED_MESSAGE = "The staff member holding this conversation was deactivated: it is back in Unassigned."
_PAGE = 100


def list_staff(caller: Principal, practice_id: str | None) -> list[Staff]:
    target = practice_for_caller(caller, practice_id)
    if caller.role == "support":
        require_practice(target)
    return store.list_staff(target)


def _member(caller: Principal, practice_id: str | None, staff_id: str) -> Staff:
    target = practice_for_caller(caller, practice_id)
    member = store.get_staff(target, staff_id)
    if member is None:
        raise NotFound("No such staff member.")
    return member


def deactivate(
    caller: Principal,
    practice_id: str | None,
    staff_id: str,
    clock: Clock | None = None,
    directory: CognitoDirectory | None = None,
) -> Staff:
    """R-AUTH-3: the record first (the authorizer refuses the member's tokens from the next request), then Cognito
    (no sign-in, refresh tokens revoked), then every conversation they hold goes back to Unassigned with a
    `staff_deactivated` system message. Each step is idempotent: a retry after a failure finishes the job."""
    member = _member(caller, practice_id, staff_id)
    if caller.role != "support" and caller.staff_id == staff_id:
        raise Conflict("You cannot deactivate yourself.", code="cannot_deactivate_self")
    member = _set(member, status="deactivated")  # 409 last_admin for the last admin
    (directory or get_directory()).disable(member.email)
    release_conversations(member.practice_id, staff_id, actor_of(caller), clock)
    return Staff(**{**vars(member), "status": "deactivated"})


def release_conversations(
    practice_id: str,
    staff_id: str,
    actor: str,
    clock: Clock | None = None,
    *,
    publisher: EventPublisher | None = None,
    store: ConversationStore | None = None,
) -> int:
    """Moves every conversation the member holds to Unassigned, each with a `staff_deactivated` system message. The
    inbox listing (gsi2) is eventually consistent: an entry already handled is skipped (seen), and each move is
    conditioned on the member still holding the conversation, so a stale entry never moves one twice nor pulls back
    one reassigned meanwhile. Passes over the listing repeat until one finds nothing new."""
    from frontdesk.services import conversations

    lister = store.list_inbox if store is not None else listings_store.list_inbox
    seen: set[str] = set()
    moved = 0
    while True:
        new, start = 0, None
        while True:  # one pass, page by page
            page, start = lister(practice_id, f"staff#{staff_id}", _PAGE, start)
            for listing in page:
                if listing.conversation_id in seen or (listing.holder_type, listing.holder_id) != ("staff", staff_id):
                    continue
                seen.add(listing.conversation_id)
                new += 1
                if conversations.release(
                    practice_id,
                    actor,
                    listing,
                    staff_id,
                    DEACTIVATED_MESSAGE,
                    clock=clock,
                    publisher=publisher,
                    store=store,
                ):
                    moved += 1
            if start is None:
                break
        if not new:
            return moved


def reactivate(
    caller: Principal, practice_id: str | None, staff_id: str, directory: CognitoDirectory | None = None
) -> Staff:
    """Undoes a deactivation: Cognito first (the member can sign in again), then the record (their tokens are
    accepted again). Only a deactivated member changes: an invited member stays `invited` (they have not signed in
    yet; their first request makes them active) and an active one `active`, both answered as they are (idempotent,
    like deactivating twice). Enabling an active member's user again finishes a reactivation a failure cut short."""
    member = _member(caller, practice_id, staff_id)
    if member.status == "invited":
        return member
    (directory or get_directory()).enable(member.email)
    if member.status == "active":
        return member
    return _set(member, status="active", only_from="deactivated")


def change_role(caller: Principal, staff_id: str, role: str, directory: CognitoDirectory | None = None) -> Staff:
    """R-AUTH-3: the record first, where the rule that a practice keeps an admin holds (409 `last_admin`), then the
    Cognito group; the member's next token carries the new role. A failure after the record leaves the group as it
    was until the same request is made again (the record then already has the role, and the group follows)."""
    member = _set(_member(caller, None, staff_id), role=role)
    (directory or get_directory()).set_role(member.email, role)
    return member


def _concurrent() -> Exception:
    return Conflict("The staff member was changed at the same time; try again.", code="concurrent_update")


def _set(
    member: Staff,
    *,
    status: str | None = None,
    role: str | None = None,
    only_from: str | None = None,
) -> Staff:
    """The member (as just read) with the new status or role, written unless they already have it (or, with
    `only_from`, unless their status is something else now). A lost race reads the member again."""
    reads = iter([member])

    @retry_on_stale(3, exhausted=_concurrent)  # the member (or the admin count) changed since read: read again
    def attempt() -> Staff:
        current = next(reads, None) or store.get_staff(member.practice_id, member.staff_id, consistent=True)
        if current is None:
            raise NotFound("No such staff member.")
        if (status or current.status) == current.status and (role or current.role) == current.role:
            return current
        if only_from is not None and current.status != only_from:
            return current
        return store.change_staff(current, status=status, role=role)

    return attempt()


def admit(principal: Principal) -> bool:
    """The authorizer's check of a staff or admin Cognito token (R-AUTH-3): one GetItem on the member's record.
    A deactivated or unknown member is refused; an invited member's first request marks them active (a token
    exists only once Cognito's first sign-in, with its new password, is done)."""
    if principal.role not in ("staff", "admin"):
        return True
    if not principal.practice_id or not principal.staff_id:
        return False
    member = store.get_staff(principal.practice_id, principal.staff_id)
    if member is None or member.status == "deactivated":
        return False
    if member.status == "invited":
        store.set_staff_status(member.practice_id, member.staff_id, "active", only_from="invited")
    return True
