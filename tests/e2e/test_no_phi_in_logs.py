"""R-SEC-2: no PHI in logs. Every flow is driven with recognisable names, DOBs, phones and bodies through a
runner whose handlers log at DEBUG, and all of its output is searched for them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.dynamodb import free_port
from tests.support import Api, sign

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

FIRST, LAST = "Zebulon", "Quixotically"
DOB, REPORTED_DOB = "1961-07-13", "1962-08-14"
CELL, NEW_CELL, LANDLINE = "+16465550177", "+19175550166", "+12125550155"
BODY = "my secret rash is spreading xylophone"
PHI = [FIRST, LAST, DOB, REPORTED_DOB, CELL, NEW_CELL, LANDLINE, BODY, "6465550177", "9175550166", "2125550155"]


@pytest.fixture(scope="module")
def chatty_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Path]]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("logs") / "runner.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DYNAMODB_ENDPOINT", "S3_ENDPOINT", "TABLE_NAME")}
    env["POWERTOOLS_LOG_LEVEL"] = "DEBUG"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "infra.local", "--port", str(port)],
            cwd=str(ROOT),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"{base}/_local/config", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.25)
            yield Api(base), log_path
        finally:
            process.terminate()
            process.wait(timeout=20)


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


FLOWS: list[Callable[[Api, dict[str, Any]], None]] = [_messaging_flow, _identity_flow]


def test_r_sec_2_no_name_dob_phone_or_body_reaches_the_logs(chatty_runner: tuple[Api, Path]) -> None:
    api, log_path = chatty_runner
    world = _foundation_flow(api)
    for flow in FLOWS:
        flow(api, world)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert '"level":"DEBUG"' in output or '"level":"INFO"' in output, "the handlers should have logged something"
    leaks = [value for value in PHI if value in output]
    assert leaks == [], f"PHI found in logs: {leaks}"
