"""The authorizer per request, as the runner invokes it (its real lambda_handler, one warm container): a staff
member's Cognito ID token (RS256 against the pool's JWKS, then the member's status: one GetItem on DynamoDB Local)
and a patient's session token (HS256). Also counts the JWKS downloads of the whole run: one per container.

The pool is template.yaml's, in moto's cognito-idp; the token comes from a real sign-in (USER_PASSWORD_AUTH, then
NEW_PASSWORD_REQUIRED). Informational latencies (loopback, DynamoDB Local); the download count has a target.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from benchmarks.common import Row, local_cognito, local_dynamodb, main, median, percentile, row

NEW_PASSWORD = "Bench-Passw0rd-42!"


def _staff_token() -> str:
    import boto3

    from frontdesk.adapters.identity import LOCAL_MAILBOX
    from frontdesk.auth import Principal
    from frontdesk.services import practices
    from tests.support import unique_email, unique_phone

    pool = local_cognito()
    support = Principal(sub="bench-support", role="support", practice_id=None)
    practice = practices.create_practice("Bench", "US", unique_phone(), False)
    email = unique_email("bench")
    practices.create_staff(support, practice.practice_id, "Sam Staff", email, "staff")
    temporary = LOCAL_MAILBOX.messages(email)[0].temporary_password
    client = boto3.client("cognito-idp", endpoint_url=pool.endpoint, region_name="us-east-1")
    started = client.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": temporary},
    )
    answered = client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=started["Session"],
        ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": NEW_PASSWORD},
    )
    return str(answered["AuthenticationResult"]["IdToken"])


def _patient_token() -> str:
    from frontdesk import secrets
    from frontdesk.adapters.clock import get_clock
    from frontdesk.auth import Principal, issue_token

    patient = Principal(sub="pat1", role="patient", practice_id="prac1", patient_id="pat1")
    return issue_token(patient, secrets.get("jwt"), get_clock().now(), 3600)


def _event(token: str) -> dict[str, Any]:
    from infra.local import events
    from infra.template import wiring

    found = events.match_route(wiring().routes, "GET", "/staff")
    assert found is not None
    route, params = found
    headers = {"authorization": f"Bearer {token}"}
    return events.authorizer_event(events.http_event(route, "GET", "/staff", "", headers, b"", params))


def measure(count: int) -> dict[str, Any]:
    local_dynamodb()
    from frontdesk.cognito import get_verifier
    from infra.local.functions import invoke
    from infra.template import wiring

    spec = wiring().functions[wiring().authorizer or "AuthorizerFunction"]
    timings: dict[str, list[float]] = {}
    for label, token in (("Cognito ID token (staff)", _staff_token()), ("session token (patient)", _patient_token())):
        event = _event(token)
        decision = invoke(spec, event)  # warm-up: the container's first request loads the verifier
        assert "auth_error" not in decision["context"], (label, decision)
        values = []
        for _ in range(count):
            started = time.perf_counter()
            invoke(spec, event)
            values.append(time.perf_counter() - started)
        timings[label] = values
    verifier = get_verifier()
    return {"timings": timings, "jwks_fetches": verifier.fetches if verifier else None, "count": count}


def run() -> list[Row]:
    count = int(os.environ.get("BENCH_AUTHORIZER_REQUESTS", "300"))
    result = measure(count)
    rows = []
    for label, values in result["timings"].items():
        rows.append(row(f"authorizer p50: {label} (n={len(values)})", median(values) * 1000, "ms"))
        rows.append(row(f"authorizer p95: {label} (n={len(values)})", percentile(values, 95) * 1000, "ms"))
    fetches = result["jwks_fetches"]
    rows.append(row(f"authorizer: JWKS downloads for {count + 1} Cognito requests", fetches, "GETs", "1", fetches == 1))
    return rows


if __name__ == "__main__":
    sys.exit(main(run))
