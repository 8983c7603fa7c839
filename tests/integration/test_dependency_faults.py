"""R-REL-2: a failing dependency yields a clear error with nothing half-written.

Faults are injected at the botocore level on PynamoDB's own client (the `before-send` event answers in place of
DynamoDB), so botocore's retries run for real before the service gives up with a clean 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from tests.support import invoke_route, unique_email, unique_phone

pytestmark = pytest.mark.integration


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@contextmanager
def dynamodb_fault(operation: str, kind: str) -> Iterator[list[str]]:
    from frontdesk.store.base import TableItem, connection

    # The models' clients and the transactions' client: PynamoDB caches a connection per model class (a subclass
    # that connected first, e.g. from another thread, keeps its own), so every model's client is faulted.
    models, pending = [TableItem], [TableItem]
    while pending:
        for sub in pending.pop().__subclasses__():
            models.append(sub)
            pending.append(sub)
    unique = {id(c): c for c in [*(m._get_connection().connection.client for m in models), connection().client]}
    clients = list(unique.values())
    calls: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        calls.append(operation)
        if kind == "timeout":
            raise ReadTimeoutError(endpoint_url=request.url)
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'
        return AWSResponse(request.url, 400, {"x-amzn-errortype": "ThrottlingException"}, _Raw(body))

    event_name = f"before-send.dynamodb.{operation}"
    for client in clients:
        client.meta.events.register(event_name, answer, unique_id=f"fault-{operation}")
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister(event_name, unique_id=f"fault-{operation}")


@pytest.fixture
def admin(dynamodb: str) -> dict[str, str]:
    support = {"sub": "sup", "role": "support"}
    practice = invoke_route("POST", "/practices", {"name": "Faulty Clinic", "textable_number": unique_phone()}, support)
    practice_id = practice.body["practice_id"]
    staff = invoke_route(
        "POST",
        "/staff",
        {"name": "Ada", "email": unique_email(), "role": "admin", "practice_id": practice_id},
        support,
    )
    staff_id = staff.body["staff_id"]
    return {"sub": staff_id, "role": "admin", "practice_id": practice_id, "staff_id": staff_id}


@pytest.mark.parametrize("kind", ["throttling", "timeout"])
def test_r_rel_2_storage_faults_are_retried_then_a_clean_503_with_nothing_written(
    admin: dict[str, str], kind: str
) -> None:
    phone = unique_phone()
    body = {"first_name": "Rita", "last_name": "Stone", "date_of_birth": "1970-03-03", "cell_phone": phone}
    with dynamodb_fault("TransactWriteItems", kind) as calls:
        reply = invoke_route("POST", "/patients", body, admin)
    assert reply.status == 503
    assert reply.body["error"]["code"] == "service_unavailable"
    assert len(calls) > 1, "botocore should have retried before giving up"
    assert "Rita" not in str(reply.body) and phone not in str(reply.body)
    # Nothing half-written: the phone finds nobody, and the same request now succeeds once.
    assert invoke_route("POST", "/patients/search", {"phone": phone}, admin).body["items"] == []
    assert invoke_route("POST", "/patients", body, admin).status == 201
    assert len(invoke_route("POST", "/patients/search", {"phone": phone}, admin).body["items"]) == 1


def test_r_rel_2_a_read_that_keeps_failing_is_a_503_not_a_stack_trace(admin: dict[str, str]) -> None:
    created = invoke_route(
        "POST", "/patients", {"first_name": "Rita", "last_name": "Stone", "date_of_birth": "1970-03-03"}, admin
    )
    with dynamodb_fault("GetItem", "throttling"):
        reply = invoke_route("GET", f"/patients/{created.body['patient_id']}", claims=admin)
    assert reply.status == 503 and set(reply.body) == {"error"}
    assert "Traceback" not in str(reply.body)
