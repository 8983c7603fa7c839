"""Import plumbing without AWS: job ids, keys, chunk messages, the local queue (R-IMPORT-2, R-IMPORT-3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from frontdesk.adapters.queues import LocalQueues
from frontdesk.domain.csv_rows import import_id_for
from frontdesk.domain.import_jobs import ChunkTask, practice_of_key, report_key_for


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


# R-IMPORT-4 between imports side by side: when a block must query its partitions again (docs/data-model.md).
_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
_ME = f"job1#1#{_NOW.isoformat()}"


def _writers(changes: int, *present: str) -> Any:
    from frontdesk.domain.import_jobs import Writers

    return Writers(changes, frozenset(present))


def test_r_import_4_a_block_alone_from_look_up_to_writes_does_not_query_again():
    assert not _writers(4, _ME).raced(_writers(4, _ME), _ME, _NOW - timedelta(minutes=30))


@pytest.mark.parametrize("arrivals_and_departures", [1, 2])
def test_r_import_4_a_writer_that_arrived_or_left_meanwhile_means_querying_again(arrivals_and_departures):
    # (an arrival and a departure in between leave the set as it was: the count still differs)
    after = _writers(4 + arrivals_and_departures, _ME)
    assert after.raced(_writers(4, _ME), _ME, _NOW - timedelta(minutes=30))


def test_r_import_4_another_live_writer_means_querying_again_one_that_died_long_ago_does_not():
    live = f"job2#3#{(_NOW - timedelta(minutes=5)).isoformat()}"
    dead = f"job3#1#{(_NOW - timedelta(hours=2)).isoformat()}"
    assert _writers(7, _ME, live).raced(_writers(7, _ME, live), _ME, _NOW - timedelta(minutes=30))
    assert not _writers(7, _ME, dead).raced(_writers(7, _ME, dead), _ME, _NOW - timedelta(minutes=30))
