"""Patient routes and routing through the real handlers, in process, on DynamoDB Local (R-ROUTE-1..8, R-REL-1).

The patient's side needs a DOB-verified patient; the login flow belongs to another area, so these tests verify the
patient's DOB directly in the table and then drive the real handlers (the routing function is subscribed to the
in-process event bus exactly as the local runner wires it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import secret_value
from tests.support import invoke_route, keep_open, unique_email, unique_phone


@pytest.fixture
def bus(dynamodb: str) -> Iterator[Any]:
    from frontdesk.adapters.clock import LOCAL_CLOCK
    from frontdesk.adapters.events import LOCAL_BUS
    from infra.local.functions import invoke
    from infra.template import wiring

    wired = wiring()
    LOCAL_BUS.clear_subscribers()
    for rule in wired.rules:
        spec = wired.functions[rule.function]
        LOCAL_BUS.subscribe(rule.pattern, lambda event, spec=spec: invoke(spec, event))
    yield LOCAL_BUS
    LOCAL_BUS.clear_subscribers()
    LOCAL_CLOCK.reset()


def _claims(role: str, practice_id: str, **ids: str) -> dict[str, str]:
    return {
        "sub": ids.get("staff_id") or ids.get("patient_id") or role,
        "role": role,
        "practice_id": practice_id,
        **ids,
    }


class World:
    """A practice with an admin, a staff member and a DOB-verified patient with a cell phone."""

    def __init__(self, *, pm: bool = False) -> None:
        support = {"sub": "support", "role": "support"}
        number = unique_phone()
        reply = invoke_route(
            "POST",
            "/practices",
            {"name": "P", "country": "US", "textable_number": number, "has_pm_integration": pm},
            support,
        )
        assert reply.status == 201, reply
        self.practice_id = reply.body["practice_id"]
        self.number = reply.body["textable_number"]
        admin = invoke_route(
            "POST",
            "/staff",
            {"name": "Ada", "email": unique_email("ada"), "role": "admin", "practice_id": self.practice_id},
            support,
        )
        self.admin_id = admin.body["staff_id"]
        self.admin = _claims("admin", self.practice_id, staff_id=self.admin_id)
        keep_open(self.admin)  # routing rules, not office hours, are under test here
        staff = invoke_route("POST", "/staff", {"name": "Tom", "email": unique_email("tom")}, self.admin)
        self.staff_id = staff.body["staff_id"]
        self.staff = _claims("staff", self.practice_id, staff_id=self.staff_id)
        self.cell = unique_phone()
        self.patient = self.new_patient(cell_phone=self.cell)
        self.patient_claims = _claims("patient", self.practice_id, patient_id=self.patient["patient_id"])

    def new_patient(self, **fields: Any) -> dict[str, Any]:
        from frontdesk.adapters.clock import get_clock
        from frontdesk.store.patients import PatientItem

        body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", **fields}
        reply = invoke_route("POST", "/patients", body, self.admin)
        assert reply.status == 201, reply
        item = PatientItem.get(*PatientItem.key(self.practice_id, reply.body["patient_id"]))
        item.update(actions=[PatientItem.dob_verified_at.set(get_clock().now()), PatientItem.verified.set(True)])
        return dict(reply.body)

    def settings(self, reasons: bool = True, locations: bool = False) -> None:
        body = {"reasons_enabled": reasons, "locations_enabled": locations}
        assert invoke_route("PUT", "/routing-settings", body, self.admin).status == 200

    def subscribe(self, staff_id: str, **subs: list[str]) -> None:
        reply = invoke_route("PUT", f"/staff/{staff_id}/subscriptions", subs, self.admin)
        assert reply.status == 200, reply

    def send(self, body: str = "Hello", reason: str | None = None, client_id: str | None = None) -> Any:
        from frontdesk.ids import new_id

        payload: dict[str, Any] = {"body": body, "client_message_id": client_id or new_id()}
        if reason is not None:
            payload["reason"] = reason
        return invoke_route("POST", "/patient/conversation/messages", payload, self.patient_claims)

    def conversation(self) -> Any:
        reply = invoke_route("GET", f"/conversations/{self.patient['conversation_id']}", None, self.admin)
        assert reply.status == 200, reply
        return reply.body

    def prompt(self) -> dict[str, Any]:
        reply = invoke_route("GET", "/patient/conversation", None, self.patient_claims)
        assert reply.status == 200, reply
        return dict(reply.body["reason_prompt"])


def _advance(seconds: float) -> None:
    from frontdesk.adapters.clock import LOCAL_CLOCK

    LOCAL_CLOCK.advance(seconds)


def test_r_dob_gate_blocks_patient_conversation_until_verified(bus: Any) -> None:
    # Given a patient whose DOB was never verified
    world = World()
    fresh = world.new_patient()
    from frontdesk.store.patients import PatientItem

    PatientItem.get(*PatientItem.key(world.practice_id, fresh["patient_id"])).update(
        actions=[PatientItem.dob_verified_at.remove()]
    )
    claims = _claims("patient", world.practice_id, patient_id=fresh["patient_id"])
    # When they open their conversation or post a message
    reply = invoke_route("GET", "/patient/conversation", None, claims)
    posted = invoke_route("POST", "/patient/conversation/messages", {"body": "x", "client_message_id": "1"}, claims)
    # Then both are refused with the DOB code
    assert (reply.status, reply.error_code) == (403, "dob_verification_required")
    assert (posted.status, posted.error_code) == (403, "dob_verification_required")


def test_r_route_3_prompt_only_when_closed_read_and_quiet_for_an_hour(bus: Any) -> None:
    # Given reason routing on and a subscriber for billing
    world = World()
    world.settings(reasons=True)
    world.subscribe(world.staff_id, reasons=["billing"])
    # Then a first-time writer with a closed conversation is prompted, offered only billing (R-ROUTE-4)
    prompt = world.prompt()
    assert prompt == {"required": True, "reasons": [{"reason": "billing", "label": "Billing"}]}
    assert (world.send().error_code) == "reason_required"
    assert world.send(reason="appointments").error_code == "reason_not_offered"
    assert world.send(reason="billing").status == 201
    # The conversation is now open: no prompt (R-ROUTE-3)
    assert world.prompt()["required"] is False
    # Closed again, but the last patient message is under an hour old: no prompt (R-ROUTE-5)
    assert (
        invoke_route("POST", f"/conversations/{world.patient['conversation_id']}/close", {}, world.admin).status == 200
    )
    assert world.prompt()["required"] is False
    # Over an hour later, and the practice wrote something the patient has not read: still no prompt
    _advance(3601)
    reply = invoke_route(
        "POST", f"/conversations/{world.patient['conversation_id']}/messages", {"body": "Hi"}, world.admin
    )
    assert reply.status == 201
    assert world.prompt()["required"] is False
    # Once the patient read it, the prompt is back
    assert invoke_route("POST", "/patient/conversation/read", None, world.patient_claims).status == 200
    assert world.prompt()["required"] is True


def test_r_route_4_reasons_without_subscribers_are_hidden(bus: Any) -> None:
    world = World()
    world.settings(reasons=True)
    # Given nobody subscribes to any reason, then nothing is offered and no prompt is shown
    assert world.prompt() == {"required": False, "reasons": []}
    # When someone subscribes to prescriptions, it becomes the one reason offered
    world.subscribe(world.staff_id, reasons=["prescriptions_refills"])
    reasons = invoke_route("GET", "/routing/reasons", None, world.staff).body["items"]
    visible = {r["reason"]: (r["visible_to_patients"], r["subscribers"]) for r in reasons}
    assert visible["prescriptions_refills"] == (True, [world.staff_id])
    assert visible["billing"] == (False, [])
    assert [r["reason"] for r in world.prompt()["reasons"]] == ["prescriptions_refills"]


def test_r_route_5_sticky_reason_within_the_hour(bus: Any) -> None:
    world = World()
    world.settings(reasons=True)
    world.subscribe(world.staff_id, reasons=["billing", "appointments"])
    assert world.send(reason="billing").body["reason"] == "billing"
    invoke_route("POST", f"/conversations/{world.patient['conversation_id']}/close", {}, world.admin)
    # Within the hour, even after closing, the next message keeps the reason whatever is sent
    _advance(1800)
    assert world.send(reason="appointments").body["reason"] == "billing"
    assert world.send().body["reason"] == "billing"


def test_r_rel_1_repeated_client_message_id_is_answered_like_the_first(bus: Any) -> None:
    world = World()
    first = world.send("once", client_id="abc-1")
    again = world.send("once", client_id="abc-1")
    assert (first.status, again.status) == (201, 201)
    assert first.body == again.body
    bodies = [m["body"] for m in world.conversation()["messages"]]
    assert bodies.count("once") == 1


def test_r_route_body_over_the_byte_ceiling_is_413(bus: Any) -> None:
    from frontdesk.http import MAX_BODY_BYTES

    world = World()
    reply = world.send("x" * (MAX_BODY_BYTES + 1))
    assert (reply.status, reply.error_code) == (413, "too_large")
    assert world.conversation()["messages"] == []


def test_r_route_1_patient_message_opens_closed_conversation_in_unassigned(bus: Any) -> None:
    world = World()
    world.subscribe(world.admin_id, inboxes=["unassigned"])
    assert world.send("Need help").status == 201
    conversation = world.conversation()
    assert conversation["status"] == "open"
    assert conversation["holder"] == {"type": "unassigned", "id": None}
    routing = conversation["messages"][0]["routing"]
    assert routing["rule"] == "unassigned_triage" and routing["recipients"] == [world.admin_id]
    listed = invoke_route("GET", "/inboxes/unassigned/conversations", None, world.admin).body["items"]
    assert [i["conversation_id"] for i in listed] == [world.patient["conversation_id"]]


def test_r_rel_1_message_received_delivered_twice_routes_once(bus: Any) -> None:
    # Given a routed message with one recipient
    world = World()
    world.settings(reasons=True)
    world.subscribe(world.staff_id, reasons=["billing"])
    world.send(reason="billing")
    event = [
        e
        for e in bus.published
        if e["detail-type"] == "MessageReceived" and e["detail"]["practice_id"] == world.practice_id
    ][-1]
    # When EventBridge delivers the same event again
    from infra.local.functions import invoke
    from infra.template import wiring

    wired = wiring()
    result = invoke(wired.functions[wired.rules[0].function], event)
    # Then it is recognised as routed and the recipient has exactly one notification
    assert result["already_routed"] is True
    notes = invoke_route("GET", "/staff/me/notifications", None, world.staff).body["items"]
    assert len(notes) == 1 and notes[0]["type"] == "new_message"


def test_r_route_8_system_message_is_routed_and_notifies_as_system_message(bus: Any) -> None:
    # Given a staff member subscribed to Unassigned and a patient who has not verified their DOB yet
    world = World()
    world.subscribe(world.staff_id, inboxes=["unassigned"])
    body = {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1980-04-02", "cell_phone": unique_phone()}
    patient = invoke_route("POST", "/patients", body, world.admin).body
    claims = _claims("patient", world.practice_id, patient_id=patient["patient_id"])
    # When the patient reports a different DOB (the service posts a `dob_reported_different` system message)
    answer = invoke_route("POST", "/patient/dob-verification", {"date_of_birth": "1981-05-06"}, claims)
    assert answer.body == {"result": "reported_different"}, answer
    # Then routing opened the conversation and notified the subscriber with the system-message type
    reply = invoke_route("GET", f"/conversations/{patient['conversation_id']}", None, world.admin)
    assert reply.body["status"] == "open" and reply.body["messages"][0]["kind"] == "dob_reported_different"
    notes = invoke_route("GET", "/staff/me/notifications", None, world.staff).body["items"]
    assert [n["type"] for n in notes] == ["system_message"]


def test_r_route_7_upcoming_appointment_location_labels_and_sticks(bus: Any) -> None:
    world = World(pm=True)
    integration = _claims("integration", world.practice_id)
    locations = {"items": [{"location_id": "man", "name": "Manhattan"}, {"location_id": "bk", "name": "Brooklyn"}]}
    assert invoke_route("PUT", "/integrations/pm/locations", locations, integration).status == 200
    assert invoke_route("POST", "/routing/locations/sync", None, world.admin).status == 200
    world.settings(reasons=False, locations=True)
    world.subscribe(world.staff_id, locations=["man"])
    world.subscribe(world.admin_id, locations=["unknown"], inboxes=["unassigned"])
    from frontdesk.adapters.clock import get_clock, iso

    soon = iso(get_clock().now() + timedelta(days=2))
    later = iso(get_clock().now() + timedelta(days=9))
    appt = {"patient_id": world.patient["patient_id"], "location_id": "man", "starts_at": soon, "status": "booked"}
    assert invoke_route("PUT", "/integrations/pm/appointments/a1", appt, integration).status == 200
    other = {**appt, "location_id": "bk", "starts_at": later}
    assert invoke_route("PUT", "/integrations/pm/appointments/a2", other, integration).status == 200
    # When the patient writes, the next appointment (Manhattan) labels the conversation and the profile
    world.send("about my visit")
    conversation = world.conversation()
    assert conversation["labels"]["location"] == "man"
    routing = conversation["messages"][-1]["routing"]
    assert routing["location_source"] == "upcoming_appointment" and routing["recipients"] == [world.staff_id]
    profile = invoke_route("GET", f"/patients/{world.patient['patient_id']}", None, world.admin).body
    assert profile["location"] == "man"
    # A cancelled appointment no longer counts: the next one is Brooklyn
    cancelled = {**appt, "status": "cancelled"}
    assert invoke_route("PUT", "/integrations/pm/appointments/a1", cancelled, integration).status == 200
    world.send("again")
    assert world.conversation()["labels"]["location"] == "bk"
    # With no upcoming appointment at all, the profile's location is used
    gone = {**other, "status": "cancelled"}
    assert invoke_route("PUT", "/integrations/pm/appointments/a2", gone, integration).status == 200
    world.send("and again")
    last = world.conversation()["messages"][-1]["routing"]
    assert (last["location"], last["location_source"]) == ("bk", "profile")


def test_r_route_13_shared_number_goes_to_the_most_recently_active_patient(bus: Any) -> None:
    import json

    from tests.support import sign

    # Given two profiles sharing a cell phone, the older one being the one who wrote last (in the app)
    world = World()
    shared = unique_phone()
    older = world.new_patient(cell_phone=shared, first_name="Ana")
    newer = world.new_patient(cell_phone=shared, first_name="Bea")
    older_claims = _claims("patient", world.practice_id, patient_id=older["patient_id"])
    _advance(5)
    posted = invoke_route(
        "POST", "/patient/conversation/messages", {"body": "hi", "client_message_id": "c1"}, older_claims
    )
    assert posted.status == 201
    # When an SMS arrives from the shared number
    raw = json.dumps({"provider_message_id": "p-1", "from": shared, "to": world.number, "body": "it is me"}).encode()
    reply = invoke_route(
        "POST", "/webhooks/sms", raw, headers={"x-frontdesk-signature": sign(raw, secret_value("webhook"))}
    )
    # Then it lands with Ana (most recently active), flagged ambiguous; Bea's conversation stays empty
    assert reply.status == 200, reply
    assert reply.body["conversation_id"] == older["conversation_id"]
    messages = invoke_route("GET", f"/conversations/{older['conversation_id']}", None, world.admin).body["messages"]
    assert [(m["channel"], m.get("ambiguous_sender")) for m in messages] == [("app", None), ("sms", True)]
    empty = invoke_route("GET", f"/conversations/{newer['conversation_id']}", None, world.admin).body["messages"]
    assert empty == []


def test_r_route_6_voicemail_without_mapped_extension_removes_the_reason(bus: Any) -> None:
    import json

    from tests.support import sign

    world = World()
    world.settings(reasons=True)
    world.subscribe(world.staff_id, reasons=["billing"])
    assert world.send(reason="billing").body["reason"] == "billing"
    assert world.conversation()["labels"]["reason"] == "billing"
    payload = {
        "provider_message_id": "vm-1",
        "from": world.cell,
        "to": world.number,
        "recording_url": "https://example.org/vm.mp3",
        "line_type": "cell",
        "extension": "9",  # not mapped to anything
    }
    raw = json.dumps(payload).encode()
    reply = invoke_route(
        "POST", "/webhooks/voicemail", raw, headers={"x-frontdesk-signature": sign(raw, secret_value("webhook"))}
    )
    assert reply.status == 200, reply
    conversation = world.conversation()
    assert conversation["labels"]["reason"] is None
    assert conversation["messages"][-1]["routing"]["reason_source"] == "cleared_by_voicemail"
    # ... and the sticky hour no longer carries billing: the next app message within the hour has no reason
    assert world.send().body["reason"] is None
