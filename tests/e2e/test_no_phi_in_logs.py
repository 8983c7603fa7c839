"""R-SEC-2: no PHI in logs. Every flow is driven with recognisable names, DOBs, phones and bodies through a
runner whose handlers log at DEBUG, and all of its output is searched for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support import Api, sign

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

FIRST, LAST = "Zebulon", "Quixotically"
DOB, REPORTED_DOB = "1961-07-13", "1962-08-14"
CELL, NEW_CELL, LANDLINE = "+16465550177", "+19175550166", "+12125550155"
BODY = "my secret rash is spreading xylophone"
MRN, EMAIL = "MRN-QX-778812", "zebulon.q@example.org"
THIRD_CELL, IMPORT_CELL = "+17185550144", "+13125550133"
IMPORT_FIRST, IMPORT_LAST, IMPORT_DOB = "Philomena", "Umbrageous", "1944-02-29"
PHI = [
    FIRST,
    LAST,
    DOB,
    REPORTED_DOB,
    CELL,
    NEW_CELL,
    LANDLINE,
    BODY,
    "6465550177",
    "9175550166",
    "2125550155",
    MRN,
    EMAIL,
    THIRD_CELL,
    "7185550144",
    IMPORT_CELL,
    "3125550133",
    IMPORT_FIRST,
    IMPORT_LAST,
    IMPORT_DOB,
]


@pytest.fixture(scope="module")
def chatty_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    from infra.local.spawn import runner_process

    log_path = tmp_path_factory.mktemp("logs") / "runner.log"
    with runner_process(log_path, env={"POWERTOOLS_LOG_LEVEL": "DEBUG"}) as base:
        yield Api(base), log_path


def _foundation_flow(api: Api) -> dict[str, Any]:
    practice = api.new_practice(pm=True)
    patient = api.new_patient(
        practice, first_name=FIRST, last_name=LAST, date_of_birth=DOB, cell_phone=CELL, landline=LANDLINE
    )
    api.call("GET", f"/patients/{patient['patient_id']}", practice["admin"])
    api.call("POST", "/patients/search", practice["admin"], {"phone": CELL})
    api.call(
        "POST", "/patients", practice["admin"], {"first_name": FIRST, "last_name": LAST, "date_of_birth": "13/07/1961"}
    )
    api.call(
        "POST",
        "/patients",
        practice["admin"],
        {"first_name": FIRST, "last_name": LAST, "date_of_birth": DOB, "cell_phone": "+4420794609"},
    )
    return {"practice": practice, "patient": patient}


def _messaging_flow(api: Api, world: dict[str, Any]) -> None:
    practice, patient = world["practice"], world["patient"]
    secret = api.config()["webhook_secret"]
    for path, payload in (
        (
            "/webhooks/sms",
            {"provider_message_id": "m-1", "from": CELL, "to": practice["textable_number"], "body": BODY},
        ),
        (
            "/webhooks/voicemail",
            {
                "provider_message_id": "v-1",
                "from": LANDLINE,
                "to": practice["textable_number"],
                "recording_url": "https://recordings.example/v-1",
                "transcript": BODY,
                "line_type": "landline",
            },
        ),
    ):
        raw = __import__("json").dumps(payload).encode()
        api.call(
            "POST",
            path,
            data=raw,
            headers={"Content-Type": "application/json", "X-Frontdesk-Signature": sign(raw, secret)},
        )
        api.call(
            "POST", path, data=raw, headers={"Content-Type": "application/json", "X-Frontdesk-Signature": "sha256=00"}
        )
    api.call("GET", f"/conversations/{patient['conversation_id']}", practice["admin"])
    api.call("POST", f"/conversations/{patient['conversation_id']}/messages", practice["admin"], {"body": BODY})


def _identity_flow(api: Api, world: dict[str, Any]) -> None:
    practice, patient = world["practice"], world["patient"]
    api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": CELL})
    api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": NEW_CELL})
    outbox = api.call("GET", f"/_local/outbox?to={CELL}").body["items"]
    code = next((m["code"] for m in reversed(outbox) if m.get("code")), "000000")
    api.call(
        "POST", "/patient/login/verify", body={"practice_id": practice["practice_id"], "phone": CELL, "code": "000001"}
    )
    verified = api.call(
        "POST", "/patient/login/verify", body={"practice_id": practice["practice_id"], "phone": CELL, "code": code}
    )
    token = verified.body.get("token") if isinstance(verified.body, dict) else None
    if token:
        api.call("POST", "/patient/dob-verification", token, {"date_of_birth": REPORTED_DOB})
        api.call("GET", "/patient/conversation", token)
    api.call(
        "PUT", f"/patients/{patient['patient_id']}/date-of-birth", practice["admin"], {"date_of_birth": REPORTED_DOB}
    )
    api.call("PUT", f"/patients/{patient['patient_id']}/cell-phone", practice["admin"], {"cell_phone": NEW_CELL})
    api.call("POST", "/_local/jobs/expire-phone-requests/run")


def _login(api: Api, practice: dict[str, Any], phone: str) -> str | None:
    api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": phone})
    outbox = api.call("GET", f"/_local/outbox?to={quote(phone)}").body["items"]
    code = next((m["code"] for m in reversed(outbox) if m.get("code")), "000000")
    verified = api.call(
        "POST", "/patient/login/verify", body={"practice_id": practice["practice_id"], "phone": phone, "code": code}
    )
    return verified.body.get("token") if isinstance(verified.body, dict) else None


def _phone_change_flow(api: Api, world: dict[str, Any]) -> None:
    """A verified patient: staff ask for a new number; confirm (wrong then right code), decline, expiry job."""
    practice = world["practice"]
    patient = api.new_patient(practice, first_name=FIRST, last_name=LAST, date_of_birth=DOB, cell_phone=THIRD_CELL)
    token = _login(api, practice, THIRD_CELL)
    assert token, "the phone-change flow needs a logged-in patient"
    api.call("POST", "/patient/dob-verification", token, {"date_of_birth": DOB})
    api.call("POST", "/patient/conversation/messages", token, {"body": BODY, "client_message_id": "phi-1"})
    api.call("POST", "/patient/conversation/read", token)
    path = f"/patients/{patient['patient_id']}"
    api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": NEW_CELL})
    api.call("GET", "/patient/phone-change", token)
    api.call("POST", "/patient/phone-change/confirm", token, {"code": "000000"})
    outbox = api.call("GET", f"/_local/outbox?to={quote(NEW_CELL)}").body["items"]
    code = next((m["code"] for m in reversed(outbox) if m.get("code")), "000000")
    assert api.call("POST", "/patient/phone-change/confirm", token, {"code": code}).status == 200
    api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": THIRD_CELL})
    api.call("POST", "/patient/phone-change/decline", token)
    api.call("PUT", f"{path}/cell-phone", practice["admin"], {"cell_phone": LANDLINE})
    api.call("GET", f"{path}/phone-change-requests", practice["admin"])
    api.call("POST", "/_local/clock", body={"advance_seconds": 4 * 86400})
    api.call("POST", "/_local/jobs/expire-phone-requests/run")
    practice["admin"] = api.token("admin", practice["practice_id"], staff_id=practice["admin_id"])
    api.call("GET", f"{path}/audit", practice["admin"])


def _merge_and_routing_flow(api: Api, world: dict[str, Any]) -> None:
    practice = world["practice"]
    target = api.new_patient(
        practice, first_name=FIRST, last_name=LAST, date_of_birth=DOB, email=EMAIL, external_id=MRN
    )
    source = api.new_patient(practice, first_name=FIRST, last_name=LAST, date_of_birth=DOB, landline=LANDLINE)
    api.call("GET", "/patients/duplicates", practice["admin"])
    api.call("POST", f"/patients/{target['patient_id']}/merge", practice["admin"], {"source_patient_id": "nobody"})
    merged = api.call(
        "POST",
        f"/patients/{target['patient_id']}/merge",
        practice["admin"],
        {"source_patient_id": source["patient_id"]},
    )
    assert merged.status == 200, merged
    api.call("PUT", "/routing-settings", practice["admin"], {"reasons_enabled": True, "locations_enabled": True})
    integration = api.token("integration", practice["practice_id"])
    api.call("PUT", "/integrations/pm/locations", integration, {"items": [{"location_id": "loc-1", "name": "North"}]})
    api.call("POST", "/routing/locations/sync", practice["admin"])
    api.call(
        "PUT",
        "/integrations/pm/appointments/appt-phi",
        integration,
        {"external_id": MRN, "location_id": "loc-1", "starts_at": "2030-01-01T10:00:00Z", "status": "booked"},
    )
    api.call(
        "PUT",
        f"/staff/{practice['admin_id']}/subscriptions",
        practice["admin"],
        {"reasons": ["other"], "locations": ["loc-1", "unknown"], "inboxes": ["unassigned"]},
    )
    for path in ("/routing/reasons", "/routing/locations", "/staff/me/notifications", "/inboxes/mine/conversations"):
        api.call("GET", path, practice["admin"])
    api.call("GET", "/inboxes/unassigned/conversations", practice["admin"])
    conversation = f"/conversations/{target['conversation_id']}"
    api.call("POST", f"{conversation}/assign", practice["admin"], {"staff_id": practice["admin_id"]})
    api.call("POST", f"{conversation}/messages", practice["admin"], {"body": BODY, "internal": True})
    api.call("POST", f"{conversation}/close", practice["admin"])


def _import_flow(api: Api, world: dict[str, Any]) -> None:
    practice = world["practice"]
    bucket = api.config()["imports_bucket"]
    rows = [
        "First Name,Last Name,DOB,Mobile,Home Phone,MRN,Email",
        f"{IMPORT_FIRST},{IMPORT_LAST},{IMPORT_DOB},{IMPORT_CELL},,{MRN}-2,{EMAIL}",
        f"{IMPORT_FIRST},{IMPORT_LAST},{IMPORT_DOB},{IMPORT_CELL},,,",
        f"{IMPORT_FIRST},,31/31/1999,{IMPORT_CELL},{LANDLINE},,",
        f"{FIRST},{LAST},{DOB},{CELL},,{MRN},",
    ]
    key = f"imports/{practice['practice_id']}/phi.csv"
    api.call("PUT", f"/_local/s3/{bucket}/{key}", data=("\r\n".join(rows) + "\r\n").encode())
    listed = api.call("GET", "/imports", practice["admin"]).body["items"]
    assert [i["status"] for i in listed] == ["completed"], listed
    api.call("GET", f"/imports/{listed[0]['import_id']}", practice["admin"])


def _sms_opt_out_flow(api: Api, world: dict[str, Any]) -> None:
    """R-SMS-1..3: two-way SMS through SNS (stored, and one that fails, is retried and dead-lettered), STOP, the
    refused reply and login, HELP, START through the webhook."""
    practice, patient = world["practice"], world["patient"]
    to = practice["textable_number"]
    for body in (BODY, "STOP", "help"):
        api.call("POST", "/_local/sms/inbound", body={"from": CELL, "to": to, "body": body})
    api.call("POST", "/_local/sms/inbound", body={"from": CELL, "to": THIRD_CELL, "body": BODY})  # no such practice
    api.call("POST", f"/conversations/{patient['conversation_id']}/messages", practice["admin"], {"body": BODY})
    api.call("POST", "/patient/login", body={"practice_id": practice["practice_id"], "phone": CELL})
    api.call("GET", f"/patients/{patient['patient_id']}", practice["admin"])
    raw = __import__("json").dumps({"provider_message_id": "s-1", "from": CELL, "to": to, "body": "Start"}).encode()
    secret = api.config()["webhook_secret"]
    headers = {"Content-Type": "application/json", "X-Frontdesk-Signature": sign(raw, secret)}
    api.call("POST", "/webhooks/sms", data=raw, headers=headers)


FLOWS: list[Callable[[Api, dict[str, Any]], None]] = [
    _messaging_flow,
    _identity_flow,
    _phone_change_flow,
    _merge_and_routing_flow,
    _import_flow,
    _sms_opt_out_flow,
]


def test_r_sec_2_no_name_dob_phone_or_body_reaches_the_logs(chatty_runner: tuple[Api, Path]) -> None:
    api, log_path = chatty_runner
    world = _foundation_flow(api)
    for flow in FLOWS:
        flow(api, world)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert '"level":"DEBUG"' in output or '"level":"INFO"' in output, "the handlers should have logged something"
    leaks = [value for value in PHI if value in output]
    assert leaks == [], f"PHI found in logs: {leaks}"
