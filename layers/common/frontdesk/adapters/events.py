"""Event publisher: EventBridge in AWS; locally, synchronous delivery to the subscribers the runner wires."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

SOURCE_PREFIX = "frontdesk."


class EventPublisher(Protocol):
    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None: ...


Subscriber = Callable[[dict[str, Any]], None]


class LocalEventBus:
    """Delivers each event to every matching subscriber before publish() returns (API.md: local runner)."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[dict[str, Any], Subscriber]] = []
        self._lock = threading.Lock()
        self.published: list[dict[str, Any]] = []

    def subscribe(self, pattern: dict[str, Any], subscriber: Subscriber) -> None:
        self._subscribers.append((pattern, subscriber))

    def clear_subscribers(self) -> None:
        self._subscribers.clear()

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        from frontdesk.adapters.clock import get_clock, iso
        from frontdesk.ids import new_id

        event = {
            "version": "0",
            "id": new_id(),
            "detail-type": detail_type,
            "source": source,
            "account": "000000000000",
            "time": iso(get_clock().now()),
            "region": "us-east-1",
            "resources": [],
            "detail": json.loads(json.dumps(detail)),
        }
        with self._lock:
            self.published.append(event)
        for pattern, subscriber in list(self._subscribers):
            if matches(pattern, event):
                subscriber(event)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """The subset of EventBridge pattern matching our template uses: exact values listed per field."""
    for key, allowed in pattern.items():
        value = event.get(key)
        if isinstance(allowed, dict):
            if not isinstance(value, dict) or not matches(allowed, value):
                return False
        elif isinstance(allowed, list) and value not in allowed:
            return False
    return True


class AwsEventBridge:
    def __init__(self, bus_name: str, client: Any = None) -> None:
        self._bus_name = bus_name
        self._client = client

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        if self._client is None:
            from frontdesk.adapters import aws

            self._client = aws.client("events")
        entry = {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus_name,
        }
        response = self._client.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            from frontdesk.errors import Unavailable

            raise Unavailable("The event could not be published; try again.")


LOCAL_BUS = LocalEventBus()


@lru_cache(maxsize=1)
def _aws_bus() -> AwsEventBridge:
    from frontdesk.settings import get_settings

    return AwsEventBridge(get_settings().event_bus_name)


def get_publisher() -> EventPublisher:
    from frontdesk.settings import get_settings

    return LOCAL_BUS if get_settings().is_local else _aws_bus()
