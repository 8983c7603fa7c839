"""R-AUTH-1 / R-AUTH-5: Cognito ID tokens are verified (RS256 only, JWKS, issuer, audience, token use, expiry by
our clock) and mapped to the API's principal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from frontdesk.auth import InvalidToken
from frontdesk.cognito import REFETCH_AFTER_SECONDS, CognitoVerifier

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT = "client123"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    entry = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    entry.update(kid=kid, alg="RS256", use="sig")
    return entry


class Jwks:
    """The pool's JWKS endpoint, counting downloads."""

    def __init__(self, *keys: tuple[Any, str]) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def __call__(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": [_jwk(key, kid) for key, kid in self.keys]}


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "cognito-sub-1",
        "token_use": "id",
        "iat": int(NOW.timestamp()) - 10,
        "exp": int(NOW.timestamp()) + 3600,
        "cognito:groups": ["staff"],
        "custom:practice_id": "p1",
        "custom:staff_id": "s1",
        "email": "sam@example.org",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any], key: Any = KEY, kid: str = "k1") -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _verifier(jwks: Jwks) -> CognitoVerifier:
    return CognitoVerifier(ISSUER, CLIENT, "https://example.invalid/jwks.json", fetch=jwks)


def test_r_auth_1_id_token_maps_groups_and_custom_attributes_to_the_principal() -> None:
    # Given a staff member's ID token and an admin's, a support user's (no practice)
    verifier = _verifier(Jwks((KEY, "k1")))
    # When they are verified
    staff = verifier.verify(_token(_claims()), NOW)
    admin = verifier.verify(_token(_claims(**{"cognito:groups": ["staff", "admin"]})), NOW)
    support = verifier.verify(
        _token(_claims(**{"cognito:groups": ["support"], "custom:practice_id": None, "custom:staff_id": None})), NOW
    )
    # Then role comes from the strongest group, practice and staff id from the custom attributes
    assert (staff.role, staff.practice_id, staff.staff_id, staff.sub) == ("staff", "p1", "s1", "s1")
    assert admin.role == "admin"
    assert (support.role, support.practice_id, support.sub) == ("support", None, "cognito-sub-1")


def test_r_auth_5_jwks_is_fetched_once_per_container_and_again_for_an_unknown_key() -> None:
    # Given a verifier (one per container) and the pool's JWKS
    jwks = Jwks((KEY, "k1"))
    verifier = _verifier(jwks)
    # When a hundred tokens are verified
    for _ in range(100):
        verifier.verify(_token(_claims()), NOW)
    # Then the JWKS was downloaded once
    assert jwks.fetches == 1
    # When the pool rotates to a new key and a token names it (after the refetch interval)
    jwks.keys.append((OTHER_KEY, "k2"))
    later = NOW + timedelta(seconds=REFETCH_AFTER_SECONDS + 1)
    assert verifier.verify(_token(_claims(), OTHER_KEY, "k2"), later).staff_id == "s1"
    # Then it was downloaded once more, and tokens of either key still pass without another download
    assert jwks.fetches == 2
    verifier.verify(_token(_claims()), later)
    verifier.verify(_token(_claims(), OTHER_KEY, "k2"), later)
    assert jwks.fetches == 2


def test_r_auth_5_unknown_key_ids_cannot_make_every_request_download_the_jwks() -> None:
    jwks = Jwks((KEY, "k1"))
    verifier = _verifier(jwks)
    verifier.verify(_token(_claims()), NOW)
    for n in range(20):
        with pytest.raises(InvalidToken):
            verifier.verify(_token(_claims(), OTHER_KEY, f"random-{n}"), NOW + timedelta(seconds=n))
    assert jwks.fetches == 1


def _hs256(claims: dict[str, Any], secret: bytes, kid: str = "k1") -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_r_auth_5_hs256_token_signed_with_the_public_key_is_refused() -> None:
    # Given an attacker who signs a token with HS256, using the pool's public key (PEM or JWK text) as the secret
    verifier = _verifier(Jwks((KEY, "k1")))
    pem = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in (pem, json.dumps(_jwk(KEY, "k1")).encode()):
        # When it is verified, Then it is refused (only RS256 is accepted)
        with pytest.raises(InvalidToken, match="algorithm"):
            verifier.verify(_hs256(_claims(**{"cognito:groups": ["admin"]}), secret), NOW)


def test_r_auth_5_unsigned_token_is_refused() -> None:
    verifier = _verifier(Jwks((KEY, "k1")))
    unsigned = jwt.encode(_claims(), None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        verifier.verify(unsigned, NOW)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"iss": "https://cognito-idp.us-east-1.amazonaws.com/another-pool"}, KEY),  # another pool
        ({"aud": "another-client"}, KEY),  # another app client
        ({"token_use": "access"}, KEY),  # an access token
        ({"exp": int(NOW.timestamp())}, KEY),  # expired by our clock
        ({"cognito:groups": []}, KEY),  # no role
        ({"cognito:groups": ["staff"], "custom:staff_id": None}, KEY),  # staff without a staff id
        ({"cognito:groups": ["admin"], "custom:practice_id": None}, KEY),  # admin without a practice
        ({}, OTHER_KEY),  # signed by a key the pool does not have, under the pool's kid
    ],
)
def test_r_auth_5_tokens_failing_any_check_are_refused(overrides: dict[str, Any], key: Any) -> None:
    verifier = _verifier(Jwks((KEY, "k1")))
    claims = _claims(**overrides)
    for name in [k for k, v in overrides.items() if v is None]:
        claims.pop(name, None)
    with pytest.raises(InvalidToken):
        verifier.verify(_token(claims, key), NOW)


def test_r_auth_5_expiry_is_checked_against_our_clock_not_the_wall_clock() -> None:
    verifier = _verifier(Jwks((KEY, "k1")))
    token = _token(_claims())
    assert verifier.verify(token, NOW + timedelta(seconds=3599)).staff_id == "s1"
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token, NOW + timedelta(seconds=3600))


@settings(max_examples=40, deadline=None)
@given(position=st.integers(min_value=0, max_value=10_000), flip=st.integers(min_value=1, max_value=255))
def test_r_auth_5_any_changed_byte_of_a_token_is_refused(position: int, flip: int) -> None:
    verifier = _verifier(Jwks((KEY, "k1")))
    token = _token(_claims())
    header_end = token.index(".")
    index = header_end + 1 + position % (len(token) - header_end - 1)
    if token[index] == ".":
        return
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[(alphabet.index(token[index]) + flip) % len(alphabet)]
    tampered = token[:index] + replacement + token[index + 1 :]
    if tampered == token:
        return
    try:
        principal = verifier.verify(tampered, NOW)
    except InvalidToken:
        return
    # base64url's last character can carry padding bits that decode to the same bytes: the same token
    assert principal.staff_id == "s1" and index == len(token) - 1
