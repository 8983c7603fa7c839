"""The store's batches (A30): BatchWriteItem and BatchGetItem in pages, sent in parallel from one thread pool (the
import's requests in flight at once: batch writes, BatchGetItem pages, claim transactions, duplicate queries)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

from pynamodb.exceptions import PutError

from frontdesk.settings import get_settings
from frontdesk.store import backoff
from frontdesk.store.base import TableItem

T = TypeVar("T")
R = TypeVar("R")

BATCH_WRITE_SIZE = 25
BATCH_GET_SIZE = 100
MAX_BATCH_ATTEMPTS = 10
WRITERS = 8
BATCH_BACK_OFF_CAP = 2.0  # seconds: the longest pause before unprocessed items are sent again


def batch_put(items: Iterable[TableItem]) -> int:
    """BatchWriteItem in batches of 25, sent WRITERS at a time, unprocessed items retried with exponential backoff
    and jitter. Returns how many items were written (all of them, or it raises).

    Only for items without a version (fresh inserts, import rows): batches ignore VersionAttribute (PITFALLS).
    The order between batches is not kept: callers that need "A before B" make two calls.
    """
    return start_batch_put(items)()


def start_batch_put(items: Iterable[TableItem]) -> Callable[[], int]:
    """batch_put that returns once every batch is on its way: call the result to wait for them (it raises what a
    batch raised). Each batch goes out as soon as it is serialized, so serializing the next overlaps writing it."""
    pending: list[Future[int]] = []
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item.serialize())
        if len(batch) == BATCH_WRITE_SIZE:
            pending.append(_pool().submit(_write_batch, batch))
            batch = []
    if batch:
        pending.append(_pool().submit(_write_batch, batch))
    return lambda: sum(future.result() for future in pending)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """The one pool of the import's requests in flight at once (no other module keeps its own)."""
    return ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="import-requests")


def in_parallel(work: Callable[[T], R], inputs: Iterable[T]) -> Iterator[R]:
    """work(input) for every input, WRITERS at a time, results in input order. `work` must not wait for this pool
    itself (a batch of this module inside it could wait for a worker that never frees)."""
    return _pool().map(work, inputs)


def _write_batch(put_items: list[dict[str, Any]]) -> int:
    table = get_settings().table_name
    # The model's own connection knows the table's schema without a DescribeTable call.
    writer = TableItem._get_connection()
    remaining = put_items
    for attempt in range(MAX_BATCH_ATTEMPTS):
        data = writer.batch_write_item(put_items=remaining) or {}
        unprocessed = (data.get("UnprocessedItems") or {}).get(table) or []
        if not unprocessed:
            return len(put_items)
        remaining = [entry["PutRequest"]["Item"] for entry in unprocessed]
        backoff.pause(attempt, cap=BATCH_BACK_OFF_CAP)
    raise PutError(f"{len(remaining)} items stayed unprocessed after {MAX_BATCH_ATTEMPTS} attempts")


def batch_get(keys_wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], TableItem]:
    """BatchGetItem per 100 keys, the pages in parallel (never one GetItem per row); unprocessed keys are retried
    by PynamoDB."""
    unique = list(dict.fromkeys(keys_wanted))
    pages = [unique[start : start + BATCH_GET_SIZE] for start in range(0, len(unique), BATCH_GET_SIZE)]
    found: dict[tuple[str, str], TableItem] = {}
    for items in _pool().map(lambda page: list(TableItem.batch_get(page)), pages):
        found.update({(item.pk, item.sk): item for item in items})
    return found
