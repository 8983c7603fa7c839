"""The runner under a burst (issue 12 item 10) and its log context (R-SEC-3, issue 12 item 8), over HTTP.

One runner for this module, its handlers logging at INFO into a file the tests read.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import Api

pytestmark = pytest.mark.e2e
HEADER = "First Name,Last Name,DOB,Mobile,Home Phone,MRN,Email\n"


@pytest.fixture(scope="module")
def logged_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    from infra.local.spawn import runner_process

    log_path = tmp_path_factory.mktemp("logs") / "runner.log"
    with runner_process(log_path, env={"POWERTOOLS_LOG_LEVEL": "INFO"}) as base:
        yield Api(base), log_path


def _lines_after(log_path: Path, offset: int) -> list[dict[str, Any]]:
    """The handlers' JSON log lines written after `offset` (the runner's own text lines skipped)."""
    time.sleep(0.2)  # the handler's stream is flushed per line; leave the runner a moment to write it
    with log_path.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", errors="replace")
    found = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def _put(api: Api, key: str, body: str) -> Any:
    bucket = api.config()["imports_bucket"]
    reply = api.call("PUT", f"/_local/s3/{bucket}/{key}", data=body.encode())
    assert reply.status == 200, reply
    return reply.body


def test_r_sec_3_an_invocation_for_one_practice_carries_no_key_of_the_practice_served_before(logged_runner):
    api, log_path = logged_runner
    # Given practice A's import ran (its lines carry A's practice and import ids)
    practice_a = api.new_practice()
    a = practice_a["practice_id"]
    before_a = log_path.stat().st_size
    import_a = _put(api, f"imports/{a}/a.csv", HEADER + "Ana,Diaz,1980-04-02,(212) 555-0101,,,\n")["import_id"]
    lines_a = _lines_after(log_path, before_a)
    assert any(line.get("practice_id") == a and line.get("import_id") == import_a for line in lines_a)
    # When the same function is invoked for an object outside any practice, then practice B's staff call the API
    before = log_path.stat().st_size
    _put(api, "imports/stray.csv", HEADER)
    practice_b = api.new_practice()
    assert api.call("GET", "/staff/me/notifications", practice_b["admin"]).status == 200
    assert api.call("GET", "/conversations/no-such-conversation", practice_b["admin"]).status == 404
    later = _lines_after(log_path, before)
    # Then no line logged since carries practice A's ids, and the stray object's warning carries no practice at all
    assert later, "the runner logged nothing at INFO"
    leaked = [line for line in later if a in json.dumps(line) or import_a in json.dumps(line)]
    assert leaked == []
    stray = [line for line in later if line.get("message") == "object outside imports/<practice_id>/ ignored"]
    assert len(stray) == 1
    assert not {"practice_id", "import_id", "chunk"} & set(stray[0])


def test_two_invocations_of_one_function_run_at_once_on_separate_instances(logged_runner):
    api, _ = logged_runner
    practices = [api.new_practice(), api.new_practice()]
    for practice in practices:
        practice["patient_id"] = api.new_patient(practice)["patient_id"]
    seen: list[tuple[str, int, Any]] = []
    lock = threading.Lock()

    def burst(rounds: int = 12) -> None:
        start = threading.Barrier(rounds)

        def one(index: int) -> None:
            practice = practices[index % 2]
            client = Api(api.base)
            start.wait()
            reply = client.call("GET", f"/patients/{practice['patient_id']}", practice["admin"])
            with lock:
                seen.append((practice["patient_id"], reply.status, reply.body))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(rounds)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    # Given twelve callers of two practices at once, a few times over (until two invocations overlapped)
    for _ in range(5):
        burst()
        stats = api.call("GET", "/_local/concurrency").body["functions"]["StaffApiFunction"]
        if stats["max_in_flight"] >= 2:
            break
    # Then the function served invocations side by side on instances of its own, up to the cap
    assert stats["max_in_flight"] >= 2, stats
    assert 2 <= stats["instances"] <= 16, stats
    assert stats["throttled"] == 0
    # And each caller got its own practice: no instance answered with another invocation's caller
    assert all(status == 200 for _, status, _ in seen), seen
    assert all(body["patient_id"] == patient_id for patient_id, _, body in seen)


def test_a_burst_of_64_new_connections_is_accepted_without_a_reset_or_a_syn_retry(logged_runner):
    api, _ = logged_runner
    address = urlsplit(api.base)
    errors: list[str] = []
    slow: list[float] = []
    start = threading.Barrier(64)

    def connect() -> None:
        start.wait()
        began = time.monotonic()
        try:
            with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
                connected = time.monotonic() - began
                if connected >= 1.0:  # a dropped SYN is sent again after 1 s: the backlog overflowed
                    slow.append(connected)
                conn.sendall(
                    f"GET /_local/clock HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: close\r\n\r\n".encode()
                )
                answer = conn.recv(64)
            if not answer.startswith(b"HTTP/1.1 200"):
                errors.append(repr(answer))
        except OSError as error:
            errors.append(type(error).__name__)

    # Given 64 clients connecting at the same instant (socketserver's default backlog is 5)
    threads = [threading.Thread(target=connect) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Then every connection is accepted at once (no SYN retry) and answered
    assert errors == []
    assert slow == []


def test_health_answers_once_the_runner_serves(logged_runner):
    api, _ = logged_runner
    # Given a runner that has started  Then /_local/health answers 200 (the README's readiness wait polls it)
    reply = api.call("GET", "/_local/health")
    assert (reply.status, reply.body) == (200, {"status": "ok"})
