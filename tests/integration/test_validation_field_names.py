"""R-API-1 (issue 12 item 6): every validation error names the field as the client sent it, on every body route.

For each route of the OpenAPI document that takes a JSON body and each property of that body, a body holding only
that property with a value of the wrong type (a list holding one wrong item) is sent through the real handler. The
answer is a 400 whose `field` is that property, or for a list that property's item (`reasons[0]`, `items[0]`) -
never a bare index, never missing. Through the real handlers, in process, on DynamoDB Local.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.openapi import OUTPUT
from tests.conftest import secret_value
from tests.support import invoke_route, sign

pytestmark = pytest.mark.integration

DOCUMENT = json.loads(OUTPUT.read_text(encoding="utf-8"))
ROLE_PREFERENCE = ("admin", "staff", "support", "integration", "patient")
CLAIMS = {
    "admin": {"sub": "s1", "role": "admin", "practice_id": "p1", "staff_id": "s1"},
    "staff": {"sub": "s2", "role": "staff", "practice_id": "p1", "staff_id": "s2"},
    "support": {"sub": "sup", "role": "support"},
    "integration": {"sub": "pm", "role": "integration", "practice_id": "p1"},
    "patient": {"sub": "q1", "role": "patient", "practice_id": "p1", "patient_id": "q1"},
}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return _resolve(options[0]) if options else schema


def _wrong(schema: dict[str, Any]) -> Any:
    """A value of the wrong type for this schema (for a list: a list of one wrong item)."""
    schema = _resolve(schema)
    kind = schema.get("type")
    if kind == "array":
        return [_wrong(schema.get("items", {}))]
    return {"string": 12345, "boolean": "yes", "integer": "many", "number": "many"}.get(str(kind), 12345)


def _cases() -> list[tuple[str, str, str, Any]]:
    cases = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            body = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
            if not body or "ErrorEnvelope" not in json.dumps(operation["responses"].get("400", {})):
                continue  # the OAuth token route answers the RFC's error shape, proved in its own tests
            for name, prop in _resolve(body["schema"]).get("properties", {}).items():
                cases.append((method.upper(), path, name, _wrong(prop)))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def access(dynamodb: str) -> dict[str, frozenset[str]]:
    from tests.e2e.test_authorization_matrix import ACCESS

    return ACCESS


def test_r_api_1_every_body_route_has_cases() -> None:
    assert len({(m, p) for m, p, _, _ in CASES}) >= 20, CASES


@pytest.mark.parametrize(("method", "path", "name", "value"), CASES, ids=[f"{m} {p} {n}" for m, p, n, _ in CASES])
def test_r_api_1_a_wrong_value_is_a_400_naming_its_field(
    access: dict[str, frozenset[str]], method: str, path: str, name: str, value: Any
) -> None:
    # Given a body holding one property with a value of the wrong type
    raw = json.dumps({name: value}).encode()
    allowed = access.get(f"{method} {path}", frozenset({"*"}))
    role = next((r for r in ROLE_PREFERENCE if r in allowed), None)
    concrete = re.sub(r"\{extension\}", "5", re.sub(r"\{(?!extension)\w+\}", "x0000", path))
    headers = {}
    if path.startswith("/webhooks/"):
        headers["x-frontdesk-signature"] = sign(raw, secret_value("webhook"))
    # When it is sent with a role the route allows
    reply = invoke_route(method, concrete, raw, CLAIMS[role] if role else None, headers=headers)
    # Then it is a 400 whose field is that property (for a list: its first item), never a bare index or nothing
    assert reply.status == 400 and reply.error_code == "validation_error", reply
    expected = f"{name}[0]" if isinstance(value, list) else name
    assert reply.body["error"].get("field") == expected, reply
