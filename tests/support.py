"""The client harness shared by tests and benchmarks: an HTTP client for the runner, in-process handler invocation
(the event the runner builds), factories."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import requests


def unique_phone() -> str:
    """A valid, unused-looking US number (NANP 555-01xx are fictional; area codes vary for uniqueness)."""
    area = random.choice(["212", "312", "415", "617", "646", "718", "917", "206", "303", "512"])
    return f"+1{area}{random.randint(200, 999)}{random.randint(1000, 9999)}"


def unique_email(name: str = "staff") -> str:
    """Staff emails are unique across the stack (409 email_taken): every test user gets its own."""
    return f"{name}-{uuid.uuid4().hex[:12]}@example.org"


# Office hours that never close: tests about other rules must not depend on the hour they run at (R-HOURS-2 would
# add an after-hours reply at night and at weekends). Tests of office hours set their own.
ALWAYS_OPEN: dict[str, Any] = {
    "timezone": "America/New_York",
    "weekly": {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "closures": [],
    "after_hours_message": "We are closed.",
    "response_target_minutes": 0,  # no escalation either: the escalation job's index stays free of other tests
}


def keep_open(admin_claims: dict[str, str]) -> None:
    """In-process tests: the practice of `admin_claims` is open around the clock (ALWAYS_OPEN)."""
    reply = invoke_route("PUT", "/office-hours", ALWAYS_OPEN, admin_claims)
    assert reply.status == 200, reply


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error_code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None


class Api:
    """Drives the local runner over HTTP exactly as API.md describes."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, body: Any = None, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = kwargs.pop("data", None)
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        response = self.session.request(method, self.base + path, data=data, headers=headers, timeout=60, **kwargs)
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        return Reply(response.status_code, payload, dict(response.headers))

    def token(self, role: str, practice_id: str | None = None, **ids: str) -> str:
        reply = self.call("POST", "/_local/tokens", body={"role": role, "practice_id": practice_id, **ids})
        assert reply.status == 200, reply
        return str(reply.body["token"])

    def config(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_local/config").body)

    def new_practice(self, *, pm: bool = False, office_hours: dict[str, Any] | None = ALWAYS_OPEN) -> dict[str, Any]:
        """A fresh practice with an admin (open around the clock unless `office_hours` says otherwise; None: the
        defaults); returns ids and tokens."""
        support = self.token("support")
        practice = self.call(
            "POST",
            "/practices",
            support,
            {"name": "Test Practice", "country": "US", "textable_number": unique_phone(), "has_pm_integration": pm},
        )
        assert practice.status == 201, practice
        practice_id = practice.body["practice_id"]
        admin = self.call(
            "POST",
            "/staff",
            support,
            {"name": "Ada Admin", "email": unique_email("ada"), "role": "admin", "practice_id": practice_id},
        )
        assert admin.status == 201, admin
        admin_id = admin.body["staff_id"]
        admin_token = self.token("admin", practice_id, staff_id=admin_id)
        if office_hours is not None:
            hours = self.call("PUT", "/office-hours", admin_token, office_hours)
            assert hours.status == 200, hours
        return {
            "practice_id": practice_id,
            "textable_number": practice.body["textable_number"],
            "admin_id": admin_id,
            "admin": admin_token,
            "support": support,
        }

    def new_staff(self, practice: dict[str, Any], name: str = "Sam Staff", role: str = "staff") -> tuple[str, str]:
        reply = self.call("POST", "/staff", practice["admin"], {"name": name, "email": unique_email(), "role": role})
        assert reply.status == 201, reply
        staff_id = reply.body["staff_id"]
        return staff_id, self.token(role, practice["practice_id"], staff_id=staff_id)

    def new_patient(self, practice: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", **fields}
        reply = self.call("POST", "/patients", practice["admin"], body)
        assert reply.status == 201, reply
        return dict(reply.body)


@lru_cache(maxsize=1)
def wired() -> Any:
    """The template's wiring, read once per process (tests and benchmarks route every request through it)."""
    from infra.template import wiring

    return wiring()


def route_event(
    method: str,
    path: str,
    body: Any = None,
    claims: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """(the function the template routes this request to, its HTTP API v2 event), as API Gateway and the runner
    build them. `body` is sent as is when bytes (a signed webhook's exact bytes), JSON-encoded otherwise."""
    from infra.local import events

    found = events.match_route(wired().routes, method, path.split("?")[0])
    assert found is not None, f"no route {method} {path}"
    route, params = found
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    all_headers = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
    query = path.split("?", 1)[1] if "?" in path else ""
    event = events.http_event(route, method, path.split("?")[0], query, all_headers, raw, params)
    if route.authorized:
        event["requestContext"]["authorizer"] = {"lambda": claims or {"auth_error": "missing"}}
    return wired().functions[route.function], event


def http_event(
    method: str, path: str, body: Any = None, claims: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """An HTTP API v2 event for a template route, as API Gateway (and the runner) builds it."""
    return route_event(method, path, body, claims, extra.pop("headers", {}))[1]


def invoke_route(
    method: str,
    path: str,
    body: Any = None,
    claims: dict[str, str] | None = None,
    *,
    timings: list[float] | None = None,
    **extra: Any,
) -> Reply:
    """Calls the real lambda_handler of the function the template routes this request to (in-process, as the
    runner does); `timings` gets the handler's own duration, event building excluded (benchmarks)."""
    from infra.local.functions import invoke

    spec, event = route_event(method, path, body, claims, extra.pop("headers", {}))
    started = time.perf_counter()
    result = invoke(spec, event)
    if timings is not None:
        timings.append(time.perf_counter() - started)
    payload = json.loads(result["body"]) if result.get("body") else None
    return Reply(result["statusCode"], payload, result.get("headers") or {})


def practice_with_texting_patient(name: str) -> dict[str, Any]:
    """In-process: a practice (support creates it), its admin's claims and a patient with a cell phone, as the
    SMS tests need them: practice_id, number (the practice's textable number), phone, patient, admin."""
    support = {"sub": "s", "role": "support"}
    created = invoke_route("POST", "/practices", {"name": name, "textable_number": unique_phone()}, support)
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = {"sub": "a1", "role": "admin", "practice_id": practice_id, "staff_id": "a1"}
    phone = unique_phone()
    profile = {"first_name": "M", "last_name": "L", "date_of_birth": "1980-04-02", "cell_phone": phone}
    patient = invoke_route("POST", "/patients", profile, admin)
    assert patient.status == 201, patient
    number = created.body["textable_number"]
    return {"practice_id": practice_id, "number": number, "phone": phone, "patient": patient.body, "admin": admin}
