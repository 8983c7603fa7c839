"""R-AUTH-4: integration client credentials and the token exchange, service and store against DynamoDB Local."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from frontdesk import secrets
from frontdesk.auth import Principal, verify_token
from frontdesk.domain.oauth import OAuthError, TokenRequest, TooManyFailures
from frontdesk.ids import new_id
from frontdesk.services import credentials as service
from frontdesk.store import credentials as store
from frontdesk.store.base import TableItem

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def admin(dynamodb: str) -> Principal:
    practice_id = new_id()
    return Principal(sub="a1", role="admin", practice_id=practice_id, staff_id="a1")


def _request(client_id: str, secret: str, basic: bool = False) -> TokenRequest:
    return TokenRequest("client_credentials", client_id, secret, basic)


def test_r_auth_4_the_secret_is_shown_once_and_stored_only_as_a_salted_hash(admin: Principal) -> None:
    # Given a credential an admin just created
    created = service.create(admin, "Athena feed", NOW)
    # When every item of the practice's partition and the client look-up are read raw
    assert admin.practice_id is not None
    raw = [item.attribute_values for item in TableItem.query(f"PRACTICE#{admin.practice_id}")]
    raw += [TableItem.get(f"CLIENT#{created.credential.client_id}", "CLIENT").attribute_values]
    # Then the secret is in none of them, and the listing carries no secret either
    assert created.client_secret and created.client_secret not in repr(raw)
    listed = service.list_for(admin).items
    assert [c.credential_id for c in listed] == [created.credential.credential_id]
    assert created.client_secret not in repr(listed)


def test_r_auth_4_the_right_secret_gets_a_short_lived_integration_token_for_the_practice(admin: Principal) -> None:
    created = service.create(admin, "feed", NOW)
    # When the client exchanges its id and secret
    issued = service.exchange(_request(created.credential.client_id, created.client_secret), NOW)
    # Then the token is an integration bearer of that practice and credential, valid 15 minutes
    principal = verify_token(issued.access_token, secrets.get("jwt"), NOW)
    assert (principal.role, principal.practice_id) == ("integration", admin.practice_id)
    assert principal.credential_id == created.credential.credential_id
    assert issued.expires_in == 900
    assert service.token_is_current(principal)
    with pytest.raises(Exception, match="expired"):
        verify_token(issued.access_token, secrets.get("jwt"), NOW + timedelta(seconds=900))


@pytest.mark.parametrize("case", ["wrong secret", "unknown client", "revoked"])
def test_r_auth_4_wrong_unknown_or_revoked_credentials_are_invalid_client(admin: Principal, case: str) -> None:
    created = service.create(admin, "feed", NOW)
    client_id, secret = created.credential.client_id, created.client_secret
    if case == "wrong secret":
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    elif case == "unknown client":
        client_id = "fdc_" + new_id()
    else:
        service.revoke(admin, created.credential.credential_id, NOW)
    with pytest.raises(OAuthError) as caught:
        service.exchange(_request(client_id, secret, basic=True), NOW)
    assert (caught.value.error, caught.value.status, caught.value.basic) == ("invalid_client", 401, True)


def test_r_auth_4_a_revoked_credentials_tokens_are_refused_by_the_authorizer_check(admin: Principal) -> None:
    # Given a token issued before its credential is revoked
    created = service.create(admin, "feed", NOW)
    token = service.exchange(_request(created.credential.client_id, created.client_secret), NOW).access_token
    principal = verify_token(token, secrets.get("jwt"), NOW)
    assert service.token_is_current(principal)
    # When the admin revokes it (twice: idempotent, the first time is kept)
    service.revoke(admin, created.credential.credential_id, NOW)
    service.revoke(admin, created.credential.credential_id, NOW + timedelta(hours=1))
    # Then the still-unexpired token is no longer current, and the listing shows when it was revoked
    assert not service.token_is_current(principal)
    assert [c.revoked_at for c in service.list_for(admin).items] == [NOW]


def test_r_auth_4_an_integration_token_without_a_credential_is_not_current() -> None:
    forged = Principal(sub="pm", role="integration", practice_id="p1")
    assert not service.token_is_current(forged)


def test_r_auth_4_admins_manage_only_their_own_practices_credentials(admin: Principal) -> None:
    created = service.create(admin, "feed", NOW)
    other = Principal(sub="b1", role="admin", practice_id=new_id(), staff_id="b1")
    assert service.list_for(other).items == []
    with pytest.raises(Exception) as caught:
        service.revoke(other, created.credential.credential_id, NOW)
    assert getattr(caught.value, "status", None) == 404
    assert service.list_for(admin).items[0].revoked_at is None
    for role in ("staff", "support", "integration"):
        who = Principal(sub="x", role=role, practice_id=admin.practice_id, staff_id="x")
        with pytest.raises(Exception) as refused:
            service.create(who, "feed", NOW)
        assert getattr(refused.value, "status", None) == 403


def test_r_auth_4_after_max_failures_in_a_window_even_the_right_secret_is_429(admin: Principal) -> None:
    created = service.create(admin, "feed", NOW)
    client_id = created.credential.client_id
    # Given MAX_FAILURES wrong secrets for one client id in one window
    for _ in range(service.MAX_FAILURES):
        with pytest.raises(OAuthError):
            service.exchange(_request(client_id, "guess"), NOW)
    # When the right secret comes next, in the same window
    with pytest.raises(TooManyFailures) as caught:
        service.exchange(_request(client_id, created.client_secret), NOW + timedelta(seconds=30))
    # Then it is refused too, and told when to come back
    assert 0 < caught.value.retry_after <= service.FAILURE_WINDOW_SECONDS
    # And in the next window the right secret works again
    later = NOW + timedelta(seconds=service.FAILURE_WINDOW_SECONDS)
    assert service.exchange(_request(client_id, created.client_secret), later).access_token


def test_r_auth_4_concurrent_failures_never_count_past_the_limit(dynamodb: str) -> None:
    # Given 30 wrong guesses for one client id at once
    client_id = "fdc_" + new_id()
    outcomes: list[str] = []
    lock = threading.Lock()

    def guess() -> None:
        try:
            service.exchange(_request(client_id, "guess"), NOW)
            outcome = "token"
        except OAuthError as error:  # TooManyFailures is one too: 429
            outcome = error.error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly MAX_FAILURES were answered invalid_client (the conditional counter), the rest 429
    assert outcomes.count("invalid_client") == service.MAX_FAILURES
    assert outcomes.count("too_many_attempts") == 30 - service.MAX_FAILURES
    window = int(NOW.timestamp()) // service.FAILURE_WINDOW_SECONDS
    assert store.failures(client_id, window) == service.MAX_FAILURES


def test_r_auth_4_a_credential_name_is_required(admin: Principal) -> None:
    for name in ("", "   ", "x" * 101):
        with pytest.raises(Exception) as caught:
            service.create(admin, name, NOW)
        assert getattr(caught.value, "field", None) == "name"
