"""R-AUTH-3 on DynamoDB Local and the template's user pool in moto: reactivation only undoes a deactivation, and a
practice never loses its last admin — not by a demotion, not by a deactivation, not by two admins demoting each
other at the same moment (the practice's admin count is conditioned in the same transaction as the member)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from frontdesk.auth import Principal
from frontdesk.domain.practices import Staff
from frontdesk.errors import Conflict
from frontdesk.services import practices, staff
from frontdesk.store import practices as store
from frontdesk.store.practices import PracticeItem
from tests.support import unique_email, unique_phone

pytestmark = pytest.mark.integration
SUPPORT = Principal(sub="support-1", role="support", practice_id=None)


@pytest.fixture
def pool(dynamodb: str, cognito: Any) -> Any:
    return cognito


def _practice() -> str:
    return practices.create_practice("Admins", "US", unique_phone(), False).practice_id


def _admin(member: Staff) -> Principal:
    return Principal(sub=member.staff_id, role="admin", practice_id=member.practice_id, staff_id=member.staff_id)


def _groups(pool: Any, email: str) -> list[str]:
    client = boto3.client("cognito-idp", endpoint_url=pool.endpoint, region_name="us-east-1")
    groups = client.admin_list_groups_for_user(UserPoolId=pool.user_pool_id, Username=email)["Groups"]
    return sorted(g["GroupName"] for g in groups)


def _admins_counted(practice_id: str) -> int | None:
    item = PracticeItem.get(*PracticeItem.key(practice_id), consistent_read=True)
    return None if item.admins is None else int(item.admins)


def _signed_in(member: Staff) -> Staff:
    """The member's first accepted request (the authorizer turns invited into active)."""
    principal = Principal(
        sub=member.staff_id, role=member.role, practice_id=member.practice_id, staff_id=member.staff_id
    )
    assert staff.admit(principal)
    found = store.get_staff(member.practice_id, member.staff_id, consistent=True)
    assert found is not None and found.status == "active"
    return found


def test_r_auth_3_reactivating_an_invited_member_leaves_them_invited(pool: Any) -> None:
    # Given a member invited but never signed in, and an active member
    practice_id = _practice()
    invited = practices.create_staff(SUPPORT, practice_id, "Ivy", unique_email(), "staff")
    active = _signed_in(practices.create_staff(SUPPORT, practice_id, "Al", unique_email(), "staff"))
    choice = {"practice_id": practice_id}
    # When support reactivates both
    answers = [staff.reactivate(SUPPORT, choice["practice_id"], m.staff_id) for m in (invited, active)]
    # Then each is answered and stays as they were: the invited member is not made active by it
    assert [a.status for a in answers] == ["invited", "active"]
    assert store.get_staff(practice_id, invited.staff_id, consistent=True).status == "invited"  # type: ignore[union-attr]
    # And a deactivated member is what reactivation changes
    staff.deactivate(SUPPORT, practice_id, active.staff_id)
    assert staff.reactivate(SUPPORT, practice_id, active.staff_id).status == "active"
    assert store.get_staff(practice_id, active.staff_id, consistent=True).status == "active"  # type: ignore[union-attr]


def test_r_auth_3_the_last_admin_can_be_neither_demoted_nor_deactivated(pool: Any) -> None:
    # Given a practice whose only admin signed in, and a staff member
    practice_id = _practice()
    email = unique_email("ada")
    ada = _signed_in(practices.create_staff(SUPPORT, practice_id, "Ada", email, "admin"))
    practices.create_staff(SUPPORT, practice_id, "Sam", unique_email(), "staff")
    assert _admins_counted(practice_id) == 1
    # When she demotes herself, Then 409 last_admin, and neither the record nor her Cognito group changed
    with pytest.raises(Conflict) as demoted:
        staff.change_role(_admin(ada), ada.staff_id, "staff")
    assert demoted.value.status == 409 and demoted.value.code == "last_admin"
    assert store.get_staff(practice_id, ada.staff_id, consistent=True).role == "admin"  # type: ignore[union-attr]
    assert _groups(pool, email) == ["admin"]
    # When support deactivates her, Then 409 last_admin too, and she is still active
    with pytest.raises(Conflict) as deactivated:
        staff.deactivate(SUPPORT, practice_id, ada.staff_id)
    assert deactivated.value.code == "last_admin"
    assert store.get_staff(practice_id, ada.staff_id, consistent=True).status == "active"  # type: ignore[union-attr]
    assert _admins_counted(practice_id) == 1


def test_r_auth_3_two_admins_demoting_each_other_at_once_leave_one_admin(pool: Any) -> None:
    # Given two admins
    practice_id = _practice()
    ada = _signed_in(practices.create_staff(SUPPORT, practice_id, "Ada", unique_email(), "admin"))
    bob = _signed_in(practices.create_staff(SUPPORT, practice_id, "Bob", unique_email(), "admin"))
    assert _admins_counted(practice_id) == 2
    # When each demotes the other at the same moment (both read before either writes)
    both_read, waited = threading.Barrier(2), set[str]()
    read = store.get_staff

    def get_staff(practice: str, staff_id: str, *, consistent: bool = False) -> Staff | None:
        found = read(practice, staff_id, consistent=consistent)
        name = threading.current_thread().name
        if name.startswith("demote") and name not in waited:  # the first read of each: then both write
            waited.add(name)
            both_read.wait(timeout=10)
        return found

    outcomes: list[str] = []

    def demote(caller: Staff, target: Staff) -> None:
        try:
            staff.change_role(_admin(caller), target.staff_id, "staff")
            outcomes.append("demoted")
        except Conflict as refused:
            outcomes.append(refused.code)

    store_get_staff, store.get_staff = store.get_staff, get_staff  # type: ignore[assignment]
    try:
        threads = [
            threading.Thread(target=demote, args=pair, name=f"demote-{i}")
            for i, pair in enumerate([(ada, bob), (bob, ada)])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        store.get_staff = store_get_staff  # type: ignore[assignment]
    # Then one demotion went through and the other was refused: the practice keeps exactly one admin
    assert sorted(outcomes) == ["demoted", "last_admin"]
    roles = [m.role for m in store.list_staff(practice_id)]
    assert roles.count("admin") == 1 and _admins_counted(practice_id) == 1


def test_r_auth_3_counts_follow_promotions_reactivations_and_undone_invitations(pool: Any) -> None:
    # Given an admin and a staff member promoted to admin
    practice_id = _practice()
    ada = _signed_in(practices.create_staff(SUPPORT, practice_id, "Ada", unique_email(), "admin"))
    sam = _signed_in(practices.create_staff(SUPPORT, practice_id, "Sam", unique_email(), "staff"))
    staff.change_role(_admin(ada), sam.staff_id, "admin")
    assert _admins_counted(practice_id) == 2
    # When Ada deactivates Sam, Then Ada is the last admin again; reactivated, Sam counts again
    staff.deactivate(_admin(ada), None, sam.staff_id)
    assert _admins_counted(practice_id) == 1
    staff.reactivate(_admin(ada), None, sam.staff_id)
    assert _admins_counted(practice_id) == 2
    # And an admin invitation undone (the user could not be made) is counted out with its record
    invited = practices.create_staff(SUPPORT, practice_id, "Ivy", unique_email(), "admin")
    assert _admins_counted(practice_id) == 3
    store.delete_staff(practice_id, invited.staff_id, invited.email)
    store.delete_staff(practice_id, invited.staff_id, invited.email)  # a retried undo counts nothing twice
    assert _admins_counted(practice_id) == 2
    # So Ada may now step down
    assert staff.change_role(_admin(ada), ada.staff_id, "staff").role == "staff"
    assert _admins_counted(practice_id) == 1


def test_r_auth_3_a_practice_from_before_the_count_is_counted_at_its_first_change(pool: Any) -> None:
    # Given a practice with two admins whose item has no admin count (written before it existed)
    practice_id = _practice()
    ada = _signed_in(practices.create_staff(SUPPORT, practice_id, "Ada", unique_email(), "admin"))
    bob = _signed_in(practices.create_staff(SUPPORT, practice_id, "Bob", unique_email(), "admin"))
    PracticeItem(*PracticeItem.key(practice_id)).update(actions=[PracticeItem.admins.remove()])
    assert _admins_counted(practice_id) is None
    # When Ada demotes Bob, Then the practice is counted and the demotion goes through
    assert staff.change_role(_admin(ada), bob.staff_id, "staff").role == "staff"
    assert _admins_counted(practice_id) == 1
    # And Ada, now the last admin, cannot step down
    with pytest.raises(Conflict) as refused:
        staff.change_role(_admin(ada), ada.staff_id, "staff")
    assert refused.value.code == "last_admin"
