"""R-SMS-1..3 end to end through the local runner: a patient texts STOP, START and HELP through AWS End User
Messaging (the runner publishes the SNS notification to the function the template subscribes) and through the
signed webhook; an SNS notification delivered twice stores one message."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.support import Api, Reply, sign, unique_phone

CHANNELS = ["sns", "webhook"]


def _text(api: Api, channel: str, practice: dict[str, Any], sender: str, body: str) -> Reply:
    if channel == "sns":
        payload = {"from": sender, "to": practice["textable_number"], "body": body}
        reply = api.call("POST", "/_local/sms/inbound", body=payload)
        assert reply.status == 200 and reply.body["inbound_message_id"], reply
        return reply
    raw = json.dumps(
        {"provider_message_id": str(uuid.uuid4()), "from": sender, "to": practice["textable_number"], "body": body}
    ).encode()
    headers = {"X-Frontdesk-Signature": sign(raw, api.config()["webhook_secret"]), "Content-Type": "application/json"}
    reply = api.call("POST", "/webhooks/sms", data=raw, headers=headers)
    assert reply.status == 200, reply
    return reply


def _outbox(api: Api, phone: str) -> list[dict[str, Any]]:
    return list(api.call("GET", f"/_local/outbox?to={phone.replace('+', '%2B')}").body["items"])


def _messages(api: Api, practice: dict[str, Any], patient: dict[str, Any]) -> list[dict[str, Any]]:
    reply = api.call("GET", f"/conversations/{patient['conversation_id']}", practice["admin"])
    assert reply.status == 200, reply
    return list(reply.body["messages"])


def _opted_out(api: Api, practice: dict[str, Any], patient: dict[str, Any]) -> bool:
    reply = api.call("GET", f"/patients/{patient['patient_id']}", practice["admin"])
    assert reply.status == 200, reply
    return bool(reply.body["sms_opted_out"])


def _reply(api: Api, practice: dict[str, Any], patient: dict[str, Any], **body: Any) -> Reply:
    path = f"/conversations/{patient['conversation_id']}/messages"
    return api.call("POST", path, practice["admin"], {"body": "Your results are in.", **body})


def _login(api: Api, practice: dict[str, Any], phone: str) -> Reply:
    return api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": phone})


@pytest.mark.parametrize("channel", CHANNELS)
def test_r_sms_2_and_3_stop_start_help_through_the_runner(api: Api, channel: str) -> None:
    # Given a patient with a cell phone
    practice = api.new_practice()
    phone = unique_phone()
    patient = api.new_patient(practice, cell_phone=phone)
    assert _opted_out(api, practice, patient) is False

    # When the patient texts "Stop." (punctuation and case do not matter)
    _text(api, channel, practice, phone, "  Stop. ")
    # Then one confirmation naming the practice, a patient_opted_out system message, no patient message
    texts = _outbox(api, phone)
    assert len(texts) == 1 and "Test Practice" in texts[0]["body"] and "START" in texts[0]["body"]
    messages = _messages(api, practice, patient)
    assert [(m["sender"], m.get("kind")) for m in messages] == [("system", "patient_opted_out")]
    assert _opted_out(api, practice, patient) is True
    # ... a staff reply is refused, an internal note is not; a login code is refused and says how to opt back in
    refused = _reply(api, practice, patient)
    assert refused.status == 409 and refused.error_code == "patient_opted_out", refused
    assert _reply(api, practice, patient, internal=True).status == 201
    login = _login(api, practice, phone)
    assert login.status == 409 and login.error_code == "sms_opted_out", login
    assert "START" in login.body["error"]["message"]
    assert len(_outbox(api, phone)) == 1  # nothing more went to the number

    # When STOP comes again: no second confirmation, no second system message
    _text(api, channel, practice, phone, "STOP")
    assert len(_outbox(api, phone)) == 1
    # When the patient texts HELP: answered with the practice's name and number, still opted out
    _text(api, channel, practice, phone, "help")
    help_text = _outbox(api, phone)[-1]["body"]
    assert "Test Practice" in help_text and practice["textable_number"] in help_text
    assert _opted_out(api, practice, patient) is True

    # When the patient texts START: one confirmation, patient_opted_in, replies and codes flow again
    _text(api, channel, practice, phone, "start!")
    assert len(_outbox(api, phone)) == 3
    kinds = [m.get("kind") for m in _messages(api, practice, patient) if m["sender"] == "system"]
    assert kinds == ["patient_opted_out", "patient_opted_in"]
    assert _opted_out(api, practice, patient) is False
    assert _reply(api, practice, patient).status == 201
    assert _login(api, practice, phone).status == 202
    assert _outbox(api, phone)[-1].get("code")
    # None of the keywords is stored as a patient message
    assert not [m for m in _messages(api, practice, patient) if m["sender"] == "patient"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_r_sms_2_a_sentence_containing_stop_is_a_message_for_staff(api: Api, channel: str) -> None:
    practice = api.new_practice()
    phone = unique_phone()
    patient = api.new_patient(practice, cell_phone=phone)
    # When the patient writes a sentence that merely contains a stop word
    _text(api, channel, practice, phone, "please stop the reminders")
    # Then it is a patient message in the conversation and the number is not opted out (an after-hours reply,
    # R-HOURS-2, may answer it depending on when the suite runs: no opt-out confirmation does)
    messages = [m for m in _messages(api, practice, patient) if m["sender"] != "system"]
    assert [(m["sender"], m["channel"], m["body"]) for m in messages] == [
        ("patient", "sms", "please stop the reminders")
    ]
    assert not [t for t in _outbox(api, phone) if "no longer receive texts" in t["body"]]
    assert _opted_out(api, practice, patient) is False


@pytest.mark.parametrize("channel", CHANNELS)
def test_r_sms_2_yes_from_a_number_that_never_opted_out_is_an_answer_for_staff(api: Api, channel: str) -> None:
    # Given a patient who never texted STOP (staff asked "Can you come at 3?")
    practice = api.new_practice()
    phone = unique_phone()
    patient = api.new_patient(practice, cell_phone=phone)
    # When the patient answers "Yes!"
    _text(api, channel, practice, phone, "Yes!")
    # Then staff see the answer; nothing was confirmed, no opt-in system message
    messages = _messages(api, practice, patient)
    assert [(m["sender"], m["body"]) for m in messages if m["sender"] == "patient"] == [("patient", "Yes!")]
    assert not [m for m in messages if m.get("kind") in ("patient_opted_in", "patient_opted_out")]
    assert not [t for t in _outbox(api, phone) if "receive texts from this number again" in t["body"]]


def test_r_sms_1_an_sns_notification_delivered_twice_stores_one_message(api: Api) -> None:
    # Given a patient of a practice whose number's two-way SMS goes to the template's topic
    practice = api.new_practice()
    phone = unique_phone()
    patient = api.new_patient(practice, cell_phone=phone)
    # When SNS delivers the same notification twice, and the same inboundMessageId is published once more
    payload = {"from": phone, "to": practice["textable_number"], "body": "Can I move my appointment?"}
    first = api.call("POST", "/_local/sms/inbound", body={**payload, "deliveries": 2})
    assert first.status == 200, first
    again = {**payload, "inbound_message_id": first.body["inbound_message_id"]}
    assert api.call("POST", "/_local/sms/inbound", body=again).status == 200
    # Then the conversation holds one message from the patient
    bodies = [m["body"] for m in _messages(api, practice, patient) if m["sender"] == "patient"]
    assert bodies == ["Can I move my appointment?"]


def test_r_sms_1_unknown_number_through_sns_gets_a_profile_like_the_webhook(api: Api) -> None:
    practice = api.new_practice()
    stranger = unique_phone()
    api.call("POST", "/_local/sms/inbound", body={"from": stranger, "to": practice["textable_number"], "body": "hi"})
    found = api.call("POST", "/patients/search", practice["admin"], {"phone": stranger})
    assert found.status == 200 and len(found.body["items"]) == 1, found
    assert found.body["items"][0]["first_name"] == "Unknown"


def test_r_sms_1_a_provider_id_is_one_message_whatever_the_channel(api: Api) -> None:
    # Given one provider message id, sent once as an SMS and once as a voicemail through the webhooks
    practice = api.new_practice()
    phone = unique_phone()
    patient = api.new_patient(practice, cell_phone=phone)
    secret = api.config()["webhook_secret"]
    sms = {"provider_message_id": "same-id", "from": phone, "to": practice["textable_number"], "body": "hi"}
    voicemail = {**sms, "recording_url": "https://example.org/r.mp3", "line_type": "cell"}
    del voicemail["body"]
    answers = []
    for kind, payload in (("sms", sms), ("voicemail", voicemail)):
        raw = json.dumps(payload).encode()
        headers = {"X-Frontdesk-Signature": sign(raw, secret), "Content-Type": "application/json"}
        answers.append(api.call("POST", f"/webhooks/{kind}", data=raw, headers=headers))
    # Then it is one message: the second answer is the first
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].body == answers[1].body
    assert [m["channel"] for m in _messages(api, practice, patient) if m["sender"] == "patient"] == ["sms"]


def test_r_sms_1_local_inbound_validates_its_body(api: Api) -> None:
    reply = api.call("POST", "/_local/sms/inbound", body={"from": "+12125550100"})
    assert reply.status == 400 and reply.error_code == "validation_error"


def test_r_sms_1_an_inbound_sms_that_cannot_be_stored_is_parked_in_the_dead_letter_queue(api: Api) -> None:
    # Given a notification to a number no practice owns (SNS accepts the publish whatever happens next)
    queue = "/_local/dlq/InboundSmsDeadLetterQueue"
    before = len(api.call("GET", queue).body["items"])
    reply = api.call("POST", "/_local/sms/inbound", body={"from": unique_phone(), "to": unique_phone(), "body": "hi"})
    assert reply.status == 200
    # Then the function failed, was retried, and the event waits in the template's queue for the intake function
    items = api.call("GET", queue).body["items"]
    assert len(items) == before + 1 and items[-1]["function"] == "MessageIntakeFunction"
