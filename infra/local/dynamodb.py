"""Starts AWS's DynamoDB Local engine (npm amplify-dynamodb-simulator) with Java, and creates our table."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_DIR = ROOT / ".local" / "dynamodb" / "node_modules" / "amplify-dynamodb-simulator" / "emulator"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def java_available() -> bool:
    return shutil.which("java") is not None and (EMULATOR_DIR / "DynamoDBLocal.jar").exists()


def _die_with_parent() -> None:
    # Linux: the engine gets SIGTERM if the runner dies without cleaning up, so no process is left behind.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class DynamoDBLocal:
    """One engine process: in memory by default, or kept in `persist_dir`."""

    def __init__(self, port: int | None = None, persist_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.persist_dir = persist_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> DynamoDBLocal:
        # -sharedDb: one database whatever the credentials (otherwise each access key sees its own tables).
        storage = ["-inMemory", "-sharedDb"]
        if self.persist_dir is not None:
            self.persist_dir.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.persist_dir), "-sharedDb"]
        command = [
            "java",
            f"-Djava.library.path={EMULATOR_DIR / 'DynamoDBLocal_lib'}",
            "-jar",
            str(EMULATOR_DIR / "DynamoDBLocal.jar"),
            *storage,
            "-port",
            str(self.port),
            "-disableTelemetry",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - fixed command, no shell
            command,
            cwd=str(EMULATOR_DIR),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )
        wait_until_ready(self.endpoint, timeout, self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the emulator's dummy credentials
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
    )


def wait_until_ready(endpoint: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Polls ListTables: the engine answers after a few seconds (PITFALLS: poll, don't sleep)."""
    deadline = time.monotonic() + timeout
    ddb = client(endpoint)
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with code {process.returncode}")
        try:
            ddb.list_tables(Limit=1)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(f"DynamoDB Local did not answer at {endpoint} within {timeout:.0f}s") from None
            time.sleep(0.2)


def create_table(endpoint: str, table_name: str, properties: dict[str, Any]) -> None:
    """The table exactly as template.yaml declares it (keys, indexes, billing, TTL); idempotent."""
    ddb = client(endpoint)
    if table_name in ddb.list_tables()["TableNames"]:
        return
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    ddb.create_table(**request)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        with contextlib.suppress(Exception):  # moto's fallback may not support it; expiry is checked on read anyway
            ddb.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
            )
