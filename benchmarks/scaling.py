"""Scaling: the same operations in a practice of 10 patients and in one of 100,000 (BENCH_SCALE_PATIENTS); the
conversation jobs (escalate-overdue, remind-unread) with 10 due conversations in either practice.

Both practices are made through the API; the large one is then filled directly with BatchWriteItem (the items
the store itself builds: profile, conversation, phone index, name+DOB index). Each operation is timed on both,
interleaved, median of BENCH_RUNS runs, and its DynamoDB requests counted. Targets: request counts equal;
latency ratio large/small within noise (<= 1.5: the spread this shared machine shows between identical runs).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from benchmarks.common import Row, local_dynamodb, main, median, row, runs
from benchmarks.requests_per_operation import (
    WAITING_HOURS,
    Call,
    Operation,
    World,
    conversation_job,
    coverage,
    invoke,
    make_overdue,
    make_unread,
    new_patient,
    read_patient,
    search_by_phone,
    setup_world,
    simulate,
)

LATENCY_NOISE = 1.5
OPERATIONS = (
    Operation("POST /patients", "A6", new_patient),
    Operation("GET /patients/{id}", "A7", read_patient),
    Operation("POST /patients/search", "A8", search_by_phone),
    Operation("GET /routing/coverage", "A59", coverage),
    Operation("POST /routing/simulate", "A60", simulate),
)
DUE = 10  # the conversations each job run finds due, in either practice
JOBS = (  # (name, makes `DUE` items due in a practice through the real code path, the job, its result's count)
    ("escalate-overdue", make_overdue, "escalated"),
    ("remind-unread", make_unread, "reminded"),
)


def seed(practice_id: str, patients: int, endpoint: str) -> float:
    """Writes `patients` patients (4 items each) with BatchWriteItem; returns items per second."""
    from frontdesk.domain.patients import Patient
    from frontdesk.ids import new_id
    from frontdesk.settings import get_settings
    from frontdesk.store.patients import name_dob_item, new_conversation_item, phone_index_item, to_item
    from infra.local.dynamodb import client

    table = get_settings().table_name
    created = datetime.now(UTC)

    def items(index: int) -> list[dict[str, Any]]:
        patient = Patient(
            practice_id=practice_id,
            patient_id=new_id(),
            first_name=f"Seed{index}",
            last_name="Patient",
            date_of_birth=date(1950 + index % 50, 1 + index % 12, 1 + index % 28),
            conversation_id=new_id(),
            created_at=created,
            cell_phone=f"+1212{2000000 + index:07d}",
        )
        made = [to_item(patient), new_conversation_item(patient), name_dob_item(patient)]
        made.append(phone_index_item(patient, str(patient.cell_phone), "cell"))
        return [item.serialize() for item in made]

    def write(start: int, stop: int) -> int:
        ddb = client(endpoint)
        pending = [request for i in range(start, stop) for request in items(i)]
        written = 0
        while pending:
            batch, pending = pending[:25], pending[25:]
            requests = [{"PutRequest": {"Item": item}} for item in batch]
            while requests:
                answer = ddb.batch_write_item(RequestItems={table: requests})
                written += len(requests)
                requests = answer.get("UnprocessedItems", {}).get(table, [])
                written -= len(requests)
        return written

    started = time.monotonic()
    step = 500
    with ThreadPoolExecutor(max_workers=4) as pool:
        total = sum(pool.map(lambda s: write(s, min(s + step, patients)), range(0, patients, step)))
    return total / (time.monotonic() - started)


def measure(worlds: dict[str, World], count: int) -> dict[tuple[str, str], tuple[list[float], list[int]]]:
    from benchmarks.dynamodb_requests import counting

    found: dict[tuple[str, str], tuple[list[float], list[int]]] = {}
    for operation in OPERATIONS:
        for label, world in worlds.items():
            invoke(operation.request(world))  # warm-up
            found[(operation.name, label)] = ([], [])
    for _ in range(count):
        for operation in OPERATIONS:
            for label, world in worlds.items():
                call: Call = operation.request(world)
                with counting() as requests:
                    invoke(call, found[(operation.name, label)][0])
                found[(operation.name, label)][1].append(requests.count)
    return found


def measure_jobs(worlds: dict[str, World], count: int) -> dict[tuple[str, str], tuple[list[float], list[int]]]:
    """Each job, `count` times per practice, interleaved: `DUE` items made due in that practice only, then one run
    timed and counted. The due index is one for the table, so the two practices take turns (an item a run handled
    is not due again at the next turn's clock: make_overdue / make_unread set it back to the same start)."""
    from benchmarks.dynamodb_requests import counting

    found: dict[tuple[str, str], tuple[list[float], list[int]]] = {}
    for world in worlds.values():
        invoke(Call("PUT", "/office-hours", WAITING_HOURS, world.admin, 200))  # open, with a response target
    for name, make_due, counted in JOBS:
        job = conversation_job(name, counted)
        for label, world in worlds.items():
            make_due(world, 1)
            job()  # warm-up
            found[(name, label)] = ([], [])
        for _ in range(count):
            for label, world in worlds.items():
                make_due(world, DUE)
                with counting() as requests:
                    started = time.perf_counter()
                    handled = job()
                    found[(name, label)][0].append(time.perf_counter() - started)
                if handled != DUE:
                    raise RuntimeError(f"{name} handled {handled} items in the {label} practice, expected {DUE}")
                found[(name, label)][1].append(requests.count)
    return found


def compare(
    name: str, size: int, what: str, small: tuple[list[float], list[int]], large: tuple[list[float], list[int]]
) -> list[Row]:
    (small_times, small_counts), (large_times, large_counts) = small, large
    same = set(small_counts) == set(large_counts) and len(set(small_counts)) == 1
    ratio = median(large_times) / median(small_times)
    return [
        row(
            f"scaling: {name} requests, {size} vs 10 {what}",
            f"{large_counts[0]} vs {small_counts[0]}",
            "requests",
            "equal",
            same,
        ),
        row(
            f"scaling: {name} p50 {median(large_times) * 1000:.1f} vs {median(small_times) * 1000:.1f} ms",
            ratio,
            "x",
            f"<= {LATENCY_NOISE}x",
            ratio <= LATENCY_NOISE,
        ),
    ]


def run() -> list[Row]:
    endpoint = local_dynamodb()
    size = int(os.environ.get("BENCH_SCALE_PATIENTS", "100000"))
    small, large = setup_world(), setup_world()
    for _ in range(9):  # the small practice: 10 patients (setup_world made one)
        invoke(new_patient(small))
    print(f"[scaling] seeding {size} patients ({size * 4} items) ...", file=sys.stderr, flush=True)
    rate = seed(large.practice_id, size, endpoint)
    print(f"[scaling] seeded at {rate:.0f} items/s", file=sys.stderr, flush=True)
    labels = {"10": small, f"{size}": large}
    found = measure(labels, runs(11))
    rows = [row(f"scaling: seed BatchWriteItem throughput ({size} patients)", rate, "items/s")]
    for operation in OPERATIONS:
        small, large = (found[(operation.name, label)] for label in labels)
        rows += compare(operation.name, size, "patients", small, large)
    jobs = measure_jobs(labels, runs(11))
    for name, _, _ in JOBS:
        small, large = (jobs[(name, label)] for label in labels)
        rows += compare(f"{name} ({DUE} due)", size, "conversations", small, large)
    return rows


if __name__ == "__main__":
    sys.exit(main(run))
