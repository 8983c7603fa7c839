"""R-AUTH-2 / R-AUTH-3 on DynamoDB Local and the template's user pool in moto: an invitation never leaves a staff
record without its user nor a user without its record, whichever step fails; the authorizer's member check."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from frontdesk.adapters.identity import LOCAL_MAILBOX, CognitoDirectory
from frontdesk.auth import Principal
from frontdesk.errors import Conflict
from frontdesk.services import practices, staff
from frontdesk.store import practices as store
from tests.support import unique_email, unique_phone

pytestmark = pytest.mark.integration
SUPPORT = Principal(sub="support-1", role="support", practice_id=None)


class FailingClient:
    """The real cognito-idp client, except that one operation fails as AWS can (throttled, service error)."""

    def __init__(self, client: Any, failing: str) -> None:
        self._client = client
        self._failing = failing
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name == "exceptions" or not callable(attribute):
            return attribute

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            if name == self._failing:
                raise ClientError({"Error": {"Code": "InternalErrorException", "Message": "boom"}}, name)
            return attribute(**kwargs)

        return call


@pytest.fixture
def pool(dynamodb: str, cognito: Any) -> Any:
    return cognito


def _client(pool: Any) -> Any:
    return boto3.client("cognito-idp", endpoint_url=pool.endpoint, region_name="us-east-1")


def _user_exists(pool: Any, email: str) -> bool:
    client = _client(pool)
    try:
        client.admin_get_user(UserPoolId=pool.user_pool_id, Username=email)
    except client.exceptions.UserNotFoundException:
        return False
    return True


def _practice() -> str:
    return practices.create_practice("Invitations", "US", unique_phone(), False).practice_id


@pytest.mark.parametrize("failing", ["admin_create_user", "admin_add_user_to_group"])
def test_r_auth_2_a_failing_identity_provider_leaves_neither_record_nor_user(pool: Any, failing: str) -> None:
    # Given a practice and an identity provider whose user creation (or group assignment) fails
    practice_id = _practice()
    email = unique_email()
    client = FailingClient(_client(pool), failing)
    directory = CognitoDirectory(pool.user_pool_id, client, local=True)
    # When support invites a member
    with pytest.raises(ClientError):
        practices.create_staff(SUPPORT, practice_id, "Ivy", email, "staff", directory=directory)
    # Then the failing step was reached, and neither the record nor the user exists
    assert failing in client.calls
    assert store.list_staff(practice_id) == []
    assert not _user_exists(pool, email)
    assert LOCAL_MAILBOX.messages(email) == []


def test_r_auth_2_a_failing_record_write_creates_no_user(pool: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the table refuses the staff record
    practice_id = _practice()
    email = unique_email()

    def refuse(_record: Any) -> None:
        raise RuntimeError("table unavailable")

    monkeypatch.setattr(store, "create_staff", refuse)
    client = FailingClient(_client(pool), failing="")
    # When support invites a member, Then no user was made in the pool
    with pytest.raises(RuntimeError):
        practices.create_staff(
            SUPPORT,
            practice_id,
            "Ivy",
            email,
            "staff",
            directory=CognitoDirectory(pool.user_pool_id, client, local=True),
        )
    assert client.calls == []
    assert not _user_exists(pool, email)


def test_r_auth_2_invitation_creates_both_with_custom_attributes_and_group(pool: Any) -> None:
    practice_id = _practice()
    email = unique_email()
    member = practices.create_staff(SUPPORT, practice_id, "Ivy", email, "admin")
    assert member.status == "invited"
    assert store.get_staff(practice_id, member.staff_id) == member
    client = _client(pool)
    user = client.admin_get_user(UserPoolId=pool.user_pool_id, Username=email)
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["custom:practice_id"] == practice_id and attributes["custom:staff_id"] == member.staff_id
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    groups = client.admin_list_groups_for_user(UserPoolId=pool.user_pool_id, Username=email)["Groups"]
    assert [g["GroupName"] for g in groups] == ["admin"]
    # The same email again, in any practice, is refused and leaves no second record
    with pytest.raises(Conflict) as refused:
        practices.create_staff(SUPPORT, _practice(), "Ivy", email, "staff")
    assert refused.value.code == "email_taken"


def test_r_auth_3_authorizer_admits_active_members_and_activates_invited_ones(pool: Any) -> None:
    practice_id = _practice()
    member = practices.create_staff(SUPPORT, practice_id, "Ivy", unique_email(), "staff")
    principal = Principal(sub=member.staff_id, role="staff", practice_id=practice_id, staff_id=member.staff_id)
    # An invited member's first request (they have a token: the first sign-in is done) makes them active
    assert staff.admit(principal)
    assert store.get_staff(practice_id, member.staff_id).status == "active"  # type: ignore[union-attr]
    # A deactivated member and a user without a record are refused; support has no record to check
    store.set_staff_status(practice_id, member.staff_id, "deactivated")
    assert not staff.admit(principal)
    stranger = Principal(sub="x", role="admin", practice_id=practice_id, staff_id="no-such-member")
    assert not staff.admit(stranger)
    assert staff.admit(SUPPORT)
    # A deactivated member is never made active by the invited -> active step
    assert not store.set_staff_status(practice_id, member.staff_id, "active", only_from="invited")


def test_r_auth_1_first_support_user_of_a_new_stack_from_the_command_line(
    pool: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from frontdesk.cli import main

    # When the operator runs `frontdesk create-support-user` against the stack's pool
    email = unique_email("support")
    command = ["create-support-user", "--email", email, "--user-pool-id", pool.user_pool_id]
    assert main([*command, "--endpoint-url", pool.endpoint]) == 0
    # Then the pool has the user, in the support group only, with no practice, waiting for its first sign-in
    client = _client(pool)
    user = client.admin_get_user(UserPoolId=pool.user_pool_id, Username=email)
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert not [a for a in user["UserAttributes"] if a["Name"].startswith("custom:")]
    groups = client.admin_list_groups_for_user(UserPoolId=pool.user_pool_id, Username=email)["Groups"]
    assert [g["GroupName"] for g in groups] == ["support"]
    # And running it again with the same email fails without changing anything
    assert main([*command, "--endpoint-url", pool.endpoint]) == 1
    assert "already exists" in capsys.readouterr().err
