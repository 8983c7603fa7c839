"""R-HOURS-3 on DynamoDB Local: closing a conversation ends its response wait in the move's transaction (off the due
index, out of the overdue list), so a closed conversation is never escalated; a reassignment keeps the wait (the
patient still waits; the escalation goes to whoever holds the conversation then). Before the fix a closed
conversation was escalated and stayed in the overdue list."""

from __future__ import annotations

import pytest

from tests.integration import test_office_hours_and_waits as waits_tests
from tests.integration.test_office_hours_and_waits import (
    TUESDAY,
    WEDNESDAY,
    _at,
    _messages,
    _overdue_ids,
    _run,
    _set_clock,
)
from tests.support import invoke_route

bus, clock_reset = waits_tests.bus, waits_tests.clock_reset  # the fixtures the office-hours tests use
pytestmark = pytest.mark.usefixtures("bus", "clock_reset")


def test_r_hours_3_closing_ends_the_wait_and_a_reassignment_keeps_it() -> None:
    from frontdesk.store import waits

    # Given a patient message at 09:00 (due at 13:00 local) and the conversation reassigned to a staff member
    world = waits_tests._world(_at(*TUESDAY, 9))
    assert world.send("question").status == 201
    conversation_id = world.patient["conversation_id"]
    path = f"/conversations/{conversation_id}"
    assert invoke_route("POST", f"{path}/assign", {"staff_id": world.staff_id}, world.admin).status == 200
    seen = waits.get_conversation_consistent(world.practice_id, conversation_id)
    assert seen is not None and seen.waiting_since is not None  # the reassignment kept the wait
    # When it is closed at 10:00
    _set_clock(_at(*TUESDAY, 10))
    assert invoke_route("POST", f"{path}/close", {}, world.admin).status == 200
    # Then the wait is over: nothing is due, and the job after the target escalates nothing
    closed = waits.get_conversation_consistent(world.practice_id, conversation_id)
    assert closed is not None and (closed.waiting_since, closed.overdue_since) == (None, None)
    _set_clock(_at(*TUESDAY, 13, 1))
    assert conversation_id not in [c.conversation_id for c in waits.due_waits(_at(*TUESDAY, 13, 1))]
    _run("escalate-overdue")
    assert not _messages(world, "response_overdue")


def test_r_hours_3_closing_an_overdue_conversation_takes_it_out_of_the_overdue_list() -> None:
    # Given an overdue conversation
    world = waits_tests._world(_at(*TUESDAY, 9))
    assert world.send("question").status == 201
    conversation_id = world.patient["conversation_id"]
    _set_clock(_at(*TUESDAY, 13, 1))
    _run("escalate-overdue")
    assert _overdue_ids(world) == [conversation_id]
    # When it is reassigned, it stays overdue; when it is closed, it leaves the list
    path = f"/conversations/{conversation_id}"
    assert invoke_route("POST", f"{path}/assign", {"unassigned": True}, world.admin).status == 200
    assert _overdue_ids(world) == [conversation_id]
    assert invoke_route("POST", f"{path}/close", {}, world.admin).status == 200
    assert _overdue_ids(world) == []
    # And a new patient message starts a new wait, escalated once more after the target
    _set_clock(_at(*TUESDAY, 13, 30))
    assert world.send("still there?").status == 201
    _set_clock(_at(*WEDNESDAY, 8, 31))  # 210 office minutes on Tuesday, 30 on Wednesday
    _run("escalate-overdue")
    assert len(_messages(world, "response_overdue")) == 2
