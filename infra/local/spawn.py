"""Starting the local runner as a subprocess (tests, benchmarks, the load test): one way, in one place."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.local.dynamodb import free_port

ROOT = Path(__file__).resolve().parents[2]
# The runner chooses its own engine, bucket and table: a caller's test settings must not leak into it.
_CALLER_ONLY = ("DYNAMODB_ENDPOINT", "S3_ENDPOINT", "TABLE_NAME")


@contextmanager
def runner_process(log_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m infra.local` on a free port, its output in `log_path`; yields the base URL once it answers."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in _CALLER_ONLY} | (env or {})
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own runner
            [sys.executable, "-m", "infra.local", "--port", str(port), *args],
            cwd=str(ROOT),
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base, process, log_path)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until_serving(base: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 90) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the runner exited with {process.returncode}; see {log_path}")
        try:
            if requests.get(f"{base}/_local/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the runner did not answer in time; see {log_path}")
