"""Contract fuzzing: schemathesis generates requests from the runner's OpenAPI document (R-SEC-1, R-REL-2).

Every operation of the served document is called with generated bodies, paths and queries, with a token of a
role the route allows; each answer must not be a 5xx and must match the documented status codes and schemas.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.openapi import OUTPUT
from tests.e2e.test_authorization_matrix import ACCESS
from tests.support import Api

pytestmark = pytest.mark.e2e

# The stored document is the one the runner serves (a test compares them), so it can be read at collection time.
schema = schemathesis.openapi.from_dict(json.loads(OUTPUT.read_text(encoding="utf-8")))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLE_PREFERENCE = ("admin", "staff", "support", "integration", "patient")


@pytest.fixture(scope="module")
def tokens(runner: str) -> dict[str, Any]:
    api = Api(runner)
    practice = api.new_practice(pm=True)
    staff_id, staff = api.new_staff(practice)
    patient = api.new_patient(practice, cell_phone="(917) 555-0123")
    return {
        "base": runner,
        "admin": practice["admin"],
        "staff": staff,
        "support": api.token("support"),
        "integration": api.token("integration", practice["practice_id"]),
        "patient": api.token("patient", practice["practice_id"], patient_id=patient["patient_id"]),
    }


def _token_for(case: Any, tokens: dict[str, Any]) -> dict[str, str]:
    allowed = ACCESS.get(f"{case.operation.method.upper()} {case.operation.path}")
    if not allowed or "*" in allowed:
        return {}
    role = next(r for r in ROLE_PREFERENCE if r in allowed)
    return {"Authorization": f"Bearer {tokens[role]}"}


# `make check` runs this module with FUZZ_EXAMPLES=40 (issue 12: no 500 anywhere in a schemathesis run of every route);
# `make test` keeps the quick 12. Positive and negative data (schemathesis' default modes).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def test_the_fuzzed_document_has_every_route_of_the_template() -> None:
    # Given the template's HTTP routes  Then each is an operation of the fuzzed document (but the document's own)
    from infra.template import wiring

    operations = {
        (method.upper(), path)
        for path, item in json.loads(OUTPUT.read_text(encoding="utf-8"))["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    routes = {(route.method, route.path) for route in wiring().routes} - {("GET", "/openapi.json")}
    assert routes - operations == set()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_5xx_and_every_answer_matches_the_documented_contract(case: Any, tokens: dict[str, Any]) -> None:
    # The conformance checks, not the "positive data accepted" ones: a schema-valid phone can still be
    # refused by a rule (R-CREATE-2), and API Gateway answers a method it lacks with 404, not 405.
    case.call_and_validate(base_url=tokens["base"], headers=_token_for(case, tokens), checks=CHECKS)
