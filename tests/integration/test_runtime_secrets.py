"""R-AUTH-5: signing keys and provider secrets read at run time from Secrets Manager (moto's server, the same code
path as AWS), failing closed when one is missing or empty, and a key rotation that logs nobody out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from frontdesk import secrets
from frontdesk.adapters.clock import LOCAL_CLOCK
from frontdesk.auth import Principal, issue_token
from frontdesk.settings import SECRET_ID_VARIABLES, get_settings
from infra.local import events
from infra.local.functions import invoke
from infra.template import load_template, wiring
from tests.support import http_event, invoke_route, sign

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


def _client() -> Any:
    return boto3.client("secretsmanager", endpoint_url=get_settings().secrets_endpoint, region_name="us-east-1")


@pytest.fixture
def misconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Lets a test point a secret's id elsewhere; settings and the secrets cache are rebuilt before and after."""

    def point(name: str, secret_id: str | None) -> None:
        variable = SECRET_ID_VARIABLES[name]
        if secret_id is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, secret_id)
        get_settings.cache_clear()
        secrets.clear_cache()

    yield point
    monkeypatch.undo()
    get_settings.cache_clear()
    secrets.clear_cache()


def _authorize(token: str) -> dict[str, Any]:
    wired = wiring()
    assert wired.authorizer is not None
    event = http_event("GET", "/patient/conversation", headers={"authorization": f"Bearer {token}"})
    return dict(invoke(wired.functions[wired.authorizer], events.authorizer_event(event)))


def _webhook() -> Any:
    raw = json.dumps({"provider_message_id": "m1", "from": "+12125550100", "to": "+12125550101", "body": "hi"})
    return invoke_route(
        "POST", "/webhooks/sms", raw.encode(), headers={"x-frontdesk-signature": sign(raw.encode(), "x")}
    )


def test_r_auth_5_no_secret_value_is_in_any_environment_variable_of_the_template() -> None:
    # Given the template, Globals and every function
    template = load_template()
    blocks = [template["Globals"]["Function"]["Environment"]["Variables"]]
    blocks += [
        (r["Properties"].get("Environment") or {}).get("Variables") or {}
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    ]
    text = json.dumps(blocks) + json.dumps(template.get("Outputs", {}))
    # Then no variable or output resolves a secret's value; the secrets are named by !Ref (their ARN) only
    assert "resolve:secretsmanager" not in text
    assert {"JWT_SECRET", "WEBHOOK_SECRET"}.isdisjoint(k for block in blocks for k in block)
    # And each function may read exactly the secrets whose ids it is given
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        given = {
            v["Ref"]
            for v in ((resource["Properties"].get("Environment") or {}).get("Variables") or {}).values()
            if isinstance(v, dict) and str(v.get("Ref", "")).endswith("Secret")
        }
        allowed = {
            ref["Ref"] if isinstance(ref, dict) else ref
            for policy in resource["Properties"].get("Policies", [])
            if isinstance(policy, dict)
            for statement in policy.get("Statement", [])
            if "secretsmanager:GetSecretValue" in statement.get("Action", [])
            for ref in statement["Resource"]
        }
        assert given == allowed, resource["Properties"]["CodeUri"]


def test_r_auth_5_secrets_are_read_from_secrets_manager_not_the_environment() -> None:
    # Given the local Secrets Manager holds the signing key
    value = _client().get_secret_value(SecretId=secrets.secret_id("jwt"))["SecretString"]
    # Then that is the key the functions use
    assert secrets.get("jwt") == value and len(value) >= 32


@pytest.mark.parametrize("how", ["not found", "empty"])
def test_r_auth_5_a_missing_or_empty_secret_makes_every_request_fail_closed(
    misconfigured: Any, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the webhook secret is missing from Secrets Manager, or holds only blanks
    secret_id = "frontdesk-local/NoSuchSecret"
    if how == "empty":
        secret_id = "frontdesk-local/BlankSecret"
        try:
            _client().create_secret(Name=secret_id, SecretString="   ")
        except _client().exceptions.ResourceExistsException:
            pass
    misconfigured("webhook", secret_id)
    # When a webhook, a patient's request and a login request arrive
    answers = [_webhook(), invoke_route("GET", "/patient/conversation"), invoke_route("POST", "/patient/login", {})]
    # Then each is refused with a 503 in API.md's shape, nothing about the secret in the body
    for reply in answers:
        assert reply.status == 503 and reply.error_code == "service_unavailable", reply
        assert "secret" not in json.dumps(reply.body).lower()
    # And the authorizer refuses even a valid token
    patient = Principal(sub="p", role="patient", practice_id="x", patient_id="p")
    token = issue_token(patient, secrets.get("jwt"), LOCAL_CLOCK.now(), 60)
    assert _authorize(token) == {"isAuthorized": False}
    # And the log says which secret and why, without a value
    refusals = [r for r in caplog.records if "a secret is unavailable" in r.getMessage()]
    assert len(refusals) == 4
    reasons = {str(getattr(r, "reason", "")) for r in refusals}
    assert reasons == {f"secret 'webhook': {'not found' if how == 'not found' else 'empty'}"}


def test_r_auth_5_a_function_that_was_never_given_a_secret_refuses_what_needs_it(
    dynamodb: str, misconfigured: Any
) -> None:
    # Given a valid client credential, and then the signing key's id is not configured at all (no variable)
    from frontdesk.services import credentials

    admin = Principal(sub="a", role="admin", practice_id="prac-secrets", staff_id="a")
    created = credentials.create(admin, "feed", NOW)
    misconfigured("jwt", None)
    with pytest.raises(secrets.SecretUnavailable, match="no id configured"):
        secrets.get("jwt")
    # When the client asks for a token: 503 in API.md's shape, never a token signed with an empty key
    form = (
        f"grant_type=client_credentials&client_id={created.credential.client_id}&client_secret={created.client_secret}"
    )
    reply = invoke_route(
        "POST", "/integrations/token", form.encode(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert reply.status == 503 and reply.error_code == "service_unavailable", reply
    # And the authorizer refuses outright
    assert _authorize("a.b.c") == {"isAuthorized": False}


def test_r_auth_5_rotating_the_signing_key_logs_nobody_out(misconfigured: Any) -> None:
    # Given a patient token signed with the current key
    patient = Principal(sub="p1", role="patient", practice_id="x1", patient_id="p1")
    now = LOCAL_CLOCK.now()  # the authorizer's clock
    old_token = issue_token(patient, secrets.get("jwt"), now, 3600)
    old_key = secrets.get("jwt")
    # When the key is rotated (a new AWSCURRENT; the old one becomes AWSPREVIOUS) and the cache has aged out
    _client().put_secret_value(SecretId=secrets.secret_id("jwt"), SecretString="rotated-" + old_key[8:])
    secrets.clear_cache()
    # Then new tokens are signed with the new key, and the old token is still accepted
    assert secrets.get("jwt") != old_key and secrets.previous("jwt") == old_key
    assert _authorize(old_token)["context"].get("patient_id") == "p1"
    new_token = issue_token(patient, secrets.get("jwt"), now, 3600)
    assert _authorize(new_token)["context"].get("patient_id") == "p1"
    # And a token under neither key is refused
    forged = issue_token(patient, "not-the-key-0123456789abcdef0123456789", now, 3600)
    assert _authorize(forged)["context"] == {"auth_error": "invalid"}


def test_r_auth_5_a_secret_is_fetched_once_per_max_age_not_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a warm cache
    secrets.clear_cache()
    secrets.get("jwt")
    calls: list[str] = []
    provider = secrets._provider("AWSCURRENT")
    original = provider._get
    monkeypatch.setattr(provider, "_get", lambda name, **kw: calls.append(name) or original(name, **kw))
    # When 50 requests read the key and its previous version
    for _ in range(50):
        secrets.keys("jwt")
    # Then Secrets Manager was not asked again (cached for MAX_AGE_SECONDS, absence of AWSPREVIOUS included)
    assert calls == []
    assert secrets.MAX_AGE_SECONDS <= 300
