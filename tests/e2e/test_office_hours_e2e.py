"""Office hours and nothing left unanswered, end to end through the local runner with its clock moved
(R-HOURS-2, R-HOURS-3, R-HOURS-4, R-ROUTE-14, R-ROUTE-15): SMS through the signed webhook, replies read from
/_local/outbox, the scheduled jobs run by POST /_local/jobs/{job}/run.

The runner's clock is shared by every e2e test and only ever moves forward: each test moves it to the next
suitable New York wall-clock time after the runner's current time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from tests.support import Api, Reply, sign, unique_phone

NY = ZoneInfo("America/New_York")
DEFAULT_HOURS: dict[str, Any] = {
    "timezone": "America/New_York",
    "weekly": {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "closures": [],
    "after_hours_message": "Our office is closed.",
    "response_target_minutes": 240,
}
EMERGENCY = "If this is a medical emergency, call 911."


def _now(api: Api) -> datetime:
    return datetime.fromisoformat(api.call("GET", "/_local/clock").body["now"].replace("Z", "+00:00"))


def _next_local(api: Api, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The first New York `weekday` (0 = Monday) at hh:mm at least a day after the runner's clock, in UTC."""
    local = (_now(api) + timedelta(days=1)).astimezone(NY)
    day = local.date()
    while True:
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)
        if candidate.weekday() == weekday and candidate > local:
            return candidate.astimezone(UTC)
        day += timedelta(days=1)


def _set(api: Api, when: datetime, practice: dict[str, Any]) -> None:
    """Moves the runner's clock; the admin's token is minted again (tokens expire with the clock)."""
    reply = api.call("POST", "/_local/clock", body={"now": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    assert reply.status == 200, reply
    practice["admin"] = api.token("admin", practice["practice_id"], staff_id=practice["admin_id"])


def _sms(api: Api, practice: dict[str, Any], sender: str, body: str) -> Reply:
    payload = {"provider_message_id": unique_phone(), "from": sender, "to": practice["textable_number"], "body": body}
    raw = json.dumps(payload).encode()
    headers = {"X-Frontdesk-Signature": sign(raw, api.config()["webhook_secret"]), "Content-Type": "application/json"}
    reply = api.call("POST", "/webhooks/sms", data=raw, headers=headers)
    assert reply.status in (200, 201), reply
    return reply


def _outbox(api: Api, phone: str, containing: str) -> list[dict[str, Any]]:
    items = api.call("GET", f"/_local/outbox?to={quote(phone)}").body["items"]
    return [item for item in items if containing in item["body"]]


def _run(api: Api, job: str) -> dict[str, Any]:
    reply = api.call("POST", f"/_local/jobs/{job}/run")
    assert reply.status == 200, reply
    return dict(reply.body)


def _kinds(api: Api, practice: dict[str, Any], conversation_id: str, kind: str) -> list[dict[str, Any]]:
    reply = api.call("GET", f"/conversations/{conversation_id}", practice["admin"])
    assert reply.status == 200, reply
    return [m for m in reply.body["messages"] if m.get("kind") == kind]


def _patient(api: Api, practice: dict[str, Any]) -> tuple[str, str]:
    cell = unique_phone()
    patient = api.new_patient(practice, cell_phone=cell)
    return cell, patient["conversation_id"]


def test_r_hours_2_a_message_at_22_gets_the_reply_once_a_night(api: Api) -> None:
    # Given a practice with weekday hours 08:00-17:00 New York and a patient who texts
    practice = api.new_practice(office_hours=DEFAULT_HOURS)
    cell, conversation_id = _patient(api, practice)
    tuesday_22 = _next_local(api, 1, 22)
    # When they text at 22:00 local, and again at 23:30
    _set(api, tuesday_22, practice)
    _sms(api, practice, cell, "Is my prescription ready?")
    _set(api, tuesday_22 + timedelta(minutes=90), practice)
    _sms(api, practice, cell, "Hello?")
    # Then one reply came back by SMS (the practice's message and the 911 sentence) and one is in the conversation
    replies = _outbox(api, cell, EMERGENCY)
    assert [r["body"] for r in replies] == [f"Our office is closed. {EMERGENCY}"]
    assert len(_kinds(api, practice, conversation_id, "after_hours_reply")) == 1
    # When they text the next night at 22:00
    _set(api, tuesday_22 + timedelta(days=1), practice)
    _sms(api, practice, cell, "Still waiting")
    # Then that night has its own reply
    assert len(_outbox(api, cell, EMERGENCY)) == 2
    assert len(_kinds(api, practice, conversation_id, "after_hours_reply")) == 2


def test_r_hours_3_unanswered_over_the_weekend_escalates_monday_at_the_right_minute(api: Api) -> None:
    # Given a practice (240 office minutes) and a text on Friday at 16:00 local: one office hour left that day
    practice = api.new_practice(office_hours=DEFAULT_HOURS)
    staff_id, _ = api.new_staff(practice)
    cell, conversation_id = _patient(api, practice)
    friday_16 = _next_local(api, 4, 16)
    _set(api, friday_16, practice)
    _sms(api, practice, cell, "Can I get a refill?")
    monday = friday_16.astimezone(NY).date() + timedelta(days=3)
    monday_11 = datetime(monday.year, monday.month, monday.day, 11, 0, tzinfo=NY)
    # When the job runs at 10:59 (three office hours): nothing
    _set(api, monday_11.astimezone(UTC) - timedelta(seconds=30), practice)
    _run(api, "escalate-overdue")
    assert not _kinds(api, practice, conversation_id, "response_overdue")
    # When it runs at 11:00, twice
    _set(api, monday_11.astimezone(UTC) + timedelta(seconds=30), practice)
    _run(api, "escalate-overdue")
    _run(api, "escalate-overdue")
    # Then the conversation is escalated once and listed as overdue for the admin
    assert len(_kinds(api, practice, conversation_id, "response_overdue")) == 1
    overdue = api.call("GET", "/inboxes/overdue/conversations", practice["admin"]).body["items"]
    assert [i["conversation_id"] for i in overdue] == [conversation_id]
    assert overdue[0]["overdue_since"].startswith(monday_11.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"))
    # And a staff member it was not routed to does not see it
    staff_token = api.token("staff", practice["practice_id"], staff_id=staff_id)
    assert api.call("GET", "/inboxes/overdue/conversations", staff_token).body["items"] == []
    # When staff reply, it leaves the list
    reply = api.call("POST", f"/conversations/{conversation_id}/messages", practice["admin"], {"body": "Sent."})
    assert reply.status == 201, reply
    assert api.call("GET", "/inboxes/overdue/conversations", practice["admin"]).body["items"] == []


def test_r_hours_4_an_unread_reply_is_reminded_three_times_then_staff_are_told(api: Api) -> None:
    # Given a staff reply on a Tuesday at 10:00 local that the patient never reads
    practice = api.new_practice(office_hours=DEFAULT_HOURS)
    cell, conversation_id = _patient(api, practice)
    tuesday_10 = _next_local(api, 1, 10)
    _set(api, tuesday_10, practice)
    reply = api.call("POST", f"/conversations/{conversation_id}/messages", practice["admin"], {"body": "Results in."})
    assert reply.status == 201, reply
    # When the job runs (twice each time) a day, two days and three days later
    for day in (1, 2, 3):
        _set(api, tuesday_10 + timedelta(days=day, minutes=1), practice)
        _run(api, "remind-unread")
        _run(api, "remind-unread")
        # Then one reminder a day
        assert len(_outbox(api, cell, "unread message")) == day
    assert not _kinds(api, practice, conversation_id, "patient_not_reading")
    # When a fourth day passes: no fourth text, and staff get patient_not_reading once
    _set(api, tuesday_10 + timedelta(days=4, minutes=2), practice)
    _run(api, "remind-unread")
    _run(api, "remind-unread")
    assert len(_outbox(api, cell, "unread message")) == 3
    assert len(_kinds(api, practice, conversation_id, "patient_not_reading")) == 1


def test_r_route_14_coverage_lists_the_gap_an_admin_creates(api: Api) -> None:
    # Given reason routing on and one staff member subscribed to every reason
    practice = api.new_practice()
    staff_id, _ = api.new_staff(practice)
    settings = {"reasons_enabled": True, "locations_enabled": False}
    assert api.call("PUT", "/routing-settings", practice["admin"], settings).status == 200
    every = [
        "appointments",
        "prescriptions_refills",
        "test_lab_results",
        "billing",
        "referrals",
        "forms_records",
        "other",
    ]
    assert api.call("PUT", f"/staff/{staff_id}/subscriptions", practice["admin"], {"reasons": every}).status == 200
    assert api.call("GET", "/routing/coverage", practice["admin"]).body["uncovered"] == []
    # When the admin removes billing from that last subscriber
    rest = [reason for reason in every if reason != "billing"]
    assert api.call("PUT", f"/staff/{staff_id}/subscriptions", practice["admin"], {"reasons": rest}).status == 200
    # Then coverage lists the gap
    coverage = api.call("GET", "/routing/coverage", practice["admin"]).body
    assert coverage == {"reasons_enabled": True, "locations_enabled": False, "uncovered": [{"reason": "billing"}]}


def test_r_route_15_simulate_answers_like_real_routing(api: Api) -> None:
    # Given reason routing on: one staff member takes `other`, the admin takes billing
    practice = api.new_practice()
    staff_id, _ = api.new_staff(practice)
    api.call("PUT", "/routing-settings", practice["admin"], {"reasons_enabled": True, "locations_enabled": False})
    api.call("PUT", f"/staff/{staff_id}/subscriptions", practice["admin"], {"reasons": ["other"]})
    api.call("PUT", f"/staff/{practice['admin_id']}/subscriptions", practice["admin"], {"reasons": ["billing"]})
    # When the admin simulates an SMS, then a real SMS arrives
    simulated = api.call("POST", "/routing/simulate", practice["admin"], {"reason": "billing", "channel": "sms"})
    assert simulated.status == 200, simulated
    cell, conversation_id = _patient(api, practice)
    _sms(api, practice, cell, "hello")
    routed = api.call("GET", f"/conversations/{conversation_id}", practice["admin"]).body["messages"][-1]["routing"]
    # Then the simulation named the same recipients, holder and rule (an SMS clears the reason: `other`)
    assert simulated.body["recipients"] == [{"staff_id": staff_id}] == [{"staff_id": s} for s in routed["recipients"]]
    assert simulated.body["holder"] == routed["holder"]
    assert simulated.body["routing"]["rule"] == routed["rule"] == "subscriptions"
    assert simulated.body["routing"]["reason_bucket"] == routed["reason_bucket"] == "other"
