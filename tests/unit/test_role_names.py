"""R-AUTH-1: the roles that sign in through the user pool are defined once (frontdesk.auth.POOL_ROLES); the template's
Cognito groups, the token check, the authorizer, the identity adapter and the local runner all follow it."""

from __future__ import annotations

from frontdesk import auth, cognito
from frontdesk.adapters import identity
from infra.template import load_template


def test_r_auth_1_the_templates_cognito_groups_are_the_pool_roles_strongest_first() -> None:
    # Given template.yaml's user pool groups
    groups = [
        resource["Properties"]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::Cognito::UserPoolGroup"
    ]
    # Then there is one group per pool role, and their precedence (lowest wins) orders them as POOL_ROLES does
    by_precedence = [g["GroupName"] for g in sorted(groups, key=lambda g: int(g["Precedence"]))]
    assert by_precedence == list(auth.POOL_ROLES)


def test_r_auth_1_a_user_in_several_groups_has_the_strongest_pool_role_and_no_other_group_is_a_role() -> None:
    # Given ID tokens whose user is in the staff and admin groups (a role change half-done), or in no pool role
    both = {"sub": "u", "cognito:groups": ["staff", "admin"], "custom:practice_id": "p", "custom:staff_id": "s"}
    other = {**both, "cognito:groups": ["patient", "integration", "billing"]}
    # Then the first is an admin, the second no principal at all
    principal = cognito.principal_of(both)
    assert principal is not None and principal.role == "admin"
    assert cognito.principal_of(other) is None
    # And the identity adapter moves a member between the same groups (it names no list of its own)
    assert identity.POOL_ROLES is auth.POOL_ROLES
