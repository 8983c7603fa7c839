"""Test harness: the environment is set before anything imports frontdesk (PynamoDB reads Meta at import).

- `dynamodb`: AWS's DynamoDB Local engine for the session, with the table exactly as template.yaml declares it.
- `s3`: moto's server for S3.
- `runner`: the local runner in a subprocess (its own DynamoDB Local), driven over HTTP by e2e tests.
Tests isolate themselves by creating their own practice, so nothing needs truncating between tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local import secrets as local_secrets
from infra.local.dynamodb import DynamoDBLocal, create_table, free_port, java_available

ROOT = Path(__file__).resolve().parent.parent
DYNAMODB_PORT = free_port()
S3_PORT = free_port()
TABLE_NAME = "frontdesk-test"
IMPORTS_BUCKET = "frontdesk-test-imports"

os.environ.update(
    {
        "FRONTDESK_ENV": "local",
        "TABLE_NAME": TABLE_NAME,
        "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{DYNAMODB_PORT}",
        "S3_ENDPOINT": f"http://127.0.0.1:{S3_PORT}",
        "IMPORTS_BUCKET": IMPORTS_BUCKET,
        "EVENT_BUS_NAME": "frontdesk-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_SERVICE_NAME": "frontdesk",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # as template.yaml: with metrics disabled Powertools still flushes at a metric's 100th value, and without a
        # namespace that flush raises (the 100th message of a test process would answer 500)
        "POWERTOOLS_METRICS_NAMESPACE": "frontdesk",
        "POWERTOOLS_DEV": "false",
    }
)


# Secrets are read at run time from Secrets Manager (R-AUTH-5): the template's secrets live in the moto server
# below (created by the autouse `secrets_store` fixture), and the id variables must be set before frontdesk
# reads its settings.
os.environ.update(local_secrets.local_environment(f"http://127.0.0.1:{S3_PORT}"))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server (S3, Secrets Manager, Cognito, SQS) for in-process tests."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=S3_PORT, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{S3_PORT}"
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def secrets_store(moto_server: str) -> dict[str, str]:
    """The template's secrets with generated values; logical id -> name. Tests read values with secret_value()."""
    return local_secrets.create(moto_server)


def secret_value(name: str) -> str:
    """A secret's current value as the functions read it (frontdesk.secrets), e.g. secret_value("webhook")."""
    from frontdesk import secrets

    return secrets.get(name)


@pytest.fixture(scope="session")
def dynamodb(cognito: Any) -> Iterator[str]:
    """DynamoDB Local with our table; the endpoint every store test talks to."""
    if not java_available():
        pytest.fail("DynamoDB Local is not installed: run the tests through `make test`, which installs it.")
    engine = DynamoDBLocal(DYNAMODB_PORT).start()
    try:
        from infra.template import wiring

        create_table(engine.endpoint, TABLE_NAME, wiring().table)
        yield engine.endpoint
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def s3(moto_server: str) -> Iterator[Any]:
    import boto3

    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    client.create_bucket(Bucket=IMPORTS_BUCKET)
    yield client


@pytest.fixture(scope="session")
def cognito(s3: Any) -> Any:
    """template.yaml's user pool in moto's cognito-idp (the S3 server), as the runner makes it: POST /staff
    invites into it. Settings are read again so the functions see the pool."""
    from infra.local import cognito as local_pool

    pool = local_pool.create_pool(f"http://127.0.0.1:{S3_PORT}")
    os.environ.update(pool.environment())
    from frontdesk.settings import get_settings

    get_settings.cache_clear()
    return pool


@pytest.fixture(scope="session")
def runner() -> Iterator[str]:
    """`python -m infra.local` exactly as `make run` starts it, on a free port."""
    from infra.local.spawn import runner_process

    with runner_process(ROOT / ".local" / f"runner-{os.getpid()}.log", "--quiet") as base:
        yield base


@pytest.fixture
def api(runner: str) -> Any:
    from tests.support import Api

    return Api(runner)
