"""`make run`'s runner: prints its URL, serves, and leaves no process behind when stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from infra.local.dynamodb import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(*extra: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DYNAMODB_ENDPOINT", "S3_ENDPOINT", "TABLE_NAME")}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "infra.local", "--port", str(port), "--quiet", *extra],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    line = ""
    while time.monotonic() < deadline and "http://" not in line:
        line = process.stdout.readline()
        assert line or process.poll() is None, "the runner exited early"
    assert f"http://127.0.0.1:{port}" in line
    return process, f"http://127.0.0.1:{port}"


def test_runner_prints_its_url_and_ctrl_c_stops_everything_it_started() -> None:
    process, base = _start()
    try:
        assert requests.get(f"{base}/_local/config", timeout=5).status_code == 200
        engines = _children(process.pid)
        assert engines, "DynamoDB Local should run as a child process"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in engines) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in engines)
    finally:
        if process.poll() is None:
            process.kill()


def test_runner_falls_back_to_moto_for_dynamodb_when_asked() -> None:
    process, base = _start("--engine", "moto")
    try:
        support = requests.post(f"{base}/_local/tokens", json={"role": "support"}, timeout=5).json()["token"]
        reply = requests.post(
            f"{base}/practices",
            json={"name": "Moto Clinic", "textable_number": "(312) 555-0187"},
            headers={"Authorization": f"Bearer {support}"},
            timeout=30,
        )
        assert reply.status_code == 201
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
