"""DynamoDB requests per API operation and job, against the budgets of docs/data-model.md.

Each operation runs through the real lambda_handler in-process (the event the runner would build), on DynamoDB
Local, while botocore's client counts the DynamoDB requests. A count above its access pattern's budget fails.

Adding an operation: write a function `(World) -> Call` (the request to make, after any setup it needs) and list
it in OPERATIONS with the access pattern whose budget applies and any extra the budget cell allows ("+n audit").
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from benchmarks.common import Row, local_dynamodb, main, row


@dataclass
class Call:
    method: str
    path: str
    body: Any = None
    claims: dict[str, str] | None = None
    status: int = 200


@dataclass
class World:
    """A practice with an admin and a patient, made through the API; operations add what they need."""

    practice_id: str = ""
    admin: dict[str, str] = field(default_factory=dict)
    support: dict[str, str] = field(default_factory=dict)
    patient_id: str = ""
    conversation_id: str = ""
    cell_phone: str = ""


def claims(role: str, practice_id: str | None = None, **ids: str) -> dict[str, str]:
    from frontdesk.auth import Principal

    sub = ids.get("staff_id") or ids.get("patient_id") or f"{role}-bench"
    return Principal(sub=sub, role=role, practice_id=practice_id, **ids).claims()


@lru_cache(maxsize=1)
def _wiring() -> Any:
    from infra.template import wiring

    return wiring()


def event_for(call: Call) -> tuple[Any, dict[str, Any]]:
    """(the function's spec, the HTTP API v2 event) as the runner builds them (tests/support.http_event)."""
    from infra.local import events

    wired = _wiring()
    found = events.match_route(wired.routes, call.method, call.path)
    if found is None:
        raise RuntimeError(f"no route {call.method} {call.path}")
    route, params = found
    raw = b"" if call.body is None else json.dumps(call.body).encode()
    event = events.http_event(route, call.method, call.path, "", {"content-type": "application/json"}, raw, params)
    if route.authorized:
        event["requestContext"]["authorizer"] = {"lambda": call.claims or {"auth_error": "missing"}}
    return wired.functions[route.function], event


def invoke(call: Call, timings: list[float] | None = None) -> Any:
    """Calls the real lambda_handler; `timings` gets the handler's own duration (event building excluded)."""
    from infra.local.functions import invoke as invoke_function

    spec, event = event_for(call)
    started = time.perf_counter()
    result = invoke_function(spec, event)
    if timings is not None:
        timings.append(time.perf_counter() - started)
    body = json.loads(result["body"]) if result.get("body") else None
    if result["statusCode"] != call.status:
        raise RuntimeError(f"{call.method} {call.path} answered {result['statusCode']}, expected {call.status}")
    return body


def unique_number() -> str:
    from tests.support import unique_phone

    return unique_phone()


def new_practice(world: World) -> Call:
    body = {"name": "Bench Practice", "country": "US", "textable_number": unique_number(), "has_pm_integration": False}
    return Call("POST", "/practices", body, world.support, 201)


def new_staff(world: World) -> Call:
    body = {"name": "Sam Staff", "email": "sam@example.org", "role": "staff"}
    return Call("POST", "/staff", body, world.admin, 201)


def new_inbox(world: World) -> Call:
    return Call("POST", "/inboxes", {"name": "Billing"}, world.admin, 201)


def unique_name() -> str:
    import random
    import string

    return "".join(random.choices(string.ascii_lowercase, k=8)).title()


def new_patient(world: World) -> Call:
    """A new patient, unlike any other (no probable duplicates: those are measured apart)."""
    body = {
        "first_name": unique_name(),
        "last_name": "Bench",
        "date_of_birth": "1980-04-02",
        "cell_phone": unique_number(),
    }
    return Call("POST", "/patients", body, world.admin, 201)


def read_patient(world: World) -> Call:
    return Call("GET", f"/patients/{world.patient_id}", None, world.admin, 200)


def search_by_phone(world: World) -> Call:
    return Call("POST", "/patients/search", {"phone": world.cell_phone}, world.admin, 200)


def read_conversation(world: World) -> Call:
    return Call("GET", f"/conversations/{world.conversation_id}", None, world.admin, 200)


def my_inbox(world: World) -> Call:
    return Call("GET", "/inboxes/mine/conversations", None, world.admin, 200)


def my_notifications(world: World) -> Call:
    return Call("GET", "/staff/me/notifications", None, world.admin, 200)


def routing_settings(world: World) -> Call:
    return Call("GET", "/routing-settings", None, world.admin, 200)


@dataclass(frozen=True)
class Operation:
    name: str
    pattern: str  # the access pattern of docs/data-model.md whose budget applies
    request: Callable[[World], Call]
    extra: int = 0  # what the budget cell adds for this call (e.g. "+1 practice, +n audit" with n = 1)
    note: str = ""


OPERATIONS: tuple[Operation, ...] = (
    Operation("POST /practices", "A1", new_practice),
    Operation("POST /staff", "A4", new_staff),
    Operation("POST /inboxes", "A5", new_inbox),
    Operation("POST /patients", "A6", new_patient),
    Operation("GET /patients/{id}", "A7", read_patient),
    Operation("POST /patients/search (1 match)", "A8", search_by_phone, extra=2, note="+1 practice, +1 audit"),
    Operation("GET /conversations/{id}", "A23", read_conversation),
    Operation("GET /inboxes/mine/conversations", "A22", my_inbox),
    Operation("GET /staff/me/notifications", "A24", my_notifications),
    Operation("GET /routing-settings", "A25", routing_settings),
)


def setup_world() -> World:
    world = World(support=claims("support"))
    practice = invoke(new_practice(world))
    world.practice_id = practice["practice_id"]
    admin = invoke(
        Call(
            "POST",
            "/staff",
            {"name": "Ada Admin", "email": "a@example.org", "role": "admin", "practice_id": world.practice_id},
            world.support,
            201,
        )
    )
    world.admin = claims("admin", world.practice_id, staff_id=admin["staff_id"])
    world.cell_phone = unique_number()
    body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", "cell_phone": world.cell_phone}
    created = invoke(Call("POST", "/patients", body, world.admin, 201))
    world.patient_id, world.conversation_id = created["patient_id"], created["conversation_id"]
    return world


def measure(world: World, operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    """{operation name: Requests} - each operation once, after a warm-up call (handlers loaded, clients made)."""
    from benchmarks.dynamodb_requests import counting

    found: dict[str, Any] = {}
    for operation in operations:
        invoke(operation.request(world))  # warm-up: the first call of a function loads it
        call = operation.request(world)
        with counting() as requests:
            invoke(call)
        found[operation.name] = requests
    return found


def run() -> list[Row]:
    local_dynamodb()
    from benchmarks.dynamodb_requests import budgets

    budget_of = budgets()
    counted = measure(setup_world())
    rows = []
    for operation in OPERATIONS:
        requests = counted[operation.name]
        base, cell = budget_of[operation.pattern]
        if base is None:
            raise RuntimeError(f"{operation.pattern}'s budget '{cell}' is a formula: give {operation.name} its own")
        budget = base + operation.extra
        print(
            f"[requests] {operation.name}: {requests.count} ({requests.summary()}); {operation.pattern} budget "
            f"'{cell}'{' ' + operation.note if operation.note else ''} -> {budget}",
            file=sys.stderr,
        )
        rows.append(
            row(
                f"DynamoDB requests: {operation.name} [{operation.pattern}]",
                requests.count,
                "requests",
                f"<= {budget}",
                requests.count <= budget,
            )
        )
    return rows


if __name__ == "__main__":
    sys.exit(main(run))
