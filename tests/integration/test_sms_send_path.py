"""R-SMS-2/3/4 at the service level, against DynamoDB Local: the opt-out register and the one send path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from frontdesk.adapters.sms import AwsSms
from frontdesk.services.outbound_sms import Purpose, send_sms
from frontdesk.store import sms_optout
from tests.support import invoke_route, unique_phone

pytestmark = pytest.mark.integration

T0 = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)  # 11:00 in New York: inside the window


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None]] = []

    def send(self, to: str, body: str, *, sender: str | None = None, code: str | None = None) -> None:
        self.sent.append((to, body, sender))


@pytest.fixture
def practice(dynamodb: str) -> dict[str, Any]:
    number = unique_phone()
    created = invoke_route(
        "POST", "/practices", {"name": "Clinic", "textable_number": number}, {"sub": "s", "role": "support"}
    )
    assert created.status == 201, created
    return {"practice_id": created.body["practice_id"], "number": created.body["textable_number"]}


def test_r_sms_2_register_is_per_practice_number_and_patient_number(practice: dict[str, Any]) -> None:
    # Given a number that texted STOP to the practice
    phone = unique_phone()
    assert sms_optout.record(practice["practice_id"], practice["number"], phone, True, T0, "keyword") is True
    # Then it is opted out, another number is not, and the same STOP again changes nothing (no second confirmation)
    assert sms_optout.is_opted_out(practice["practice_id"], practice["number"], phone)
    assert not sms_optout.is_opted_out(practice["practice_id"], practice["number"], unique_phone())
    assert (
        sms_optout.record(practice["practice_id"], practice["number"], phone, True, T0 + timedelta(1), "keyword")
        is False
    )
    assert sms_optout.opted_out_among(practice["practice_id"], practice["number"], [phone, unique_phone()]) == {phone}


def test_r_sms_2_an_older_keyword_delivered_late_does_not_undo_a_newer_one(practice: dict[str, Any]) -> None:
    # Given START sent at T0+1h already applied after a STOP at T0
    phone = unique_phone()
    sms_optout.record(practice["practice_id"], practice["number"], phone, True, T0, "keyword")
    assert sms_optout.record(
        practice["practice_id"], practice["number"], phone, False, T0 + timedelta(hours=1), "keyword"
    )
    # When a STOP sent before the START arrives late (SNS does not keep order)
    changed = sms_optout.record(
        practice["practice_id"], practice["number"], phone, True, T0 + timedelta(minutes=5), "keyword"
    )
    # Then the number stays opted in
    assert changed is False
    assert not sms_optout.is_opted_out(practice["practice_id"], practice["number"], phone)


def test_r_sms_3_send_checks_the_register_first(practice: dict[str, Any]) -> None:
    # Given an opted-out number
    phone, sms = unique_phone(), Recorder()
    sms_optout.record(practice["practice_id"], practice["number"], phone, True, T0, "keyword")
    # When a staff reply and a login code go to it
    reply = send_sms(practice["practice_id"], phone, "hi", purpose=Purpose.STAFF_REPLY, sms=sms, clock=FakeClock(T0))
    code = send_sms(
        practice["practice_id"], phone, "c", purpose=Purpose.LOGIN_CODE, code="1", sms=sms, clock=FakeClock(T0)
    )
    # Then nothing is sent; the confirmation of the STOP itself and a HELP answer still go
    assert reply.status == code.status == "opted_out"
    assert sms.sent == []
    send_sms(practice["practice_id"], phone, "ok", purpose=Purpose.OPT_OUT_CONFIRMATION, sms=sms, clock=FakeClock(T0))
    send_sms(practice["practice_id"], phone, "help", purpose=Purpose.HELP_REPLY, sms=sms, clock=FakeClock(T0))
    assert [to for to, _, _ in sms.sent] == [phone, phone]
    assert all(sender == practice["number"] for _, _, sender in sms.sent)


def test_r_sms_4_automated_texts_wait_for_the_window_codes_do_not(practice: dict[str, Any]) -> None:
    # Given 22:30 in New York
    late = datetime(2026, 6, 2, 2, 30, tzinfo=UTC)
    phone, sms = unique_phone(), Recorder()
    # When a reminder and a login code are due
    reminder = send_sms(
        practice["practice_id"], phone, "r", purpose=Purpose.PHONE_CHANGE_REMINDER, sms=sms, clock=FakeClock(late)
    )
    code = send_sms(practice["practice_id"], phone, "c", purpose=Purpose.LOGIN_CODE, sms=sms, clock=FakeClock(late))
    # Then the reminder waits for 08:00 New York time (12:00 UTC in June), the code goes at once
    assert reminder.status == "deferred" and reminder.not_before == datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
    assert code.sent and [to for to, _, _ in sms.sent] == [phone]


def test_r_sms_3_the_providers_opt_out_refusal_marks_the_register(practice: dict[str, Any]) -> None:
    # Given End User Messaging answers ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT
    import boto3

    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error(
        "send_text_message",
        service_error_code="ConflictException",
        service_message="opted out",
        http_status_code=400,
        modeled_fields={"Message": "opted out", "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT"},
    )
    phone = unique_phone()
    # When a staff reply is sent
    with stub:
        result = send_sms(
            practice["practice_id"], phone, "hi", purpose=Purpose.STAFF_REPLY, sms=AwsSms(client), clock=FakeClock(T0)
        )
    # Then it is reported as opted out by the provider (no exception) and the register has the number
    assert result.status == "opted_out" and result.opted_out_by == "provider"
    assert sms_optout.is_opted_out(practice["practice_id"], practice["number"], phone)


def test_r_sms_3_other_provider_errors_still_raise(practice: dict[str, Any]) -> None:
    import boto3

    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("send_text_message", service_error_code="ThrottlingException", http_status_code=400)
    with stub, pytest.raises(Exception, match="Throttling"):
        send_sms(
            practice["practice_id"],
            unique_phone(),
            "hi",
            purpose=Purpose.STAFF_REPLY,
            sms=AwsSms(client),
            clock=FakeClock(T0),
        )
