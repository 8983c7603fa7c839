"""Routing and intake end to end over HTTP through the local runner (R-ROUTE-1, 2, 6, 8..13, R-CREATE-3, R-SEC-1)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.support import Api, Reply, sign, unique_phone


def _webhook(api: Api, kind: str, payload: dict[str, Any], *, secret: str | None = None) -> Reply:
    raw = json.dumps(payload).encode()
    signature = sign(raw, secret if secret is not None else api.config()["webhook_secret"])
    headers = {"X-Frontdesk-Signature": signature, "Content-Type": "application/json"}
    return api.call("POST", f"/webhooks/{kind}", data=raw, headers=headers)


def _sms(api: Api, practice: dict[str, Any], sender: str, body: str = "hi", pmid: str | None = None) -> Reply:
    payload = {"provider_message_id": pmid or unique_phone(), "from": sender, "to": practice["textable_number"]}
    return _webhook(api, "sms", {**payload, "body": body})


def _voicemail(api: Api, practice: dict[str, Any], sender: str, **extra: Any) -> Reply:
    payload = {
        "provider_message_id": unique_phone(),
        "from": sender,
        "to": practice["textable_number"],
        "recording_url": "https://example.org/r.mp3",
        "line_type": "cell",
        **extra,
    }
    return _webhook(api, "voicemail", payload)


def _subscribe(api: Api, practice: dict[str, Any], staff_id: str, **subs: list[str]) -> None:
    reply = api.call("PUT", f"/staff/{staff_id}/subscriptions", practice["admin"], subs)
    assert reply.status == 200, reply


def _settings(api: Api, practice: dict[str, Any], reasons: bool, locations: bool = False) -> Reply:
    body = {"reasons_enabled": reasons, "locations_enabled": locations}
    return api.call("PUT", "/routing-settings", practice["admin"], body)


def _conversation(api: Api, practice: dict[str, Any], conversation_id: str) -> dict[str, Any]:
    reply = api.call("GET", f"/conversations/{conversation_id}", practice["admin"])
    assert reply.status == 200, reply
    return dict(reply.body)


def test_r_route_13_sms_from_unknown_number_creates_profile_and_opens_unassigned(api: Api) -> None:
    # Given a practice whose admin triages Unassigned
    practice = api.new_practice()
    _subscribe(api, practice, practice["admin_id"], inboxes=["unassigned"])
    sender = unique_phone()
    # When an SMS arrives from a number no patient has
    reply = _sms(api, practice, sender, "Is the office open?", pmid="pm-1")
    assert reply.status == 200, reply
    # Then a profile exists for that cell phone, and the conversation is open in Unassigned (R-ROUTE-1)
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": sender}).body["items"]
    assert len(found) == 1 and found[0]["cell_phone"] == sender
    conversation = _conversation(api, practice, reply.body["conversation_id"])
    assert conversation["status"] == "open" and conversation["holder"]["type"] == "unassigned"
    assert [m["channel"] for m in conversation["messages"]] == ["sms"]
    inbox = api.call("GET", "/inboxes/unassigned/conversations", practice["admin"]).body["items"]
    assert [i["conversation_id"] for i in inbox] == [reply.body["conversation_id"]]
    # And a replay of the same provider message is answered like the first, nothing written twice (R-REL-1)
    again = _sms(api, practice, sender, "Is the office open?", pmid="pm-1")
    assert again.status == 200 and again.body == reply.body
    assert len(_conversation(api, practice, reply.body["conversation_id"])["messages"]) == 1
    assert len(api.call("POST", "/patients/search", practice["admin"], {"phone": sender}).body["items"]) == 1


def test_r_route_13_landline_voicemail_creates_landline_profile(api: Api) -> None:
    practice = api.new_practice()
    sender = unique_phone()
    reply = _voicemail(api, practice, sender, line_type="landline", transcript="Call me back")
    assert reply.status == 200, reply
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": sender}).body["items"]
    assert found[0]["cell_phone"] is None and found[0]["landlines"] == [sender]
    message = _conversation(api, practice, reply.body["conversation_id"])["messages"][0]
    assert message["channel"] == "voicemail" and message["recording_url"] == "https://example.org/r.mp3"


def test_r_route_13_shared_number_goes_to_most_recently_active_and_is_flagged(api: Api) -> None:
    practice = api.new_practice()
    shared = unique_phone()
    older = api.new_patient(practice, cell_phone=shared, first_name="Ana")
    newer = api.new_patient(practice, cell_phone=shared, first_name="Bea")
    # The most recently active of them is Bea (newest profile, nobody wrote yet)
    reply = _sms(api, practice, shared, "who am I")
    assert reply.body["conversation_id"] == newer["conversation_id"]
    assert _conversation(api, practice, newer["conversation_id"])["messages"][0]["ambiguous_sender"] is True
    assert _conversation(api, practice, older["conversation_id"])["messages"] == []


def test_r_sec_1_unsigned_or_wrongly_signed_webhooks_are_401_and_store_nothing(api: Api) -> None:
    practice = api.new_practice()
    sender = unique_phone()
    payload = {"provider_message_id": "x1", "from": sender, "to": practice["textable_number"], "body": "hi"}
    unsigned = api.call("POST", "/webhooks/sms", body=payload)
    wrong = _webhook(api, "sms", payload, secret="not-the-secret")
    garbage = api.call("POST", "/webhooks/voicemail", data=b"{not json", headers={"X-Frontdesk-Signature": "sha256=00"})
    assert [r.status for r in (unsigned, wrong, garbage)] == [401, 401, 401]
    assert unsigned.error_code == "unauthenticated"
    assert api.call("POST", "/patients/search", practice["admin"], {"phone": sender}).body["items"] == []


def test_r_route_webhook_bad_input_is_rejected_with_nothing_stored(api: Api) -> None:
    practice = api.new_practice()
    sender = unique_phone()
    # A `to` no practice owns is a 404
    unknown_to = _webhook(api, "sms", {"provider_message_id": "y", "from": sender, "to": unique_phone(), "body": "x"})
    assert (unknown_to.status, unknown_to.error_code) == (404, "not_found")
    # A voicemail without recording URL is a 400 naming it
    payload = {"provider_message_id": "z", "from": sender, "to": practice["textable_number"], "line_type": "cell"}
    missing = _webhook(api, "voicemail", payload)
    assert (missing.status, missing.body["error"].get("field")) == (400, "recording_url")
    # A body over the byte ceiling (160 kB, R-API-1) is a 413
    big = _sms(api, practice, sender, "x" * (160 * 1024 + 10))
    assert (big.status, big.error_code) == (413, "too_large")
    assert api.call("POST", "/patients/search", practice["admin"], {"phone": sender}).body["items"] == []


def test_r_route_2_settings_off_by_default_and_locations_need_pm(api: Api) -> None:
    practice = api.new_practice()
    staff_id, staff = api.new_staff(practice)
    assert api.call("GET", "/routing-settings", staff).body == {"reasons_enabled": False, "locations_enabled": False}
    refused = _settings(api, practice, True, True)
    assert (refused.status, refused.error_code) == (409, "pm_integration_required")
    assert _settings(api, practice, True).status == 200
    assert (
        api.call("PUT", "/routing-settings", staff, {"reasons_enabled": False, "locations_enabled": False}).status
        == 403
    )
    # With a PM integration: the feed's locations are copied by "Sync with EHR"
    pm = api.new_practice(pm=True)
    integration = api.token("integration", pm["practice_id"])
    feed = {"items": [{"location_id": "man", "name": "Manhattan"}]}
    assert api.call("PUT", "/integrations/pm/locations", integration, feed).status == 200
    assert api.call("GET", "/routing/locations", pm["admin"]).body["items"] == []
    synced = api.call("POST", "/routing/locations/sync", pm["admin"])
    assert synced.body == {"items": [{"location_id": "man", "name": "Manhattan"}]}
    assert _settings(api, pm, True, True).status == 200
    _subscribe(api, pm, pm["admin_id"], locations=["man"])
    listed = api.call("GET", "/routing/locations", pm["admin"]).body["items"]
    assert listed == [{"location_id": "man", "name": "Manhattan", "subscribers": [pm["admin_id"]]}]


def test_r_route_8_recipients_by_reason_and_r_route_12_extension_reason(api: Api) -> None:
    # Given reason routing, Maria on prescriptions, Tom on billing, and extension 3 mapped to prescriptions
    practice = api.new_practice()
    maria_id, maria = api.new_staff(practice, "Maria")
    tom_id, tom = api.new_staff(practice, "Tom")
    assert _settings(api, practice, True).status == 200
    _subscribe(api, practice, maria_id, reasons=["prescriptions_refills"])
    _subscribe(api, practice, tom_id, reasons=["billing"])
    ext = api.call("PUT", "/voicemail-extensions/3", practice["admin"], {"reason": "prescriptions_refills"})
    assert ext.status == 200, ext
    patient = api.new_patient(practice, cell_phone=unique_phone())
    # When the patient leaves a voicemail on extension 3
    reply = _voicemail(api, practice, patient["cell_phone"], extension="3", transcript="refill please")
    assert reply.status == 200, reply
    # Then Maria is notified and has it in her inbox (labelled), Tom is not; it is also in Unassigned
    notes = api.call("GET", "/staff/me/notifications", maria).body["items"]
    assert [(n["type"], n["conversation_id"]) for n in notes] == [("new_message", patient["conversation_id"])]
    assert api.call("GET", "/staff/me/notifications", tom).body["items"] == []
    mine = api.call("GET", "/inboxes/mine/conversations", maria).body["items"]
    assert mine[0]["labels"] == {"reason": "prescriptions_refills", "location": None}
    assert api.call("GET", "/inboxes/mine/conversations", tom).body["items"] == []
    # And the conversation explains why (the "why Maria and not Tom" question)
    conversation = _conversation(api, practice, patient["conversation_id"])
    routing = conversation["messages"][0]["routing"]
    assert routing["dimensions"] == ["reason"] and routing["reason_source"] == "voicemail_extension"
    assert routing["recipients"] == [maria_id]
    assert conversation["labels"]["reason"] == "prescriptions_refills"
    # R-ROUTE-6: an SMS afterwards removes the reason: it counts as `other` (nobody subscribed: no recipient)
    _sms(api, practice, patient["cell_phone"], "new topic")
    conversation = _conversation(api, practice, patient["conversation_id"])
    assert conversation["labels"]["reason"] is None
    assert conversation["messages"][-1]["routing"]["reason_bucket"] == "other"
    assert api.call("GET", "/inboxes/mine/conversations", maria).body["items"] == []


def test_r_route_1_held_conversation_stays_with_holder_who_is_notified(api: Api) -> None:
    practice = api.new_practice()
    maria_id, maria = api.new_staff(practice, "Maria")
    patient = api.new_patient(practice, cell_phone=unique_phone())
    _sms(api, practice, patient["cell_phone"], "first")
    assign = api.call(
        "POST", f"/conversations/{patient['conversation_id']}/assign", practice["admin"], {"staff_id": maria_id}
    )
    assert assign.status == 200 and assign.body["holder"] == {"type": "staff", "id": maria_id}
    _sms(api, practice, patient["cell_phone"], "second")
    conversation = _conversation(api, practice, patient["conversation_id"])
    assert conversation["holder"] == {"type": "staff", "id": maria_id}
    assert conversation["messages"][-1]["routing"]["rule"] == "held_by_staff"
    assert [n["conversation_id"] for n in api.call("GET", "/staff/me/notifications", maria).body["items"]] == [
        patient["conversation_id"]
    ]
    assert [i["conversation_id"] for i in api.call("GET", "/inboxes/mine/conversations", maria).body["items"]] == [
        patient["conversation_id"]
    ]
    # Closing removes it from every inbox
    assert api.call("POST", f"/conversations/{patient['conversation_id']}/close", maria).status == 200
    assert api.call("GET", "/inboxes/mine/conversations", maria).body["items"] == []


def test_r_route_12_extension_to_custom_inbox_and_r_route_9_no_labels_there(api: Api) -> None:
    practice = api.new_practice()
    refills = api.call("POST", "/inboxes", practice["admin"], {"name": "Refills"}).body["inbox_id"]
    maria_id, maria = api.new_staff(practice, "Maria")
    _subscribe(api, practice, maria_id, inboxes=[refills])
    assert api.call("PUT", "/voicemail-extensions/5", practice["admin"], {"inbox_id": refills}).status == 200
    patient = api.new_patient(practice, cell_phone=unique_phone())
    _voicemail(api, practice, patient["cell_phone"], extension="5")
    listed = api.call("GET", f"/inboxes/{refills}/conversations", maria).body["items"]
    assert len(listed) == 1 and "labels" not in listed[0]
    assert listed[0]["holder"] == {"type": "inbox", "id": refills}
    notes = api.call("GET", "/staff/me/notifications", maria).body["items"]
    assert [n["conversation_id"] for n in notes] == [patient["conversation_id"]]
    # R-ROUTE-1: a custom inbox's holder is every subscriber of it, notified on the next message too
    _sms(api, practice, patient["cell_phone"], "more")
    assert len(api.call("GET", "/staff/me/notifications", maria).body["items"]) == 2


def test_r_route_9_no_route_sets_labels(api: Api) -> None:
    practice = api.new_practice()
    patient = api.new_patient(practice)
    for method in ("PUT", "POST", "PATCH"):
        reply = api.call(
            method, f"/conversations/{patient['conversation_id']}/labels", practice["admin"], {"reason": "x"}
        )
        assert reply.status in (404, 405)


def test_r_route_10_unassigned_needs_subscription_and_filters_follow_subscriptions(api: Api) -> None:
    practice = api.new_practice()
    staff_id, staff = api.new_staff(practice)
    refused = api.call("GET", "/inboxes/unassigned/conversations", staff)
    assert (refused.status, refused.error_code) == (403, "subscription_required")
    assert _settings(api, practice, True).status == 200
    # The staff member changes their own filter: Unassigned + billing
    own = api.call(
        "PUT", f"/staff/{staff_id}/subscriptions", staff, {"reasons": ["billing"], "inboxes": ["unassigned"]}
    )
    assert own.status == 200, own
    # ... but cannot change someone else's
    other = api.call("PUT", f"/staff/{practice['admin_id']}/subscriptions", staff, {"reasons": ["billing"]})
    assert other.status == 403
    billing = api.call("PUT", "/voicemail-extensions/1", practice["admin"], {"reason": "billing"})
    assert billing.status == 200
    a = api.new_patient(practice, cell_phone=unique_phone())
    b = api.new_patient(practice, cell_phone=unique_phone())
    _voicemail(api, practice, a["cell_phone"], extension="1")
    _sms(api, practice, b["cell_phone"], "no reason")
    seen = [i["conversation_id"] for i in api.call("GET", "/inboxes/unassigned/conversations", staff).body["items"]]
    assert seen == [a["conversation_id"]]
    # Changing the filter changes what is seen (and future notifications)
    assert (
        api.call(
            "PUT", f"/staff/{staff_id}/subscriptions", staff, {"reasons": ["other"], "inboxes": ["unassigned"]}
        ).status
        == 200
    )
    seen = [i["conversation_id"] for i in api.call("GET", "/inboxes/unassigned/conversations", staff).body["items"]]
    assert seen == [b["conversation_id"]]


def test_r_route_11_subscriptions_validate_reasons_locations_and_inboxes(api: Api) -> None:
    practice = api.new_practice()
    staff_id, _ = api.new_staff(practice)
    path = f"/staff/{staff_id}/subscriptions"
    bad_reason = api.call("PUT", path, practice["admin"], {"reasons": ["gossip"]})
    bad_location = api.call("PUT", path, practice["admin"], {"locations": ["nowhere"]})
    bad_inbox = api.call("PUT", path, practice["admin"], {"inboxes": ["nope"]})
    assert [(r.status, r.body["error"].get("field")) for r in (bad_reason, bad_location, bad_inbox)] == [
        (400, "reasons"),
        (400, "locations"),
        (400, "inboxes"),
    ]
    assert api.call("GET", path, practice["admin"]).body == {
        "staff_id": staff_id,
        "reasons": [],
        "locations": [],
        "inboxes": [],
    }
    good = api.call("PUT", path, practice["admin"], {"reasons": ["billing"], "locations": ["unknown"]})
    assert good.body["locations"] == ["unknown"]
    reasons = {r["reason"]: r for r in api.call("GET", "/routing/reasons", practice["admin"]).body["items"]}
    assert reasons["billing"]["subscribers"] == [staff_id] and reasons["billing"]["label"] == "Billing"
    assert len(reasons) == 7 and reasons["other"]["visible_to_patients"] is False


def test_r_create_3_reply_by_sms_and_internal_notes_for_profiles_without_cell(api: Api) -> None:
    practice = api.new_practice()
    cell = unique_phone()
    patient = api.new_patient(practice, cell_phone=cell)
    reply = api.call(
        "POST", f"/conversations/{patient['conversation_id']}/messages", practice["admin"], {"body": "See you"}
    )
    assert reply.status == 201 and reply.body["sender"] == "staff"
    outbox = api.call("GET", f"/_local/outbox?to={cell.replace('+', '%2B')}").body["items"]
    assert [m["body"] for m in outbox] == ["See you"]
    landline_only = api.new_patient(practice, landline=unique_phone())
    path = f"/conversations/{landline_only['conversation_id']}/messages"
    refused = api.call("POST", path, practice["admin"], {"body": "hello"})
    assert (refused.status, refused.error_code) == (409, "patient_unreachable")
    note = api.call("POST", path, practice["admin"], {"body": "called them", "internal": True})
    assert note.status == 201 and note.body["internal"] is True
    messages = _conversation(api, practice, landline_only["conversation_id"])["messages"]
    assert [(m["body"], m.get("internal")) for m in messages] == [("called them", True)]


def test_r_sec_1_staff_see_only_their_practice(api: Api) -> None:
    practice = api.new_practice()
    other = api.new_practice()
    patient = api.new_patient(practice)
    assert api.call("GET", f"/conversations/{patient['conversation_id']}", other["admin"]).status == 404
    patient_token = api.token("patient", practice["practice_id"], patient_id=patient["patient_id"])
    assert api.call("GET", f"/conversations/{patient['conversation_id']}", patient_token).status == 403


def test_r_route_7_next_appointment_location_routes_and_sticks_to_the_profile(api: Api) -> None:
    # Given a PM practice with two synced locations, location routing on, Maria on Manhattan, Tom on Brooklyn
    practice = api.new_practice(pm=True)
    integration = api.token("integration", practice["practice_id"])
    feed = {"items": [{"location_id": "man", "name": "Manhattan"}, {"location_id": "bk", "name": "Brooklyn"}]}
    assert api.call("PUT", "/integrations/pm/locations", integration, feed).status == 200
    assert api.call("POST", "/routing/locations/sync", practice["admin"]).status == 200
    assert _settings(api, practice, False, True).status == 200
    maria_id, maria = api.new_staff(practice, "Maria")
    tom_id, tom = api.new_staff(practice, "Tom")
    _subscribe(api, practice, maria_id, locations=["man"])
    _subscribe(api, practice, tom_id, locations=["bk"])
    patient = api.new_patient(practice, cell_phone=unique_phone(), external_id="MRN-7")
    now = datetime.fromisoformat(api.call("GET", "/_local/clock").body["now"].replace("Z", "+00:00"))
    starts = (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    appt = {"external_id": "MRN-7", "location_id": "man", "starts_at": starts, "status": "booked"}
    assert api.call("PUT", "/integrations/pm/appointments/ap-7", integration, appt).status == 200
    # When the patient texts
    _sms(api, practice, patient["cell_phone"], "about my appointment")
    # Then Maria (Manhattan) is notified, not Tom, and the profile now shows Manhattan (R-ROUTE-9)
    assert len(api.call("GET", "/staff/me/notifications", maria).body["items"]) == 1
    assert api.call("GET", "/staff/me/notifications", tom).body["items"] == []
    assert api.call("GET", f"/patients/{patient['patient_id']}", practice["admin"]).body["location"] == "man"
    # The appointment is cancelled: the profile's location still routes the next message to Maria
    assert (
        api.call("PUT", "/integrations/pm/appointments/ap-7", integration, {**appt, "status": "cancelled"}).status
        == 200
    )
    _sms(api, practice, patient["cell_phone"], "cancelled it")
    conversation = _conversation(api, practice, patient["conversation_id"])
    assert conversation["messages"][-1]["routing"]["location_source"] == "profile"
    assert len(api.call("GET", "/staff/me/notifications", maria).body["items"]) == 2
