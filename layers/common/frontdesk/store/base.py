"""The single table: one polymorphic base model, its indexes, and the connection used for transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import botocore.session
from pynamodb.attributes import DiscriminatorAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from frontdesk.adapters import aws
from frontdesk.errors import Stale, Unavailable
from frontdesk.settings import get_settings
from frontdesk.store import backoff

# PynamoDB reads Meta when the class is defined (PITFALLS): settings come from the environment at import time.
_SETTINGS = get_settings()


class _IndexMeta:
    projection = AllProjection()


class Gsi1(GlobalSecondaryIndex["TableItem"]):
    """Secondary look-ups: a patient's upcoming appointments, a practice's imports."""

    class Meta(_IndexMeta):
        index_name = "gsi1"

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex["TableItem"]):
    """Inbox listings ordered by the conversation's last message."""

    class Meta(_IndexMeta):
        index_name = "gsi2"

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class Gsi3(GlobalSecondaryIndex["TableItem"]):
    """Sparse: only pending phone-change requests, ordered by expiry (the expiry and reminder jobs)."""

    class Meta(_IndexMeta):
        index_name = "gsi3"

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    class Meta:
        table_name = _SETTINGS.table_name
        region = _SETTINGS.region
        host = _SETTINGS.dynamodb_endpoint
        billing_mode = "PAY_PER_REQUEST"
        max_retry_attempts = 3
        connect_timeout_seconds = 2
        read_timeout_seconds = 5

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute(attr_name="type")
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    expires_ttl = TTLAttribute(attr_name="ttl", null=True)

    gsi1 = Gsi1()
    gsi2 = Gsi2()
    gsi3 = Gsi3()

    @classmethod
    def _get_connection(cls) -> TableConnection:
        """One connection, so one DynamoDB client, for every item type. PynamoDB keeps one per model class, and each
        made its own botocore session and client the first time a request used that type (docs/performance.md)."""
        with _CONNECTING:
            table = TableItem._connection
            if table is None:
                table = super(TableItem, TableItem)._get_connection()  # PynamoDB's, from TableItem's Meta and schema
                meta = TableItem.Meta
                shared = SharedSessionConnection(
                    region=meta.region,
                    host=meta.host,
                    connect_timeout_seconds=meta.connect_timeout_seconds,
                    read_timeout_seconds=meta.read_timeout_seconds,
                    max_retry_attempts=meta.max_retry_attempts,
                    # PynamoDB's defaults, set on Meta when the class was defined:
                    max_pool_connections=getattr(meta, "max_pool_connections", None),
                    extra_headers=getattr(meta, "extra_headers", None),
                )
                shared.add_meta_table(table.get_meta_table())
                table.connection = shared
            return table


class SharedSessionConnection(Connection):
    """A PynamoDB connection whose client is made on the container's one botocore session (adapters.aws), under
    its lock, instead of on a session of its own."""

    @property
    def session(self) -> botocore.session.Session:
        return aws.botocore_session()

    @property
    def client(self) -> Any:
        with aws.LOCK:
            return super().client


_CONNECTING = threading.Lock()
TTL_ATTRIBUTE = "ttl"


@lru_cache(maxsize=1)
def connection() -> Connection:
    """The transactions' connection (PynamoDB's default timeouts), on the shared session too."""
    return SharedSessionConnection(region=_SETTINGS.region, host=_SETTINGS.dynamodb_endpoint)


TX_LIMIT = 100  # DynamoDB: at most 100 items per transaction


@contextmanager
def transaction() -> Iterator[TransactWrite]:
    with TransactWrite(connection=connection()) as tx:
        yield tx


def cancellation_codes(error: Exception) -> list[str]:
    """The per-item reasons of a cancelled transaction, one per item IN ITEM ORDER (PITFALLS: objects with .code).

    PynamoDB gives None for an item that did not cause the cancellation; it stays in the list as "None" (DynamoDB's
    own code for it), so callers may read codes[i] as the reason of the i-th item. Dropping the Nones shifted a
    conflict on a later item to index 0: routing then took a lost race on the conversation for "already routed"
    and never routed the message (found by tests/integration/test_concurrent_messages.py).

    The item order is the REQUEST's, which PynamoDB builds by kind, not in the order the items were added: condition
    checks, then deletes, then puts, then updates (Connection.transact_write_items). A position is counted that way."""
    reasons = getattr(error, "cancellation_reasons", None) or []
    return ["None" if reason is None else (getattr(reason, "code", "") or "None") for reason in reasons]


@contextmanager
def stale_on_lost_condition() -> Iterator[None]:
    """A conditional put/update, or a transaction, that lost its condition (or conflicted with another transaction)
    raises `Stale`: someone else changed the item first, and the caller decides what that means."""
    try:
        yield
    except TransactWriteError as error:
        codes = cancellation_codes(error)
        if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
            raise Stale("a condition of the transaction no longer held") from None
        raise
    except (UpdateError, PutError) as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Stale("the item changed since it was read") from None
        raise


CONDITIONAL_PUT_ATTEMPTS = 8


def put_each_if(puts: Sequence[tuple[TableItem, Condition]]) -> set[int]:
    """Puts each item under its own condition, TX_LIMIT per TransactWriteItems (one request, not one per item),
    and returns the positions of the puts whose condition failed: the others are stored. A cancelled transaction
    is sent again without the failed puts; one that conflicted with another transaction, after a pause."""
    failed: set[int] = set()
    for start in range(0, len(puts), TX_LIMIT):
        failed |= {start + i for i in _put_page_if(puts[start : start + TX_LIMIT])}
    return failed


def _put_page_if(page: Sequence[tuple[TableItem, Condition]]) -> set[int]:
    failed: set[int] = set()
    remaining = list(range(len(page)))
    for attempt in range(CONDITIONAL_PUT_ATTEMPTS):
        if not remaining:
            return failed
        try:
            with transaction() as tx:
                for position in remaining:
                    tx.save(page[position][0], condition=page[position][1])
            return failed
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            lost = {
                position for position, code in zip(remaining, codes, strict=False) if code == "ConditionalCheckFailed"
            }
            if not lost and "TransactionConflict" not in codes:
                raise
            failed |= lost
            remaining = [position for position in remaining if position not in lost]
            if not lost:
                backoff.pause(attempt)
    raise RuntimeError("conditional puts kept conflicting with other transactions")


_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


def is_transient(error: BaseException) -> bool:
    """Throttling, timeouts and lost connections that survived botocore's retries: a clean 503 for the caller."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError

    if isinstance(error, BotoConnectionError | ReadTimeoutError):
        return True
    if not isinstance(error, PynamoDBException):
        return False
    cause = error.cause
    # cause_response_code itself fails when the cause is a botocore error without a response (a timeout).
    response = getattr(cause, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Code") in _TRANSIENT_CODES:
        return True
    return cause is not None and cause is not error and is_transient(cause)


def unavailable() -> Unavailable:
    return Unavailable("A storage dependency is unavailable; nothing was changed. Try again.")
