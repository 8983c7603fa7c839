"""Latency per route through the local runner (HTTP -> authorizer -> real handler -> DynamoDB Local).

The runner starts as `make run` starts it (a subprocess on a free port, its own DynamoDB Local). One client drives
a mixed workload of staff and patient operations, chosen at random by weight (seeded: the same sequence every
run); the figures are p50 and p95 per route, client-side wall-clock. Informational: a laptop's loopback and
DynamoDB Local are not Lambda and DynamoDB, but a route that regresses shows here first.

Adding a route: a function `(Session) -> Request` and a line in WORKLOAD.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import Row, main, median, percentile, row
from infra.template import ROOT


@dataclass
class Request:
    route: str  # the route key the figure is filed under
    method: str
    path: str
    token: str | None = None
    body: Any = None
    status: int = 200


@dataclass
class Session:
    api: Any
    practice: dict[str, Any]
    staff_token: str = ""
    patients: list[dict[str, Any]] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(7))


def create_patient(s: Session) -> Request:
    from benchmarks.requests_per_operation import unique_name, unique_number

    body = {"first_name": unique_name(), "last_name": "Bench", "date_of_birth": "1980-04-02"}
    body["cell_phone"] = unique_number()
    return Request("POST /patients", "POST", "/patients", s.staff_token, body, 201)


def read_patient(s: Session) -> Request:
    patient = s.rng.choice(s.patients)
    return Request("GET /patients/{patient_id}", "GET", f"/patients/{patient['patient_id']}", s.staff_token)


def search_patient(s: Session) -> Request:
    patient = s.rng.choice(s.patients)
    body = {"phone": patient["cell_phone"]}
    return Request("POST /patients/search", "POST", "/patients/search", s.staff_token, body)


def create_staff(s: Session) -> Request:
    body = {"name": "Sam Staff", "email": f"s.{uuid.uuid4().hex}@example.org", "role": "staff"}
    return Request("POST /staff", "POST", "/staff", s.practice["admin"], body, 201)


def create_practice(s: Session) -> Request:
    from benchmarks.requests_per_operation import unique_number

    body = {"name": "Bench", "country": "US", "textable_number": unique_number(), "has_pm_integration": False}
    return Request("POST /practices", "POST", "/practices", s.practice["support"], body, 201)


def openapi(s: Session) -> Request:
    return Request("GET /openapi.json", "GET", "/openapi.json")


def no_token(s: Session) -> Request:
    patient = s.rng.choice(s.patients)
    return Request("GET /patients/{patient_id} (401)", "GET", f"/patients/{patient['patient_id']}", None, None, 401)


WORKLOAD: tuple[tuple[int, Callable[[Session], Request]], ...] = (
    (40, read_patient),
    (25, search_patient),
    (15, create_patient),
    (5, create_staff),
    (5, create_practice),
    (5, openapi),
    (5, no_token),
)


@contextmanager
def runner() -> Iterator[str]:
    """`python -m infra.local` on a free port, as tests/conftest.py starts it."""
    from infra.local.spawn import runner_process

    with runner_process(ROOT / ".local" / f"bench-runner-{os.getpid()}.log", "--quiet") as base:
        yield base


def drive(base: str, requests: int) -> dict[str, list[float]]:
    from tests.support import Api

    api = Api(base)
    session = Session(api, api.new_practice())
    _, session.staff_token = api.new_staff(session.practice)
    for _ in range(10):
        session.patients.append(api.call(**_call(create_patient(session))).body)
    weights = [w for w, _ in WORKLOAD]
    makers = [m for _, m in WORKLOAD]
    timings: dict[str, list[float]] = defaultdict(list)
    for maker in makers:  # warm-up: every function loaded once
        api.call(**_call(maker(session)))
    for _ in range(requests):
        request = session.rng.choices(makers, weights)[0](session)
        started = time.perf_counter()
        reply = api.call(**_call(request))
        elapsed = time.perf_counter() - started
        if reply.status != request.status:
            raise RuntimeError(f"{request.method} {request.path}: {reply.status}, expected {request.status}")
        timings[request.route].append(elapsed)
        if request.route == "POST /patients":
            session.patients.append(reply.body)
    return timings


def _call(request: Request) -> dict[str, Any]:
    return {"method": request.method, "path": request.path, "token": request.token, "body": request.body}


def run() -> list[Row]:
    total = int(os.environ.get("BENCH_LATENCY_REQUESTS", "400"))
    with runner() as base:
        timings = drive(base, total)
    rows = []
    for route, values in sorted(timings.items(), key=lambda item: -len(item[1])):
        rows.append(row(f"latency p50: {route} (n={len(values)})", median(values) * 1000, "ms"))
        rows.append(row(f"latency p95: {route} (n={len(values)})", percentile(values, 95) * 1000, "ms"))
    return rows


if __name__ == "__main__":
    sys.exit(main(run))
