"""Import plumbing without AWS: job ids, keys, chunk messages, the local queue (R-IMPORT-2, R-IMPORT-3)."""

from __future__ import annotations

import pytest

from frontdesk.adapters.queues import LocalQueues
from frontdesk.domain.csv_rows import import_id_for
from frontdesk.services.imports import ChunkTask, practice_of_key, report_key_for


def test_r_import_2_the_job_id_is_a_function_of_bucket_key_and_etag():
    first = import_id_for("bucket", "imports/p1/a.csv", "etag-1")
    assert first == import_id_for("bucket", "imports/p1/a.csv", "etag-1")
    assert first != import_id_for("bucket", "imports/p1/a.csv", "etag-2")  # new content: a new job
    assert first != import_id_for("bucket", "imports/p1/b.csv", "etag-1")  # new key: a new job
    assert len(first) == 24


@pytest.mark.parametrize(
    ("key", "practice"),
    [
        ("imports/p1/a.csv", "p1"),
        ("imports/p1/monday patients.csv", "p1"),
        ("imports/p1/sub/a.csv", "p1"),
        ("imports/a.csv", None),
        ("imports//a.csv", None),
        ("elsewhere/p1/a.csv", None),
    ],
)
def test_r_import_1_the_practice_comes_from_the_key(key, practice):
    assert practice_of_key(key) == practice


def test_r_import_3_the_report_sits_beside_the_upload():
    key = report_key_for("imports/p1/monday patients.csv", "abcdef0123456789")
    assert key == "import-reports/p1/monday patients.abcdef01.report.csv"


def test_chunk_messages_survive_json():
    task = ChunkTask("p1", "i1", 3, 1000, 2000, 57)
    assert ChunkTask.from_dict(task.as_dict()) == task


def test_local_queue_delivers_before_send_returns_and_refuses_without_a_consumer():
    queues = LocalQueues()
    received: list[dict] = []
    with pytest.raises(RuntimeError):
        queues.queue("Q").send({"a": 1})
    queues.subscribe("Q", received.append)
    queues.queue("Q").send({"a": 1})
    assert received == [{"a": 1}]
