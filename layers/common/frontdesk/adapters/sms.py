"""SMS adapter: AWS End User Messaging SMS in the cloud, an in-memory outbox locally.

Only frontdesk.services.outbound_sms calls it (R-SMS-3: one send path that reads the opt-out register first;
tests/unit/test_one_sms_send_path.py fails on any other caller)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from frontdesk.adapters.clock import get_clock, iso


class RecipientOptedOut(Exception):  # noqa: N818 - a provider's answer, not a bug
    """The provider refused the text because the destination number opted out with the provider itself
    (End User Messaging: ConflictException, reason DESTINATION_PHONE_NUMBER_OPTED_OUT)."""


class SmsSender(Protocol):
    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None: ...


@dataclass(frozen=True)
class OutboxEntry:
    to: str
    body: str
    code: str | None
    sent_at: str

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"to": self.to, "body": self.body, "sent_at": self.sent_at}
        if self.code is not None:
            entry["code"] = self.code
        return entry


class LocalOutbox:
    """Keeps every SMS the platform sent so developers and tests can read it (GET /_local/outbox)."""

    def __init__(self) -> None:
        self._entries: list[OutboxEntry] = []
        self._lock = threading.Lock()

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        entry = OutboxEntry(to=to, body=body, code=code, sent_at=iso(get_clock().now()))
        with self._lock:
            self._entries.append(entry)

    def messages(self, to: str | None = None) -> list[OutboxEntry]:
        with self._lock:
            return [e for e in self._entries if to is None or e.to == to]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class AwsSms:
    """Sends through AWS End User Messaging SMS (pinpoint-sms-voice-v2) from the practice's number."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def _sms(self) -> Any:
        if self._client is None:
            from frontdesk.adapters import aws

            self._client = aws.client("pinpoint-sms-voice-v2")
        return self._client

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        request: dict[str, Any] = {"DestinationPhoneNumber": to, "MessageBody": body, "MessageType": "TRANSACTIONAL"}
        if sender:
            request["OriginationIdentity"] = sender
        try:
            self._sms().send_text_message(**request)
        except Exception as error:
            response = getattr(error, "response", None) or {}
            code = response.get("Error", {}).get("Code")
            if code == "ConflictException" and response.get("Reason") == "DESTINATION_PHONE_NUMBER_OPTED_OUT":
                raise RecipientOptedOut("the destination number opted out with the provider") from None
            raise


LOCAL_OUTBOX = LocalOutbox()


@lru_cache(maxsize=1)
def _aws_sms() -> AwsSms:
    return AwsSms()


def get_sms_sender() -> SmsSender:
    from frontdesk.settings import get_settings

    return LOCAL_OUTBOX if get_settings().is_local else _aws_sms()
