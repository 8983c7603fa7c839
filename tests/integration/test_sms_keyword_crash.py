"""R-SMS-2 when the intake Lambda dies half-way through a keyword and SNS delivers it again (at least once, R-SMS-1):
the redelivery must still confirm once, tell the team once, and never route the keyword to staff as a message."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pynamodb.connection.base import Connection

from frontdesk.adapters.sms import LOCAL_OUTBOX
from frontdesk.domain.sms_keywords import OptOutState
from frontdesk.store import keys, sms_optout
from frontdesk.store.conversations import MessageItem
from infra.local.functions import invoke
from infra.template import wiring
from tests.support import practice_with_texting_patient

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parent.parent / "events" / "sns_two_way_sms.json"


class Crash(Exception):
    """The Lambda runtime dying (timeout, out of memory) between two requests to DynamoDB."""


def _event(origination: str, destination: str, body: str, inbound_id: str, timestamp: str) -> dict[str, Any]:
    event = copy.deepcopy(json.loads(SAMPLE.read_text()))
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(
        originationNumber=origination, destinationNumber=destination, messageBody=body, inboundMessageId=inbound_id
    )
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    event["Records"][0]["Sns"]["Timestamp"] = timestamp
    return event


@contextmanager
def dies_before_first(operation: str) -> Iterator[list[str]]:
    """Every request before the first `operation` reaches DynamoDB; that one never leaves the process."""
    original = Connection.dispatch
    died: list[str] = []

    def dispatch(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
        if operation_name == operation and not died:
            died.append(operation_name)
            raise Crash(operation_name)
        return original(self, operation_name, operation_kwargs)

    Connection.dispatch = dispatch  # type: ignore[method-assign]
    try:
        yield died
    finally:
        Connection.dispatch = original  # type: ignore[method-assign]


@pytest.fixture
def world(dynamodb: str) -> dict[str, Any]:
    return practice_with_texting_patient("Crash Clinic")


def _intake() -> Any:
    return wiring().functions["MessageIntakeFunction"]


def _messages(world: dict[str, Any]) -> list[MessageItem]:
    pk = keys.conversation_pk(world["practice_id"], world["patient"]["conversation_id"])
    return list(MessageItem.query(pk, MessageItem.sk.startswith("MSG#"), consistent_read=True))


def _texts(world: dict[str, Any]) -> list[str]:
    return [entry.body for entry in LOCAL_OUTBOX.messages(world["phone"])]


@pytest.mark.parametrize(
    ("earlier", "keyword", "kind", "confirmation"),
    [
        ("STOP", "START", "patient_opted_in", "receive texts from this number again"),
        (None, "STOP", "patient_opted_out", "no longer receive texts"),
    ],
)
def test_r_sms_2_a_keyword_whose_lambda_died_before_its_claim_is_confirmed_once_when_sns_delivers_it_again(
    world: dict[str, Any], earlier: str | None, keyword: str, kind: str, confirmation: str
) -> None:
    # Given a patient's number (opted out by an earlier STOP for the START case)
    if earlier is not None:
        invoke(_intake(), _event(world["phone"], world["number"], earlier, "kw-0", "2026-11-29T15:00:00.000Z"))
    before_texts, before_messages = len(_texts(world)), len(_messages(world))
    event = _event(world["phone"], world["number"], keyword, "kw-1", "2026-11-29T15:05:00.000Z")
    # When the intake Lambda dies just before its first transaction (after every earlier request of the keyword)
    with dies_before_first("TransactWriteItems") as died, pytest.raises(Crash):
        invoke(_intake(), event)
    assert died == ["TransactWriteItems"]
    # And SNS delivers the keyword again, then once more
    again = invoke(_intake(), event)
    third = invoke(_intake(), event)
    # Then the register holds the keyword, the patient got exactly one confirmation, the team exactly one system
    # message, and the keyword itself was never stored as a patient message for staff to answer
    assert sms_optout.is_opted_out(world["practice_id"], world["number"], world["phone"]) is (keyword == "STOP")
    assert again == third and again["answers"][0]["keyword"] == keyword.lower()
    new_texts = _texts(world)[before_texts:]
    assert len(new_texts) == 1 and confirmation in new_texts[0]
    new_messages = _messages(world)[before_messages:]
    assert [(m.sender, m.kind) for m in new_messages] == [("system", kind)]
    assert again["answers"][0]["message_id"] == new_messages[0].message_id


def test_r_sms_2_a_keyword_whose_register_changed_after_it_was_read_reads_it_again(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an opted-out number
    invoke(_intake(), _event(world["phone"], world["number"], "STOP", "kw-0", "2026-11-29T15:00:00.000Z"))
    before_texts = len(_texts(world))
    # And another STOP (sent at 15:02) that lands right after the START (sent at 15:05) read the register
    read = sms_optout.state
    reads: list[OptOutState | None] = []

    def racing_state(practice_id: str, number: str, phone: str) -> OptOutState | None:
        found = read(practice_id, number, phone)
        if not reads:
            racing = found.changed_at.replace(minute=2) if found else None
            assert racing is not None
            sms_optout.record(practice_id, number, phone, True, racing, "keyword")
        reads.append(found)
        return found

    monkeypatch.setattr(sms_optout, "state", racing_state)
    # When the START is delivered
    answer = invoke(_intake(), _event(world["phone"], world["number"], "START", "kw-1", "2026-11-29T15:05:00.000Z"))
    # Then its transaction lost to the other write, read the register again and opted the number in, once
    assert len(reads) == 2
    assert answer["answers"][0]["keyword"] == "start" and answer["answers"][0]["message_id"] is not None
    assert not sms_optout.is_opted_out(world["practice_id"], world["number"], world["phone"])
    new_texts = _texts(world)[before_texts:]
    assert len(new_texts) == 1 and "again" in new_texts[0]
    assert [m.kind for m in _messages(world) if m.kind == "patient_opted_in"] == ["patient_opted_in"]
