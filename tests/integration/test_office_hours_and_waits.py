"""Office hours, after-hours replies, overdue escalation, unread reminders, routing coverage and simulation through
the real handlers on DynamoDB Local, with the local clock moved (R-HOURS-1..4, R-ROUTE-14, R-ROUTE-15)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration import test_intake_patient_routes as intake_tests
from tests.integration.test_intake_patient_routes import World
from tests.support import invoke_route

bus = intake_tests.bus  # the in-process event bus fixture, routing subscribed as the runner wires it
pytestmark = pytest.mark.usefixtures("bus", "clock_reset")

NY = ZoneInfo("America/New_York")
DEFAULT_HOURS: dict[str, Any] = {
    "timezone": "America/New_York",
    "weekly": {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "closures": [],
    "after_hours_message": "We are closed.",
    "response_target_minutes": 240,
}


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A New York wall-clock time, in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def _set_clock(when: datetime) -> None:
    from frontdesk.adapters.clock import LOCAL_CLOCK

    LOCAL_CLOCK.set(when)


@pytest.fixture
def clock_reset() -> Iterator[None]:
    from frontdesk.adapters.clock import LOCAL_CLOCK

    yield
    LOCAL_CLOCK.reset()


# The week after the day these tests were written (Sunday 29 November 2026): Tuesday 1 December onwards. The DOB
# check (30 days) is measured from the clock, so every World is built with the clock already moved.
TUESDAY = (2026, 12, 1)
WEDNESDAY = (2026, 12, 2)
FRIDAY = (2026, 12, 4)
MONDAY = (2026, 12, 7)


def _world(at: datetime, hours: dict[str, Any] | None = None) -> World:
    """A practice with these office hours, and the clock at `at` when it returns (building it takes seconds)."""
    _set_clock(at)
    world = World()
    reply = invoke_route("PUT", "/office-hours", hours or DEFAULT_HOURS, world.admin)
    assert reply.status == 200, reply
    _set_clock(at)
    return world


def _messages(world: World, kind: str | None = None) -> list[dict[str, Any]]:
    items = world.conversation()["messages"]
    return [m for m in items if kind is None or m.get("kind") == kind]


def _run(job: str) -> dict[str, Any]:
    from infra.local.functions import invoke
    from infra.template import wiring

    wired = wiring()
    schedule = next(s for s in wired.schedules if s.name == job)
    return dict(invoke(wired.functions[schedule.function], dict(schedule.input)))


# ----- R-HOURS-1 -----


def test_r_hours_1_office_hours_round_trip_and_defaults() -> None:
    # Given a new practice: the defaults
    world = World()
    from frontdesk.store.office_hours import OfficeHoursItem

    OfficeHoursItem(*OfficeHoursItem.key(world.practice_id)).delete()
    got = invoke_route("GET", "/office-hours", None, world.staff)
    assert got.status == 200
    assert got.body["timezone"] == "America/New_York" and got.body["response_target_minutes"] == 240
    assert got.body["weekly"]["mon"] == [["08:00", "17:00"]] and got.body["weekly"]["sat"] == []
    # When an admin saves hours with two intervals on Monday and a closure
    body = {**DEFAULT_HOURS, "weekly": {"mon": [["08:00", "12:00"], ["13:00", "18:30"]]}, "closures": ["2026-12-25"]}
    put = invoke_route("PUT", "/office-hours", body, world.admin)
    # Then staff read exactly that back
    assert put.status == 200, put
    again = invoke_route("GET", "/office-hours", None, world.staff).body
    assert again["weekly"]["mon"] == [["08:00", "12:00"], ["13:00", "18:30"]]
    assert again["weekly"]["tue"] == [] and again["closures"] == ["2026-12-25"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Atlantis/Capital"}, "timezone"),
        ({"weekly": {"mon": [["17:00", "08:00"]]}}, "weekly.mon[0]"),
        ({"weekly": {"tue": [["08:00", "12:00"], ["11:30", "14:00"]]}}, "weekly.tue[1]"),
        ({"weekly": {"wed": [["8am", "12:00"]]}}, "weekly.wed[0]"),
        ({"closures": ["2026-13-01"]}, "closures[0]"),
        ({"response_target_minutes": "240"}, "response_target_minutes"),
        ({"after_hours_message": ""}, "after_hours_message"),
    ],
)
def test_r_hours_1_bad_office_hours_are_400_naming_the_field(change: dict[str, Any], field: str) -> None:
    world = World()
    reply = invoke_route("PUT", "/office-hours", {**DEFAULT_HOURS, **change}, world.admin)
    assert (reply.status, reply.body["error"]["field"]) == (400, field), reply


def test_r_hours_1_only_admins_change_office_hours() -> None:
    world = World()
    assert invoke_route("PUT", "/office-hours", DEFAULT_HOURS, world.staff).status == 403


# ----- R-HOURS-2 -----


def test_r_hours_2_one_reply_per_closed_period() -> None:
    # Given a practice with the default hours, and Tuesday 22:00 in New York
    world = _world(_at(*TUESDAY, 22))
    # When the patient writes twice that night
    assert world.send("first").status == 201
    _set_clock(_at(*WEDNESDAY, 2))
    assert world.send("second").status == 201
    # Then one after-hours reply: the practice's message and the emergency sentence
    replies = _messages(world, "after_hours_reply")
    assert len(replies) == 1
    assert replies[0]["body"] == "We are closed. If this is a medical emergency, call 911."
    assert replies[0]["sender"] == "system"
    # And the patient sees it in the app
    view = invoke_route("GET", "/patient/conversation", None, world.patient_claims).body
    assert [m["kind"] for m in view["messages"]].count("after_hours_reply") == 1
    # When they write during office hours, then the next night
    _set_clock(_at(*WEDNESDAY, 10))
    assert world.send("daytime").status == 201
    assert len(_messages(world, "after_hours_reply")) == 1
    _set_clock(_at(*WEDNESDAY, 23))
    assert world.send("next night").status == 201
    # Then the new closed period has its own reply
    assert len(_messages(world, "after_hours_reply")) == 2


def test_r_hours_2_two_messages_at_once_get_one_reply() -> None:
    # Given a closed practice
    world = _world(_at(*TUESDAY, 22))
    # When eight messages arrive at the same moment
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def send(i: int) -> None:
        barrier.wait()
        statuses.append(world.send(f"message {i}").status)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then all are stored and exactly one reply was written
    assert statuses == [201] * 8
    assert len(_messages(world, "after_hours_reply")) == 1


def test_r_hours_2_sms_sender_gets_the_reply_by_sms_once() -> None:
    from frontdesk.adapters.sms import LOCAL_OUTBOX
    from frontdesk.ids import new_id
    from frontdesk.services.intake import receive_sms

    # Given a practice closed for Christmas (a closure date on a Friday)
    world = _world(_at(2026, 12, 25, 11), {**DEFAULT_HOURS, "closures": ["2026-12-25"]})
    # When the patient texts twice at 11:00 local
    receive_sms(world.number, world.cell, "Are you open?", new_id())
    receive_sms(world.number, world.cell, "Hello?", new_id())
    # Then one SMS with the reply went to their number, and one system message is in the conversation
    texts = [m for m in LOCAL_OUTBOX.messages(world.cell) if "call 911" in m.body]
    assert len(texts) == 1 and texts[0].body == "We are closed. If this is a medical emergency, call 911."
    assert len(_messages(world, "after_hours_reply")) == 1


def test_r_hours_2_closed_adds_only_the_reply_write_and_open_adds_nothing() -> None:
    from collections import Counter

    def first_message_operations(when: datetime) -> Counter[str]:
        world = _world(when)
        calls = _count_calls()
        with calls:
            assert world.send("hello").status == 201
        return Counter(calls.operations)

    # Given two fresh practices, one open and one closed at the time their patient writes
    open_ops = first_message_operations(_at(*TUESDAY, 10))
    closed_ops = first_message_operations(_at(*TUESDAY, 22))
    # Then the open path reads the routing config and office hours in one BatchGetItem (no GetItem of either) and
    # the closed path adds exactly one request: the conditional transaction of the reply
    assert closed_ops - open_ops == Counter({"TransactWriteItems": 1})
    assert open_ops - closed_ops == Counter()


# ----- R-HOURS-3 -----


def test_r_hours_3_escalates_on_monday_at_the_right_minute_once() -> None:
    # Given the default hours (240 minutes) and a patient message on Friday at 16:00 local (one office hour left)
    world = _world(_at(*FRIDAY, 16))
    world.subscribe(world.admin_id, inboxes=["unassigned"])
    assert world.send("refill please").status == 201
    # When the job runs at Monday 10:59 local: three office hours have passed, not four
    _set_clock(_at(*MONDAY, 10, 59))
    _run("escalate-overdue")
    assert not _messages(world, "response_overdue")
    # When it runs at 11:00 local, twice
    _set_clock(_at(*MONDAY, 11, 0) + timedelta(seconds=30))
    _run("escalate-overdue")
    _run("escalate-overdue")
    # Then the wait is escalated exactly once
    assert len(_messages(world, "response_overdue")) == 1
    # And the admin is notified and sees it in the overdue list with overdue_since
    overdue = invoke_route("GET", "/inboxes/overdue/conversations", None, world.admin)
    assert overdue.status == 200, overdue
    (item,) = [i for i in overdue.body["items"] if i["conversation_id"] == world.patient["conversation_id"]]
    assert item["overdue_since"].startswith(_at(*MONDAY, 11).strftime("%Y-%m-%dT%H:%M"))
    notes = invoke_route("GET", "/staff/me/notifications", None, world.admin).body["items"]
    assert any(n["conversation_id"] == world.patient["conversation_id"] for n in notes)
    # And a staff member who neither holds nor would receive it does not see it
    assert not invoke_route("GET", "/inboxes/overdue/conversations", None, world.staff).body["items"]


def test_r_hours_3_staff_reply_ends_the_wait_and_a_new_message_starts_one() -> None:
    # Given an overdue conversation
    world = _world(_at(*TUESDAY, 9))
    assert world.send("question").status == 201
    _set_clock(_at(*TUESDAY, 13, 1))
    _run("escalate-overdue")
    assert len(_messages(world, "response_overdue")) == 1
    conversation_id = world.patient["conversation_id"]
    # When an internal note is added: the wait goes on
    note = invoke_route(
        "POST", f"/conversations/{conversation_id}/messages", {"body": "n", "internal": True}, world.admin
    )
    assert note.status == 201, note
    assert _overdue_ids(world) == [conversation_id]
    # When staff reply: the wait ends and it leaves the overdue list
    reply = invoke_route("POST", f"/conversations/{conversation_id}/messages", {"body": "Done."}, world.admin)
    assert reply.status == 201, reply
    assert _overdue_ids(world) == []
    # When the patient writes again, a new wait starts and is escalated 240 office minutes later
    _set_clock(_at(*TUESDAY, 14))
    assert world.send("thanks, one more thing").status == 201
    _set_clock(_at(*WEDNESDAY, 8, 59))
    _run("escalate-overdue")
    assert len(_messages(world, "response_overdue")) == 1
    _set_clock(_at(*WEDNESDAY, 9, 0) + timedelta(seconds=30))
    _run("escalate-overdue")
    assert len(_messages(world, "response_overdue")) == 2


def test_r_hours_3_a_staff_reply_racing_the_job_wins() -> None:
    from frontdesk.errors import Stale
    from frontdesk.store import waits

    # Given a due wait the job has just read
    world = _world(_at(*TUESDAY, 9))
    assert world.send("question").status == 201
    _set_clock(_at(*TUESDAY, 14))
    seen = waits.get_conversation_consistent(world.practice_id, world.patient["conversation_id"])
    assert seen is not None and seen.waiting_since is not None
    # When a staff reply commits before the job's escalation
    conversation_id = world.patient["conversation_id"]
    assert invoke_route("POST", f"/conversations/{conversation_id}/messages", {"body": "Hi"}, world.admin).status == 201
    # Then the escalation loses and nothing is escalated
    with pytest.raises(Stale):
        waits.escalate(seen, _at(*TUESDAY, 14), _system_item(world), [])
    _run("escalate-overdue")
    assert not _messages(world, "response_overdue")


def test_r_hours_3_concurrent_job_runs_escalate_once() -> None:
    world = _world(_at(*TUESDAY, 9))
    assert world.send("question").status == 201
    _set_clock(_at(*TUESDAY, 13, 30))
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        _run("escalate-overdue")

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_messages(world, "response_overdue")) == 1


# ----- R-HOURS-4 -----


def test_r_hours_4_unread_reply_reminded_three_times_then_staff_told() -> None:
    from frontdesk.adapters.sms import LOCAL_OUTBOX

    # Given a staff reply on Tuesday at 10:00 local that the patient does not read
    world = _world(_at(*TUESDAY, 10))
    conversation_id = world.patient["conversation_id"]
    assert invoke_route("POST", f"/conversations/{conversation_id}/messages", {"body": "Hi"}, world.admin).status == 201

    def reminders() -> int:
        return len([m for m in LOCAL_OUTBOX.messages(world.cell) if "unread message" in m.body])

    # When the job runs before 24 hours: nothing
    _set_clock(_at(*WEDNESDAY, 9, 59))
    _run("remind-unread")
    assert reminders() == 0
    # When it runs each day from 24 hours on, twice each time
    for day in range(3):
        _set_clock(_at(*WEDNESDAY, 10, 1) + timedelta(days=day))
        _run("remind-unread")
        _run("remind-unread")
        assert reminders() == day + 1
    assert not _messages(world, "patient_not_reading")
    # Then a day after the third reminder staff are told, once, and no fourth SMS goes
    _set_clock(_at(*WEDNESDAY, 10, 2) + timedelta(days=3))
    _run("remind-unread")
    _run("remind-unread")
    assert reminders() == 3
    assert len(_messages(world, "patient_not_reading")) == 1


def test_r_hours_4_reminders_wait_for_the_daytime_window_and_stop_when_read() -> None:
    from frontdesk.adapters.sms import LOCAL_OUTBOX

    # Given a staff reply at 22:30 local (due 22:30 the next day, outside 08:00-21:00)
    world = _world(_at(*TUESDAY, 22, 30))
    conversation_id = world.patient["conversation_id"]
    assert invoke_route("POST", f"/conversations/{conversation_id}/messages", {"body": "Hi"}, world.admin).status == 201

    def reminders() -> int:
        return len([m for m in LOCAL_OUTBOX.messages(world.cell) if "unread message" in m.body])

    _set_clock(_at(*WEDNESDAY, 22, 45))
    _run("remind-unread")
    assert reminders() == 0  # quiet hours
    _set_clock(_at(2026, 12, 3, 8, 5))
    _run("remind-unread")
    assert reminders() == 1  # the first run inside the window
    # When the patient reads the conversation
    assert invoke_route("POST", "/patient/conversation/read", None, world.patient_claims).status in (200, 204)
    # Then no further reminder and no staff message
    for day in range(1, 4):
        _set_clock(_at(2026, 12, 3, 9) + timedelta(days=day))
        _run("remind-unread")
    assert reminders() == 1
    assert not _messages(world, "patient_not_reading")


# ----- R-ROUTE-14 / R-ROUTE-15 -----


def test_r_route_14_coverage_lists_the_gap_left_by_the_last_subscriber() -> None:
    # Given reason routing on and every reason covered by someone
    world = World()
    world.settings(reasons=True)
    world.subscribe(world.admin_id, reasons=["appointments", "prescriptions_refills", "test_lab_results", "other"])
    world.subscribe(world.staff_id, reasons=["billing", "referrals", "forms_records"])
    first = invoke_route("GET", "/routing/coverage", None, world.admin)
    assert first.status == 200, first
    assert first.body == {"reasons_enabled": True, "locations_enabled": False, "uncovered": []}
    # When the admin removes billing from its only subscriber
    world.subscribe(world.staff_id, reasons=["referrals", "forms_records"])
    # Then coverage lists billing (and no location key: that dimension is off)
    assert invoke_route("GET", "/routing/coverage", None, world.admin).body["uncovered"] == [{"reason": "billing"}]
    # And staff may not ask
    assert invoke_route("GET", "/routing/coverage", None, world.staff).status == 403


def test_r_route_15_simulate_answers_like_real_routing_and_writes_nothing() -> None:
    # Given reason routing on, two billing subscribers
    world = World()
    world.settings(reasons=True)
    world.subscribe(world.admin_id, reasons=["billing"])
    world.subscribe(world.staff_id, reasons=["billing", "other"])
    # When an admin simulates an app message about billing, counting every request the handler makes
    calls = _count_calls()
    with calls:
        simulated = invoke_route("POST", "/routing/simulate", {"reason": "billing", "channel": "app"}, world.admin)
    assert simulated.status == 200, simulated
    # Then nothing was written
    assert [op for op in calls.operations if op in WRITES] == []
    # And a real billing message is routed exactly as simulated
    assert world.send("my bill", reason="billing").status == 201
    routed = world.conversation()["messages"][0]["routing"]
    assert simulated.body["recipients"] == [{"staff_id": s} for s in routed["recipients"]]
    assert simulated.body["holder"] == routed["holder"]
    for key in ("rule", "dimensions", "reason", "reason_bucket", "location_bucket", "recipients"):
        assert simulated.body["routing"][key] == routed[key]
    # And an SMS drops the reason (R-ROUTE-6): only the `other` subscriber
    sms = invoke_route("POST", "/routing/simulate", {"reason": "billing", "channel": "sms"}, world.admin).body
    assert sms["recipients"] == [{"staff_id": world.staff_id}]
    assert sms["routing"]["reason_bucket"] == "other"
    # And bad input is a 400 naming the field
    bad = invoke_route("POST", "/routing/simulate", {"reason": "gossip", "channel": "app"}, world.admin)
    assert (bad.status, bad.body["error"]["field"]) == (400, "reason")
    bad = invoke_route("POST", "/routing/simulate", {"channel": "fax"}, world.admin)
    assert (bad.status, bad.body["error"]["field"]) == (400, "channel")


# ----- helpers -----

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


class _CallCounter:
    """Counts DynamoDB operations made through PynamoDB's botocore client while active."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self._active = False

    def _seen(self, model: Any, **_: Any) -> None:
        if self._active:
            self.operations.append(model.name)

    def __enter__(self) -> _CallCounter:
        from frontdesk.store.base import TableItem, connection

        # Model operations and transactions go through two PynamoDB connections: count both.
        self._clients = {id(c): c for c in (TableItem._get_connection().connection.client, connection().client)}
        for client in self._clients.values():
            client.meta.events.register("before-call.dynamodb", self._seen)
        self._active = True
        return self

    def __exit__(self, *_: Any) -> None:
        self._active = False
        for client in self._clients.values():
            client.meta.events.unregister("before-call.dynamodb", self._seen)


def _count_calls() -> _CallCounter:
    return _CallCounter()


def _overdue_ids(world: World) -> list[str]:
    reply = invoke_route("GET", "/inboxes/overdue/conversations", None, world.admin)
    assert reply.status == 200, reply
    return [i["conversation_id"] for i in reply.body["items"]]


def _system_item(world: World) -> Any:
    from frontdesk.domain.messages import NewMessage, Posted

    message = NewMessage(
        world.practice_id, world.patient["conversation_id"], world.patient["patient_id"], "system", "system", "x"
    )
    return Posted(message, _at(*TUESDAY, 14))
