"""Routing latency and DynamoDB requests per message (issue 4 "Performance").

Starts the local runner in this process (DynamoDB Local + the runner's HTTP gateway on a free port), builds a small
practice (3 staff) and a large one (200 staff, each subscribed to a reason, plus patients), posts N messages to each
over HTTP (half SMS webhooks, half patient-app messages) and reports:
- p50 / p95 of intake → routed (from sending the request to routing having committed, i.e. readable in the inbox;
  the runner delivers MessageReceived synchronously, so this is intake + routing back to back);
- DynamoDB requests per message made by intake (per channel) and by routing, counted with a botocore hook on every
  client call, next to the minimum the data model allows (docs/data-model.md A2, A8, A20, A21).
Routing must cost the same for both practices (bounded, independent of practice size).

Run alone: `.venv/bin/python -m benchmarks.routing_latency` (N from BENCH_MESSAGES, default 40 per practice).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from typing import Any

# Budgets (docs/data-model.md): what the design allows per message, and the floor it could reach.
ROUTING_MIN, ROUTING_BUDGET = 3, 4  # A21: BatchGet(config, conversation, message, patient) + Query(appt) + Transact
SMS_MIN, SMS_BUDGET = 4, 7  # A2 NumberClaim + A8 (Query phone, BatchGet patients) + A20 Transact (+ idempotency,
# practice country, conversation version)
APP_MIN, APP_BUDGET = 4, 5  # patient + conversation + routing config (reason prompt) + A20 Transact (+ idempotency)


_ROUTED: dict[str, float] = {}  # message_id -> when routing committed (perf_counter)


class _Counter:
    """Counts DynamoDB API calls per phase ("intake" / "routing"); routing runs inside intake's request locally."""

    def __init__(self) -> None:
        self.current = "setup"  # messages are posted one at a time: one phase at a time
        self.counts: Counter[str] = Counter()
        self.operations: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def phase(self) -> str:
        return self.current

    def install(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        counter = self

        def counted(client: Any, operation: str, params: Any) -> Any:
            if client.meta.service_model.service_name == "dynamodb" and operation != "DescribeTable":
                with counter.lock:
                    counter.counts[counter.phase()] += 1
                    counter.operations[(counter.phase(), operation)] += 1
            return original(client, operation, params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]


def _start_runner() -> tuple[str, Any, Any, _Counter]:
    from infra.local.__main__ import TABLE_NAME, configure_environment
    from infra.local.dynamodb import DynamoDBLocal, create_table, free_port, java_available

    if not java_available():
        raise RuntimeError("DynamoDB Local is needed: run `make bench` (it installs it) or `make run` once")
    engine = DynamoDBLocal(free_port()).start()
    configure_environment(engine.endpoint, engine.endpoint)
    from benchmarks.common import local_secrets
    from infra.local import cognito

    # The runner's user pool in the same moto server as the secrets: /_local/tokens signs staff in through it
    cognito.configure(local_secrets())
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    from infra.template import wiring

    wired = wiring()
    create_table(engine.endpoint, TABLE_NAME, wired.table)
    from infra.local.server import Gateway, serve

    gateway = Gateway(wired, "unused", None)
    counter = _Counter()
    counter.install()
    routed_at = _ROUTED
    from frontdesk.adapters.events import LOCAL_BUS

    def wrap(subscriber: Any) -> Any:
        def routed(event: dict[str, Any]) -> None:
            counter.current = "routing"
            try:
                subscriber(event)
            finally:
                counter.current = "intake"
                routed_at[event["detail"]["message_id"]] = time.perf_counter()

        return routed

    LOCAL_BUS._subscribers[:] = [(pattern, wrap(sub)) for pattern, sub in LOCAL_BUS._subscribers]
    port = free_port()
    server = serve(gateway, "127.0.0.1", port)
    return f"http://127.0.0.1:{port}", server, engine, counter


def _practice(api: Any, staff_count: int, patients: int) -> dict[str, Any]:
    from frontdesk.adapters.clock import get_clock
    from frontdesk.domain.reasons import REASONS
    from frontdesk.store.patients import PatientItem
    from tests.support import unique_phone

    practice = api.new_practice()
    assert (
        api.call(
            "PUT", "/routing-settings", practice["admin"], {"reasons_enabled": True, "locations_enabled": False}
        ).status
        == 200
    )
    staff_ids = [practice["admin_id"]] + [api.new_staff(practice, f"Staff {i}")[0] for i in range(staff_count - 1)]
    for index, staff_id in enumerate(staff_ids):
        subs = {"reasons": [REASONS[index % len(REASONS)]], "inboxes": ["unassigned"] if index == 0 else []}
        assert api.call("PUT", f"/staff/{staff_id}/subscriptions", practice["admin"], subs).status == 200
    people = []
    for index in range(patients):
        patient = api.new_patient(practice, first_name=f"Patient{index}", cell_phone=unique_phone())
        item = PatientItem.get(*PatientItem.key(practice["practice_id"], patient["patient_id"]))
        item.update(actions=[PatientItem.dob_verified_at.set(get_clock().now()), PatientItem.verified.set(True)])
        token = api.token("patient", practice["practice_id"], patient_id=patient["patient_id"])
        people.append((patient, token))
    practice["patients"] = people
    practice["staff_count"] = staff_count
    return practice


def _measure(
    api: Any, practice: dict[str, Any], messages: int, counter: _Counter, routed_at: dict[str, float]
) -> dict[str, Any]:
    from frontdesk import secrets
    from frontdesk.domain.reasons import REASONS
    from frontdesk.ids import new_id
    from tests.support import sign

    secret = secrets.get("webhook")
    offered = REASONS[: min(len(REASONS), practice["staff_count"])]
    latencies: list[float] = []
    per_channel: dict[str, list[int]] = {"sms": [], "app": []}
    routing: list[int] = []
    warm_up = 2  # the first SMS and app message load each function (cold start): not counted
    for index in range(messages + warm_up):
        patient, token = practice["patients"][index % len(practice["patients"])]
        channel = "sms" if index % 2 == 0 else "app"
        before = Counter(counter.counts)
        counter.current = "intake"
        started = time.perf_counter()
        if channel == "sms":
            payload = json.dumps(
                {
                    "provider_message_id": new_id(),
                    "from": patient["cell_phone"],
                    "to": practice["textable_number"],
                    "body": "hi",
                }
            ).encode()
            reply = api.call(
                "POST",
                "/webhooks/sms",
                data=payload,
                headers={"X-Frontdesk-Signature": sign(payload, secret), "Content-Type": "application/json"},
            )
            assert reply.status == 200, reply
        else:
            body = {"body": "hello", "client_message_id": new_id(), "reason": offered[index % len(offered)]}
            reply = api.call("POST", "/patient/conversation/messages", token, body)
            assert reply.status == 201, reply
        counter.current = "setup"
        message_id = reply.body["message_id"]
        if index < warm_up:
            continue
        latencies.append((routed_at[message_id] - started) * 1000)
        delta = Counter(counter.counts)
        delta.subtract(before)
        per_channel[channel].append(delta["intake"])
        routing.append(delta["routing"])
    # Readable in the inbox on the very next request (the runner routes before answering).
    listed = api.call("GET", "/inboxes/unassigned/conversations", practice["admin"]).body["items"]
    assert listed, "routed conversations are listed in Unassigned"
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "sms": statistics.mean(per_channel["sms"]),
        "app": statistics.mean(per_channel["app"]),
        "routing": statistics.mean(routing),
        "routing_max": max(routing),
    }


def _row(name: str, value: Any, unit: str, target: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def run() -> list[dict[str, Any]]:
    """The rows, measured in a fresh interpreter: frontdesk reads its settings (and PynamoDB its endpoint) once per
    process, so this benchmark must own its process's environment whatever ran before it."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(  # noqa: S603 - our own module, same interpreter
        [sys.executable, "-m", "benchmarks.routing_latency", "--rows-json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    marker = next((line for line in done.stdout.splitlines() if line.startswith(_ROWS_MARKER)), None)
    if done.returncode != 0 or marker is None:
        raise RuntimeError(f"routing_latency failed: {done.stderr.strip().splitlines()[-1:]}")
    rows: list[dict[str, Any]] = json.loads(marker[len(_ROWS_MARKER) :])
    return rows


_ROWS_MARKER = "ROWS "


def measure() -> list[dict[str, Any]]:
    messages = max(2, int(os.environ.get("BENCH_MESSAGES", "40")))
    base, server, engine, counter = _start_runner()
    try:
        from tests.support import Api

        api = Api(base)
        routed_at = _ROUTED
        rows: list[dict[str, Any]] = []
        results = {}
        for label, staff, patients in (("3 staff", 3, 20), ("200 staff", 200, 200)):
            practice = _practice(api, staff, patients)
            results[label] = result = _measure(api, practice, messages, counter, routed_at)
            rows += [
                _row(f"routing: intake->routed p50 ({label})", result["p50"], "ms"),
                _row(f"routing: intake->routed p95 ({label})", result["p95"], "ms"),
                _row(
                    f"routing: DynamoDB requests/message, SMS intake ({label})",
                    result["sms"],
                    "requests",
                    f"<= {SMS_BUDGET} (min {SMS_MIN})",
                    result["sms"] <= SMS_BUDGET,
                ),
                _row(
                    f"routing: DynamoDB requests/message, app intake ({label})",
                    result["app"],
                    "requests",
                    f"<= {APP_BUDGET} (min {APP_MIN})",
                    result["app"] <= APP_BUDGET,
                ),
                _row(
                    f"routing: DynamoDB requests/message, routing ({label})",
                    result["routing_max"],
                    "requests",
                    f"<= {ROUTING_BUDGET} (min {ROUTING_MIN})",
                    result["routing_max"] <= ROUTING_BUDGET,
                ),
            ]
        same = results["3 staff"]["routing_max"] == results["200 staff"]["routing_max"]
        rows.append(
            _row(
                "routing: requests independent of practice size (200 vs 3 staff)",
                results["200 staff"]["routing_max"] - results["3 staff"]["routing_max"],
                "requests",
                "0",
                same,
            )
        )
        return rows
    finally:
        server.shutdown()
        engine.stop()


def main() -> int:
    if "--rows-json" in sys.argv[1:]:
        print(_ROWS_MARKER + json.dumps(measure()), flush=True)
        return 0
    rows = measure()
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        value = f"{r['value']:.1f}" if isinstance(r["value"], float) else str(r["value"])
        met = {True: "yes", False: "NO", None: "-"}[r["ok"]]
        print(f"{r['name']:<{width}}  {value:>8} {r['unit']:<9} {r['target'] or '-':<16} {met}")
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
