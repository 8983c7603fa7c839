"""Work queues: SQS in AWS; locally, synchronous delivery to the consumer the runner wires from template.yaml."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

# The template's logical id of the queue that fans a large import out to chunk workers (issue 5, item 7).
IMPORT_CHUNK_QUEUE = "ImportChunkQueue"

Consumer = Callable[[dict[str, Any]], None]


class Queue(Protocol):
    def send(self, body: dict[str, Any]) -> None: ...


class LocalQueues:
    """Each message is handed to the queue's consumer before send() returns (API.md: local runner)."""

    def __init__(self) -> None:
        self._consumers: dict[str, Consumer] = {}
        self._lock = threading.Lock()

    def subscribe(self, queue: str, consumer: Consumer) -> None:
        with self._lock:
            self._consumers[queue] = consumer

    def clear_subscribers(self) -> None:
        with self._lock:
            self._consumers.clear()

    def queue(self, name: str) -> Queue:
        return _LocalQueue(self, name)

    def deliver(self, name: str, body: dict[str, Any]) -> None:
        consumer = self._consumers.get(name)
        if consumer is None:
            raise RuntimeError(f"no local consumer is subscribed to {name}")
        consumer(json.loads(json.dumps(body)))


class _LocalQueue:
    def __init__(self, queues: LocalQueues, name: str) -> None:
        self._queues = queues
        self._name = name

    def send(self, body: dict[str, Any]) -> None:
        self._queues.deliver(self._name, body)


class SqsQueue:
    def __init__(self, url: str, client: Any = None) -> None:
        self._url = url
        self._client = client

    def send(self, body: dict[str, Any]) -> None:
        if self._client is None:
            self._client = _sqs()
        self._client.send_message(QueueUrl=self._url, MessageBody=json.dumps(body))


@lru_cache(maxsize=1)
def _sqs() -> Any:
    """One SQS client per container (get_chunk_queue makes a queue per call)."""
    from frontdesk.adapters import aws

    return aws.client("sqs")


LOCAL_QUEUES = LocalQueues()


def get_chunk_queue() -> Queue:
    from frontdesk.settings import get_settings

    settings = get_settings()
    if settings.is_local:
        return LOCAL_QUEUES.queue(IMPORT_CHUNK_QUEUE)
    return SqsQueue(settings.import_chunk_queue_url)
