"""The container's one botocore session: PynamoDB's DynamoDB clients and every boto3 client of ours are made on it.

A botocore session owns a data loader. A client made on a fresh session (what `boto3.client(...)` on its default
session and each PynamoDB connection did) loads botocore's endpoint and partition data again, lists the ~400
service folders of botocore/data again and parses its service model again: creating the Secrets Manager client
on a session of its own cost 174 ms at the first request, on the DynamoDB client's session 13 ms (same run, load
average 7; docs/performance.md, "one botocore session"). Clients are still created lazily, on first use, and once
per container by their callers.

botocore sessions are not thread safe (clients are): every client is created under one lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    import botocore.session

LOCK = threading.RLock()  # re-entrant: PynamoDB's client creation reads the session under it
_session: botocore.session.Session | None = None
_boto3: boto3.Session | None = None


def botocore_session() -> botocore.session.Session:
    """The shared session (botocore only: a function that only reads the table never imports boto3)."""
    global _session
    with LOCK:
        if _session is None:
            from botocore.session import get_session

            _session = get_session()
        return _session


def client(service: str, **kwargs: Any) -> Any:
    """A new boto3 client on the shared session; same arguments as `boto3.client` (region, endpoint_url, ...)."""
    global _boto3
    with LOCK:
        if _boto3 is None:
            import boto3

            _boto3 = boto3.Session(botocore_session=botocore_session())
        return _boto3.client(service, **kwargs)  # type: ignore[call-overload]
