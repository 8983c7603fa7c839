"""R-AUTH-1 / R-AUTH-5 at the authorizer's handler: staff roles only from the user pool, never from a session token."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.adapters.clock import get_clock
from frontdesk.auth import Principal, issue_token
from infra.local import events
from infra.local.functions import invoke
from infra.template import wiring
from tests.conftest import secret_value
from tests.support import http_event

pytestmark = pytest.mark.integration


def _authorize(token: str) -> dict[str, Any]:
    wired = wiring()
    assert wired.authorizer is not None
    event = http_event("GET", "/staff", headers={"authorization": f"Bearer {token}"})
    return dict(invoke(wired.functions[wired.authorizer], events.authorizer_event(event)))


@pytest.mark.parametrize(
    "principal",
    [
        Principal(sub="s1", role="staff", practice_id="p1", staff_id="s1"),
        Principal(sub="a1", role="admin", practice_id="p1", staff_id="a1"),
        Principal(sub="support-1", role="support", practice_id=None),
    ],
    ids=lambda p: p.role,
)
def test_r_auth_1_a_staff_role_in_a_session_token_is_refused_even_signed_with_the_real_key(
    dynamodb: str, principal: Principal
) -> None:
    # Given the platform's own signing key (which signs patient and integration tokens)
    key, now = secret_value("jwt"), get_clock().now()
    patient = Principal(sub="pt1", role="patient", practice_id="p1", patient_id="pt1")
    assert _authorize(issue_token(patient, key, now, 3600))["context"]["role"] == "patient"
    # When a token of that key names a staff, admin or support role, Then the authorizer refuses it: those roles
    # come only from the user pool (R-AUTH-1)
    decision = _authorize(issue_token(principal, key, now, 3600))
    assert decision["context"] == {"auth_error": "invalid"}
