"""A bounded load test of the local runner (issue 6 item 8): loopback only, stops by itself.

Concurrent patients (log in, pass DOB verification, post messages, read their conversation) and staff (list the
Unassigned inbox, open conversations, reply) for a fixed time; then every message a patient was told was stored
is looked up again. Prints requests served, errors and messages lost; exits non-zero unless both are 0.

    python -m infra.loadtest --seconds 60 --patients 12 --staff 4          # starts its own runner
    python -m infra.loadtest --base http://127.0.0.1:3000                    # against a running one
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Tally:
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    sent: dict[str, list[str]] = field(default_factory=dict)  # conversation_id -> message ids
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, label: str, response: requests.Response, ok: tuple[int, ...]) -> None:
        with self.lock:
            self.requests += 1
            if response.status_code not in ok:
                self.errors[f"{label} -> {response.status_code}"] += 1


class Client:
    def __init__(self, base: str, tally: Tally) -> None:
        self.base, self.tally, self.http = base, tally, requests.Session()

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, ok: tuple[int, ...] = (200, 201, 202)
    ) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.request(
            method, self.base + path, data=json.dumps(body) if body is not None else None, headers=headers, timeout=30
        )
        label = f"{method} {path.split('?')[0]}"
        self.tally.record(label, response, ok)
        return response.json() if response.content else None


def setup(base: str, patients: int, staff: int, tally: Tally) -> dict[str, Any]:
    client = Client(base, tally)
    support = client.call("POST", "/_local/tokens", body={"role": "support"})["token"]
    number = f"+1646{random.randint(200, 999)}{random.randint(1000, 9999)}"
    practice = client.call(
        "POST", "/practices", support, {"name": "Load Clinic", "country": "US", "textable_number": number}
    )
    practice_id = practice["practice_id"]
    staff_tokens = []
    for index in range(staff):
        role = "admin" if index == 0 else "staff"
        member = client.call(
            "POST",
            "/staff",
            support,
            {
                "name": f"Staff {index}",
                "email": f"s{index}.{uuid.uuid4().hex[:12]}@example.org",
                "role": role,
                "practice_id": practice_id,
            },
        )
        token = client.call(
            "POST", "/_local/tokens", body={"role": role, "practice_id": practice_id, "staff_id": member["staff_id"]}
        )["token"]
        client.call(
            "PUT",
            f"/staff/{member['staff_id']}/subscriptions",
            token,
            {"reasons": ["other"], "locations": [], "inboxes": ["unassigned"]},
        )
        staff_tokens.append(token)
    patient_sessions = []
    for index in range(patients):
        phone = f"+1917{random.randint(200, 999)}{1000 + index:04d}"
        dob = f"19{50 + index % 40}-0{1 + index % 9}-1{index % 9}"
        patient = client.call(
            "POST",
            "/patients",
            staff_tokens[0],
            {"first_name": f"P{index}", "last_name": "Load", "date_of_birth": dob, "cell_phone": phone},
        )
        client.call("POST", "/patient/login", body={"practice_id": practice_id, "phone": phone})
        outbox = client.call("GET", f"/_local/outbox?to={quote(phone)}")["items"]
        code = next(m["code"] for m in reversed(outbox) if m.get("code"))
        session = client.call(
            "POST", "/patient/login/verify", body={"practice_id": practice_id, "phone": phone, "code": code}
        )
        client.call("POST", "/patient/dob-verification", session["token"], {"date_of_birth": dob})
        patient_sessions.append({"token": session["token"], "conversation_id": patient["conversation_id"]})
    return {"staff": staff_tokens, "patients": patient_sessions}


def patient_loop(base: str, session: dict[str, str], tally: Tally, stop: threading.Event) -> None:
    client = Client(base, tally)
    while not stop.is_set():
        view = client.call("GET", "/patient/conversation", session["token"])
        reasons = (view or {}).get("reason_prompt", {}).get("reasons") or [{"reason": "other"}]
        body = {"body": "load test message", "client_message_id": uuid.uuid4().hex, "reason": reasons[0]["reason"]}
        answer = client.call("POST", "/patient/conversation/messages", session["token"], body)
        if answer and answer.get("message_id"):
            with tally.lock:
                tally.sent.setdefault(session["conversation_id"], []).append(answer["message_id"])
        time.sleep(random.uniform(0.05, 0.3))


def staff_loop(base: str, token: str, tally: Tally, stop: threading.Event) -> None:
    client = Client(base, tally)
    while not stop.is_set():
        listing = client.call("GET", "/inboxes/unassigned/conversations?limit=20", token) or {}
        for item in (listing.get("items") or [])[:2]:
            client.call("GET", f"/conversations/{item['conversation_id']}", token)
            if random.random() < 0.3:
                client.call(
                    "POST", f"/conversations/{item['conversation_id']}/messages", token, {"body": "We are on it."}
                )
        time.sleep(random.uniform(0.05, 0.3))


def count_lost(base: str, staff_token: str, tally: Tally) -> int:
    client = Client(base, Tally())
    lost = 0
    for conversation_id, sent in tally.sent.items():
        stored = {
            m["message_id"] for m in client.call("GET", f"/conversations/{conversation_id}", staff_token)["messages"]
        }
        lost += len(set(sent) - stored)
    return lost


def run(base: str, seconds: float, patients: int, staff: int) -> dict[str, Any]:
    if urlsplit(base).hostname not in LOOPBACK:
        raise SystemExit("the load test only targets this machine's loopback addresses")
    tally = Tally()
    world = setup(base, patients, staff, tally)
    stop = threading.Event()
    threads = [threading.Thread(target=patient_loop, args=(base, s, tally, stop)) for s in world["patients"]]
    threads += [threading.Thread(target=staff_loop, args=(base, t, tally, stop)) for t in world["staff"]]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.monotonic() - started
    lost = count_lost(base, world["staff"][0], tally)
    return {
        "seconds": round(elapsed, 1),
        "patients": patients,
        "staff": staff,
        "requests": tally.requests,
        "requests_per_second": round(tally.requests / elapsed, 1),
        "messages_sent": sum(len(v) for v in tally.sent.values()),
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors),
        "messages_lost": lost,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default=None, help="a running runner (default: start one)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--patients", type=int, default=12)
    parser.add_argument("--staff", type=int, default=4)
    args = parser.parse_args(argv)
    if args.base:
        report = run(args.base, args.seconds, args.patients, args.staff)
    else:
        from infra.local.spawn import runner_process

        with runner_process(ROOT / ".local" / "loadtest-runner.log", "--quiet") as base:
            report = run(base, args.seconds, args.patients, args.staff)
    print(json.dumps(report, indent=2))
    return 0 if report["errors"] == 0 and report["messages_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
