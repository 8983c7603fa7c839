"""R-REL-2 / R-IMPORT-2 (issue 6 item 6): DynamoDB Local is killed (SIGKILL) in the middle of an import, then
restarted with its data kept; re-delivering the S3 event finishes the job with exact counts and no duplicate patient.

The import runs in a child process (the real CsvImportFunction handler, pointed at a second, persisted DynamoDB
Local engine), so the engine can be killed under it without disturbing the session's engine. The expected counts
come from the same file imported on the session engine without any fault.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from infra.local.dynamodb import DynamoDBLocal, client, create_table, free_port
from tests.conftest import IMPORTS_BUCKET, ROOT, TABLE_NAME
from tests.integration.test_import_service import job, messy_csv, new_practice, upload

pytestmark = pytest.mark.integration

CHILD = """
import json, sys
from infra.local import events
from infra.local.functions import invoke
from infra.template import wiring
bucket, key, size, etag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
handler = wiring().functions["CsvImportFunction"]
print(json.dumps(invoke(handler, events.s3_put_event(bucket, key, size, etag))))
"""


def _import_in_child(endpoint: str, key: str, size: int, etag: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DYNAMODB_ENDPOINT": endpoint}
    return subprocess.Popen(  # noqa: S603 - fixed command
        [sys.executable, "-c", CHILD, IMPORTS_BUCKET, key, str(size), etag],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _types(endpoint: str, practice_id: str) -> Counter[str]:
    ddb = client(endpoint)
    found: Counter[str] = Counter()
    kwargs: dict[str, Any] = {
        "TableName": TABLE_NAME,
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": {"S": f"PRACTICE#{practice_id}"}},
        "ProjectionExpression": "#t",
        "ExpressionAttributeNames": {"#t": "type"},
    }
    while True:
        page = ddb.scan(**kwargs)
        found.update(item["type"]["S"] for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _patient_ids_by_name_dob(endpoint: str, practice_id: str) -> Counter[str]:
    """How many profiles share each name+DOB index key: a duplicated row would show up as a second profile."""
    ddb = client(endpoint)
    seen: Counter[str] = Counter()
    kwargs: dict[str, Any] = {
        "TableName": TABLE_NAME,
        "FilterExpression": "begins_with(pk, :p) AND #t = :t",
        "ExpressionAttributeValues": {":p": {"S": f"PRACTICE#{practice_id}"}, ":t": {"S": "Patient"}},
        "ExpressionAttributeNames": {"#t": "type"},
    }
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            seen[item["pk"]["S"]] += 1
        if "LastEvaluatedKey" not in page:
            return seen
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def gateway(dynamodb: str, s3: Any) -> Any:
    from infra.local.server import Gateway
    from infra.template import wiring

    return Gateway(wiring(), IMPORTS_BUCKET, s3)


def test_r_rel_2_engine_killed_mid_import_then_redelivered_finishes_exactly(
    gateway: Any, s3: Any, tmp_path: Path
) -> None:
    body = messy_csv(1500, seed=11).encode()
    # Given the counts of the same file imported without any fault
    reference = new_practice()
    expected = job(reference, upload(gateway, reference, body))
    assert expected.status == "completed" and expected.counts.created > 100

    # And a second engine that keeps its data on disk, holding the practice
    engine = DynamoDBLocal(free_port(), persist_dir=tmp_path / "ddb").start()
    try:
        create_table(engine.endpoint, TABLE_NAME, _table())
        practice = _copy_practice(reference, engine.endpoint)
        key = f"imports/{practice}/crash.csv"
        etag = s3.put_object(Bucket=IMPORTS_BUCKET, Key=key, Body=body)["ETag"].strip('"')

        # When the import is under way (some patients written, not all) and the engine is killed
        child = _import_in_child(engine.endpoint, key, len(body), etag)
        deadline = time.monotonic() + 120
        written = 0
        while time.monotonic() < deadline and child.poll() is None:
            written = _types(engine.endpoint, practice)["Patient"]
            if written >= 20:
                break
            time.sleep(0.05)
        assert child.poll() is None, ("the import finished before the kill: make the file bigger", child.stdout)
        assert engine.process is not None
        engine.process.send_signal(signal.SIGKILL)
        engine.process.wait()
        engine.process = None
        _, errors = child.communicate(timeout=300)
        assert child.returncode != 0, "the import cannot have finished with its engine dead"

        # And the engine comes back with its data
        engine.start()
        before = _types(engine.endpoint, practice)
        assert 0 < before["Patient"] < expected.counts.created, before

        # When the S3 event is delivered again
        again = _import_in_child(engine.endpoint, key, len(body), etag)
        out, errors = again.communicate(timeout=300)
        assert again.returncode == 0, errors[-2000:]
        import_id = json.loads(out.strip().splitlines()[-1])["import_id"]

        # Then the job completed with the counts of the import that never failed, and no patient twice
        after = _types(engine.endpoint, practice)
        done = _job_on(engine.endpoint, practice, import_id)
        assert done["status"] == "completed", done
        assert after["Patient"] == expected.counts.created
        assert after["Patient"] == _types(gateway_endpoint(), reference)["Patient"]
        assert max(_patient_ids_by_name_dob(engine.endpoint, practice).values()) == 1
        counts = json.loads(json.dumps(dataclasses.asdict(expected.counts), default=str))
        exact = {k: v for k, v in counts.items() if k != "duplicates"}
        assert {k: v for k, v in done["counts"].items() if k != "duplicates"} == exact
        pairs = (after["DuplicatePair"], _types(gateway_endpoint(), reference)["DuplicatePair"])
        assert pairs[0] == pairs[1] and done["counts"]["duplicates"] == counts["duplicates"], pairs
    finally:
        engine.stop()


def _table() -> dict[str, Any]:
    from infra.template import wiring

    return wiring().table


def gateway_endpoint() -> str:
    return os.environ["DYNAMODB_ENDPOINT"]


def _copy_practice(practice_id: str, endpoint: str) -> str:
    """Copies the reference practice's own items (practice record, number index) to the other engine."""
    source, target = client(gateway_endpoint()), client(endpoint)
    page = source.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"PRACTICE#{practice_id}"}},
    )
    assert page["Items"]
    for item in page["Items"]:
        target.put_item(TableName=TABLE_NAME, Item=item)
    return practice_id


def _job_on(endpoint: str, practice_id: str, import_id: str) -> dict[str, Any]:
    code = (
        "import dataclasses, json, sys\n"
        "from frontdesk.store.imports import get_job\n"
        "j = get_job(sys.argv[1], sys.argv[2], consistent=True)\n"
        "print(json.dumps({'status': j.status, 'counts': dataclasses.asdict(j.counts)}, default=str))\n"
    )
    env = {**os.environ, "DYNAMODB_ENDPOINT": endpoint}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, practice_id, import_id], cwd=str(ROOT), env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))
