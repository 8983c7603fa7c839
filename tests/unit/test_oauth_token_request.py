"""R-AUTH-4: reading an OAuth 2.0 client credentials token request (RFC 6749 §4.4, §2.3.1, §3.2, §5.2)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_plus, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain import oauth
from frontdesk.domain.oauth import OAuthError, parse_token_request

FORM = "application/x-www-form-urlencoded"


def _basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: each part form-urlencoded, joined with ":", then base64.
    joined = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(joined.encode()).decode()


def _refusal(content_type: str, body: bytes, authorization: str | None = None) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        parse_token_request(content_type, body, authorization)
    return caught.value


def test_r_auth_4_form_body_credentials_are_read() -> None:
    # Given a form-encoded request with the client's id and secret in the body
    body = urlencode({"grant_type": "client_credentials", "client_id": "fdc_1", "client_secret": "s3cret"}).encode()
    # When it is read
    request = parse_token_request(FORM + "; charset=UTF-8", body, None)
    # Then the client is that id and secret, authenticated in the body
    assert (request.client_id, request.client_secret, request.basic) == ("fdc_1", "s3cret", False)


def test_r_auth_4_json_body_credentials_are_read() -> None:
    body = json.dumps({"grant_type": "client_credentials", "client_id": "fdc_1", "client_secret": "s"}).encode()
    request = parse_token_request("application/json", body, None)
    assert (request.client_id, request.client_secret) == ("fdc_1", "s")


@given(
    client_id=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
    secret=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60),
)
def test_r_auth_4_http_basic_decodes_any_id_and_secret_encoded_as_the_rfc_says(client_id: str, secret: str) -> None:
    # Given any id and secret, ":" "+" "%" and non-ASCII included, encoded per RFC 6749 §2.3.1
    # When the request is read
    request = parse_token_request(FORM, b"grant_type=client_credentials", _basic(client_id, secret))
    # Then exactly that id and secret come out, flagged as Basic
    assert (request.client_id, request.client_secret, request.basic) == (client_id, secret, True)


def test_r_auth_4_two_ways_of_client_authentication_is_invalid_request() -> None:
    body = b"grant_type=client_credentials&client_id=fdc_1&client_secret=s"
    error = _refusal(FORM, body, _basic("fdc_1", "s"))
    assert (error.error, error.status) == ("invalid_request", 400)


@pytest.mark.parametrize(
    "body",
    [b"client_id=a&client_secret=b", b"grant_type=&client_id=a&client_secret=b"],
    ids=["missing", "empty"],
)
def test_r_auth_4_no_grant_type_is_invalid_request(body: bytes) -> None:
    assert _refusal(FORM, body).error == "invalid_request"


def test_r_auth_4_another_grant_type_is_unsupported_grant_type() -> None:
    error = _refusal(FORM, b"grant_type=password&client_id=a&client_secret=b")
    assert (error.error, error.status) == ("unsupported_grant_type", 400)


def test_r_auth_4_a_repeated_parameter_is_invalid_request() -> None:
    # RFC 6749 §3.2: parameters MUST NOT be included more than once
    error = _refusal(FORM, b"grant_type=client_credentials&client_id=a&client_id=b&client_secret=s")
    assert error.error == "invalid_request"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"grant_type=client_credentials"),
        ("", b"grant_type=client_credentials"),
        ("application/json", b"[1]"),
        ("application/json", b"{not json"),
        ("application/json", b'{"grant_type": ["client_credentials"]}'),
        (FORM, b"\xff\xfe"),
    ],
)
def test_r_auth_4_a_malformed_body_is_invalid_request(content_type: str, body: bytes) -> None:
    assert _refusal(content_type, body).error == "invalid_request"


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer abc"],
    ids=["none", "bad-base64", "no-colon", "bearer"],
)
def test_r_auth_4_missing_or_malformed_client_authentication_is_invalid_client_401(authorization: str | None) -> None:
    error = _refusal(FORM, b"grant_type=client_credentials", authorization)
    assert (error.error, error.status) == ("invalid_client", 401)


def test_r_auth_4_error_descriptions_never_echo_what_was_sent() -> None:
    sent = "Maria-Lopez-1980"
    for body in (f"grant_type={sent}&client_id=a&client_secret=b", f"grant_type=x&client_id={sent}&client_id=b"):
        assert sent not in _refusal(FORM, body.encode()).description


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80)


@given(secret=TEXT, other=TEXT)
def test_r_auth_4_a_secret_matches_only_its_own_salted_hash(secret: str, other: str) -> None:
    salt = oauth.new_salt()
    stored = oauth.hash_secret(secret, salt)
    assert oauth.secret_matches(secret, salt, stored)
    assert oauth.secret_matches(other, salt, stored) == (other == secret)
    # the same secret under another salt gives another hash
    assert oauth.hash_secret(secret, oauth.new_salt()) != stored


def test_r_auth_4_new_secrets_are_long_random_and_form_safe() -> None:
    secrets = {oauth.new_client_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(s) >= 43 and quote_plus(s) == s for s in secrets)


@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"a": ' * 5_000 + b"1" + b"}" * 5_000, b"x" * 20_000])
def test_r_api_1_a_nested_or_oversized_token_request_is_invalid_request_not_a_500(body: bytes) -> None:
    # Given a JSON body nested far deeper than any parser's stack, or one larger than any token request
    # When it reaches the token endpoint  Then it is the RFC's invalid_request, never a crash
    with pytest.raises(OAuthError) as refused:
        parse_token_request("application/json", body, None)
    assert refused.value.error == "invalid_request"
