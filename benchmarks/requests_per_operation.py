"""DynamoDB requests per API operation and job, against the budgets of docs/data-model.md.

Each operation runs through the real lambda_handler in-process (the event the runner would build: the tests' client
harness, tests/support.invoke_route), on DynamoDB Local, while botocore's client counts the DynamoDB requests. A
count above its access pattern's budget fails.

Adding an operation: write a function `(World) -> Call` (the request to make, after any setup it needs) and list
it in OPERATIONS with the access pattern whose budget applies and any extra the budget cell allows ("+n audit").
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import Row, local_dynamodb, main, row
from tests.support import ALWAYS_OPEN, invoke_route, route_event, wired


@dataclass
class Call:
    method: str
    path: str
    body: Any = None
    claims: dict[str, str] | None = None
    status: int | None = 200  # None: any answer (setup steps whose answer does not matter)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # the exact body bytes (signed webhooks); `body` is JSON-encoded otherwise


@dataclass
class Job:
    """A measured call that is not an HTTP request: a scheduled job or an event consumer.

    `run()` returns how many items it handled (expired requests, reminders, ...); the count is divided by it when
    `per_item` (requests per item handled), the figure the budget of a per-item access pattern is written in.
    """

    run: Callable[[], int]
    per_item: bool = False


@dataclass
class World:
    """A practice with an admin and a patient, made through the API; operations add what they need."""

    practice_id: str = ""
    admin: dict[str, str] = field(default_factory=dict)
    support: dict[str, str] = field(default_factory=dict)
    patient_id: str = ""
    conversation_id: str = ""
    cell_phone: str = ""
    textable_number: str = ""
    patient: dict[str, str] = field(default_factory=dict)  # the patient's claims (logged in, DOB verified)
    changing_patient_id: str = ""  # a patient with a phone-change request
    integration: dict[str, str] = field(default_factory=dict)  # the PM integration of a second practice
    pm_admin: dict[str, str] = field(default_factory=dict)
    pm_patient_id: str = ""
    import_id: str = ""
    closed: World | None = None  # a second practice, closed now (no weekly hours): intake's after-hours figures
    waiting: World | None = None  # a third practice, open, with a response target: the conversation jobs' figures


def claims(role: str, practice_id: str | None = None, **ids: str) -> dict[str, str]:
    from frontdesk.auth import Principal

    sub = ids.get("staff_id") or ids.get("patient_id") or f"{role}-bench"
    return Principal(sub=sub, role=role, practice_id=practice_id, **ids).claims()


def invoke(call: Call, timings: list[float] | None = None) -> Any:
    """Calls the real lambda_handler (tests/support.invoke_route); `timings` gets the handler's own duration."""
    body = call.raw if call.raw is not None else call.body
    reply = invoke_route(call.method, call.path, body, call.claims, timings=timings, headers=call.headers)
    if call.status is not None and reply.status != call.status:
        raise RuntimeError(f"{call.method} {call.path} answered {reply.status}, expected {call.status}")
    return reply.body


def unique_number() -> str:
    from tests.support import unique_phone

    return unique_phone()


def new_practice(world: World) -> Call:
    body = {"name": "Bench Practice", "country": "US", "textable_number": unique_number(), "has_pm_integration": False}
    return Call("POST", "/practices", body, world.support, 201)


def new_staff(world: World) -> Call:
    body = {"name": "Sam Staff", "email": f"sam-{uuid.uuid4().hex}@example.org", "role": "staff"}
    return Call("POST", "/staff", body, world.admin, 201)


def list_staff(world: World) -> Call:
    return Call("GET", "/staff", None, world.admin, 200)


def _invited(world: World) -> str:
    return str(invoke(new_staff(world))["staff_id"])


def deactivate_staff(world: World) -> Call:
    return Call("POST", f"/staff/{_invited(world)}/deactivate", {}, world.admin, 200)


def reactivate_staff(world: World) -> Call:
    staff_id = _invited(world)
    invoke(Call("POST", f"/staff/{staff_id}/deactivate", {}, world.admin, 200))
    return Call("POST", f"/staff/{staff_id}/reactivate", {}, world.admin, 200)


def change_role(world: World) -> Call:
    return Call("PUT", f"/staff/{_invited(world)}/role", {"role": "admin"}, world.admin, 200)


def new_inbox(world: World) -> Call:
    return Call("POST", "/inboxes", {"name": "Billing"}, world.admin, 201)


def unique_name() -> str:
    import random
    import string

    return "".join(random.choices(string.ascii_lowercase, k=8)).title()


def new_patient(world: World) -> Call:
    """A new patient, unlike any other (no probable duplicates: those are measured apart)."""
    body = {
        "first_name": unique_name(),
        "last_name": "Bench",
        "date_of_birth": "1980-04-02",
        "cell_phone": unique_number(),
    }
    return Call("POST", "/patients", body, world.admin, 201)


def read_patient(world: World) -> Call:
    return Call("GET", f"/patients/{world.patient_id}", None, world.admin, 200)


def search_by_phone(world: World) -> Call:
    return Call("POST", "/patients/search", {"phone": world.cell_phone}, world.admin, 200)


def read_conversation(world: World) -> Call:
    return Call("GET", f"/conversations/{world.conversation_id}", None, world.admin, 200)


def my_inbox(world: World) -> Call:
    return Call("GET", "/inboxes/mine/conversations", None, world.admin, 200)


def my_notifications(world: World) -> Call:
    return Call("GET", "/staff/me/notifications", None, world.admin, 200)


def routing_settings(world: World) -> Call:
    return Call("GET", "/routing-settings", None, world.admin, 200)


# --- patients: login, identity, the patient app -------------------------------------------------------------


def new_id() -> str:
    from frontdesk.ids import new_id as make

    return make()


def fresh_patient(world: World, **fields: str) -> dict[str, Any]:
    """A new patient of the world's practice (created by its admin), with its cell phone in the answer."""
    body = {
        "first_name": unique_name(),
        "last_name": "Bench",
        "date_of_birth": "1980-04-02",
        "cell_phone": unique_number(),
        **fields,
    }
    created: dict[str, Any] = invoke(Call("POST", "/patients", body, world.admin, 201))
    return {**created, "cell_phone": body["cell_phone"]}


def sent_code(phone: str) -> str:
    """The code of the last SMS sent to `phone` (the local outbox keeps every SMS)."""
    from frontdesk.adapters.sms import LOCAL_OUTBOX

    codes = [entry.code for entry in LOCAL_OUTBOX.messages(phone) if entry.code]
    if not codes:
        raise RuntimeError("no code was sent")
    return str(codes[-1])


def login_request(world: World, phone: str) -> Call:
    return Call("POST", "/patient/login", {"practice_id": world.practice_id, "phone": phone}, None, 202)


def verify_request(world: World, phone: str) -> Call:
    body = {"practice_id": world.practice_id, "phone": phone, "code": sent_code(phone)}
    return Call("POST", "/patient/login/verify", body, None, 200)


def logged_in(world: World, dob_verified: bool = True) -> tuple[dict[str, Any], dict[str, str]]:
    """A new patient who logged in (verified, R-PHONE-2) and, unless told, answered the DOB check: (patient,
    claims)."""
    patient = fresh_patient(world)
    invoke(login_request(world, patient["cell_phone"]))
    invoke(verify_request(world, patient["cell_phone"]))
    token = claims("patient", world.practice_id, patient_id=patient["patient_id"])
    if dob_verified:
        invoke(Call("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, token, 200))
    return patient, token


def patient_login(world: World) -> Call:
    return login_request(world, fresh_patient(world)["cell_phone"])


def patient_verify(world: World) -> Call:
    phone = fresh_patient(world)["cell_phone"]
    invoke(login_request(world, phone))
    return verify_request(world, phone)


def dob_verification(world: World) -> Call:
    _, token = logged_in(world, dob_verified=False)
    return Call("POST", "/patient/dob-verification", {"date_of_birth": "1980-04-02"}, token, 200)


def patient_conversation(world: World) -> Call:
    return Call("GET", "/patient/conversation", None, world.patient, 200)


def app_message(world: World) -> Call:
    body = {"body": "hello", "client_message_id": new_id()}
    return Call("POST", "/patient/conversation/messages", body, world.patient, 201)


def mark_read(world: World) -> Call:
    invoke(reply(world))  # something unread
    return Call("POST", "/patient/conversation/read", None, world.patient, 200)


def signed(path: str, payload: dict[str, Any]) -> Call:
    from frontdesk import secrets
    from tests.support import sign

    raw = json.dumps(payload).encode()
    headers = {"X-Frontdesk-Signature": sign(raw, secrets.get("webhook"))}
    return Call("POST", path, None, None, 200, headers, raw)


def sms_webhook(world: World) -> Call:
    payload = {"provider_message_id": new_id(), "from": world.cell_phone, "to": world.textable_number, "body": "hi"}
    return signed("/webhooks/sms", payload)


def voicemail_webhook(world: World) -> Call:
    payload = {
        "provider_message_id": new_id(),
        "from": world.cell_phone,
        "to": world.textable_number,
        "recording_url": "https://example.org/recording.mp3",
        "transcript": "please call back",
        "line_type": "cell",
    }
    return signed("/webhooks/voicemail", payload)


def sms_keyword(world: World, body: str) -> Call:
    """R-SMS-2: a keyword texted by a fresh patient (STOP changes the register and writes the system message)."""
    phone = fresh_patient(world)["cell_phone"]
    payload = {"provider_message_id": new_id(), "from": phone, "to": world.textable_number, "body": body}
    return signed("/webhooks/sms", payload)


def sms_stop(world: World) -> Call:
    return sms_keyword(world, "STOP")


def sms_help(world: World) -> Call:
    return sms_keyword(world, "help")


def sns_sms(world: World) -> Job:
    """R-SMS-1: the same text as sms_webhook, through End User Messaging's SNS notification (infra/local/sns.py)."""
    from datetime import UTC, datetime

    from infra.local.functions import invoke as invoke_function
    from infra.local.sns import sns_event, two_way_sms_notification

    message = two_way_sms_notification(world.cell_phone, world.textable_number, "hi", new_id())
    event = sns_event("InboundSmsTopic", message, new_id(), datetime.now(UTC))
    spec = wired().functions["MessageIntakeFunction"]
    return Job(lambda: invoke_function(spec, event)["received"])


def route_one(world: World) -> Job:
    """RoutingFunction with the MessageReceived event LOCAL_BUS published for one app message (not delivered here:
    this process wires no subscriber, so intake's count excludes routing)."""
    from frontdesk.adapters.events import LOCAL_BUS

    invoke(app_message(world))
    event = LOCAL_BUS.published[-1]
    assert event["detail-type"] == "MessageReceived"
    spec = wired().functions["RoutingFunction"]

    def run() -> int:
        from infra.local.functions import invoke as invoke_function

        invoke_function(spec, event)
        return 1

    return Job(run)


# --- staff: conversations, routing, identity -----------------------------------------------------------------


def reply(world: World) -> Call:
    return Call("POST", f"/conversations/{world.conversation_id}/messages", {"body": "on it"}, world.admin, 201)


def assign(world: World) -> Call:
    conversation_id = fresh_patient(world)["conversation_id"]
    body = {"staff_id": world.admin["staff_id"]}
    return Call("POST", f"/conversations/{conversation_id}/assign", body, world.admin, 200)


def close(world: World) -> Call:
    conversation_id = fresh_patient(world)["conversation_id"]
    return Call("POST", f"/conversations/{conversation_id}/close", None, world.admin, 200)


def put_subscriptions(world: World) -> Call:
    body = {"reasons": ["billing"], "inboxes": ["unassigned"], "locations": []}
    return Call("PUT", f"/staff/{world.admin['staff_id']}/subscriptions", body, world.admin, 200)


def put_routing_settings(world: World) -> Call:
    body = {"reasons_enabled": False, "locations_enabled": False}
    return Call("PUT", "/routing-settings", body, world.admin, 200)


def reasons(world: World) -> Call:
    return Call("GET", "/routing/reasons", None, world.admin, 200)


def pm_locations(world: World) -> Call:
    body = {"items": [{"location_id": "loc-1", "name": "Main Street"}, {"location_id": "loc-2", "name": "Harbor"}]}
    return Call("PUT", "/integrations/pm/locations", body, world.integration, 200)


def new_credential(world: World) -> Call:
    return Call("POST", "/integrations/credentials", {"name": "PM feed"}, world.admin, 201)


def list_credentials(world: World) -> Call:
    invoke(new_credential(world))
    return Call("GET", "/integrations/credentials", None, world.admin, 200)


def revoke_credential(world: World) -> Call:
    created = invoke(new_credential(world))
    return Call("DELETE", f"/integrations/credentials/{created['credential_id']}", None, world.admin, 204)


def _token_request(client_id: str, client_secret: str, status: int) -> Call:
    from urllib.parse import urlencode

    form = urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return Call("POST", "/integrations/token", None, None, status, headers, form.encode())


def token_exchange(world: World) -> Call:
    return token_exchange_for(invoke(new_credential(world)))


def token_exchange_wrong_secret(world: World) -> Call:
    created = invoke(new_credential(world))
    return _token_request(created["client_id"], "not-the-secret", 401)


def authorize_integration_token(world: World) -> Job:
    """The authorizer on a request with an integration token: signature, then its credential's status (R-AUTH-4)."""
    from infra.local import events
    from infra.local.functions import invoke as invoke_function

    created = invoke(new_credential(world))
    token = invoke(token_exchange_for(created))["access_token"]
    wiring = wired()
    assert wiring.authorizer is not None
    _, request = route_event("PUT", "/integrations/pm/locations", headers={"Authorization": f"Bearer {token}"})

    def run() -> int:
        answer = invoke_function(wiring.functions[wiring.authorizer or ""], events.authorizer_event(request))
        if answer.get("context", {}).get("credential_id") != created["credential_id"]:
            raise RuntimeError(f"the authorizer refused the integration token: {answer}")
        return 1

    return Job(run)


def authorize_staff_token(world: World) -> Job:
    """The authorizer on a request with a staff member's Cognito ID token: signature (JWKS cached), then the member's
    status (R-AUTH-3). Measured after the member's first request (which also marks them active)."""
    import boto3

    from benchmarks.common import local_cognito
    from frontdesk.adapters.identity import LOCAL_MAILBOX
    from infra.local import events
    from infra.local.functions import invoke as invoke_function

    staff = invoke(new_staff(world))
    pool = local_cognito()
    client = boto3.client("cognito-idp", endpoint_url=pool.endpoint, region_name="us-east-1")
    started = client.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": staff["email"],
            "PASSWORD": LOCAL_MAILBOX.messages(staff["email"])[0].temporary_password,
        },
    )
    token = client.respond_to_auth_challenge(
        ClientId=pool.client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=started["Session"],
        ChallengeResponses={"USERNAME": staff["email"], "NEW_PASSWORD": "Bench-Passw0rd-42!"},
    )["AuthenticationResult"]["IdToken"]
    wiring = wired()
    _, request = route_event("GET", "/staff", headers={"Authorization": f"Bearer {token}"})

    def authorize() -> int:
        answer = invoke_function(wiring.functions[wiring.authorizer or ""], events.authorizer_event(request))
        if answer.get("context", {}).get("staff_id") != staff["staff_id"]:
            raise RuntimeError(f"the authorizer refused the staff token: {answer}")
        return 1

    authorize()  # the member's first request: invited -> active
    return Job(authorize)


def token_exchange_for(created: dict[str, Any]) -> Call:
    return _token_request(created["client_id"], created["client_secret"], 200)


def sync_locations(world: World) -> Call:
    return Call("POST", "/routing/locations/sync", None, world.pm_admin, 200)


def pm_appointment(world: World) -> Call:
    body = {
        "patient_id": world.pm_patient_id,
        "location_id": "loc-1",
        "starts_at": "2030-01-02T15:00:00Z",
        "status": "booked",
    }
    return Call("PUT", f"/integrations/pm/appointments/{new_id()}", body, world.integration, 200)


def cell_phone_immediate(world: World) -> Call:
    patient_id = fresh_patient(world)["patient_id"]
    return Call("PUT", f"/patients/{patient_id}/cell-phone", {"cell_phone": unique_number()}, world.admin, 200)


def pending_change(world: World) -> tuple[dict[str, Any], dict[str, str], str]:
    patient, token = logged_in(world)
    phone = unique_number()
    invoke(Call("PUT", f"/patients/{patient['patient_id']}/cell-phone", {"cell_phone": phone}, world.admin, 202))
    return patient, token, phone


def cell_phone_pending(world: World) -> Call:
    patient, _ = logged_in(world)
    body = {"cell_phone": unique_number()}
    return Call("PUT", f"/patients/{patient['patient_id']}/cell-phone", body, world.admin, 202)


def confirm_change(world: World) -> Call:
    _, token, phone = pending_change(world)
    return Call("POST", "/patient/phone-change/confirm", {"code": sent_code(phone)}, token, 200)


def decline_change(world: World) -> Call:
    _, token, _ = pending_change(world)
    return Call("POST", "/patient/phone-change/decline", None, token, 200)


def phone_change_requests(world: World) -> Call:
    return Call("GET", f"/patients/{world.changing_patient_id}/phone-change-requests", None, world.admin, 200)


def change_dob(world: World) -> Call:
    patient_id = fresh_patient(world)["patient_id"]
    return Call("PUT", f"/patients/{patient_id}/date-of-birth", {"date_of_birth": "1981-05-03"}, world.admin, 200)


def dob_lock_reset(world: World) -> Call:
    patient, token = logged_in(world, dob_verified=False)
    for _ in range(3):  # R-DOB-2: three wrong answers lock the profile (the last one may already be refused)
        invoke(Call("POST", "/patient/dob-verification", {"date_of_birth": "1990-01-01"}, token, None))
    body = {"practice_id": world.practice_id}
    return Call("POST", f"/patients/{patient['patient_id']}/dob-lock/reset", body, world.support, 200)


MERGED_MESSAGES = 3  # a small merge: the source conversation holds its creation messages + 3 app messages


def merge(world: World) -> Call:
    source, token = logged_in(world)
    target = fresh_patient(world, cell_phone=source["cell_phone"])  # R-MERGE-1: staff merge one cell phone
    for _ in range(MERGED_MESSAGES):
        body = {"body": "hello", "client_message_id": new_id()}
        invoke(Call("POST", "/patient/conversation/messages", body, token, 201))
    body = {"source_patient_id": source["patient_id"]}
    return Call("POST", f"/patients/{target['patient_id']}/merge", body, world.admin, 200)


def audit_list(world: World) -> Call:
    return Call("GET", f"/patients/{world.patient_id}/audit", None, world.admin, 200)


# --- imports (issue 5) ------------------------------------------------------------------------------------------


def list_imports(world: World) -> Call:
    return Call("GET", "/imports", None, world.admin, 200)


def read_import(world: World) -> Call:
    return Call("GET", f"/imports/{world.import_id}", None, world.admin, 200)


def list_duplicates(world: World) -> Call:
    return Call("GET", "/patients/duplicates", None, world.admin, 200)


def import_job(world: World) -> str:
    """An import job of the world's practice, written by the store as the CSV import function does."""
    from frontdesk.adapters.clock import get_clock
    from frontdesk.domain.import_jobs import ImportJob
    from frontdesk.store.imports import create_job

    job = ImportJob(
        world.practice_id, new_id(), "completed", "bench-imports", "bench.csv", "etag", 10, get_clock().now()
    )
    create_job(job)
    return job.import_id


# --- scheduled jobs ----------------------------------------------------------------------------------------------

DUE_REQUESTS = 5  # how many requests each job run finds due


def _phone_job(world: World, job: str, counted: str, advance_hours: float) -> Job:
    from frontdesk.adapters.clock import get_clock

    for _ in range(DUE_REQUESTS):
        pending_change(world)
    get_clock().advance(advance_hours * 3600)  # type: ignore[attr-defined]
    spec = wired().functions["PhoneJobsFunction"]

    def run() -> int:
        from infra.local.functions import invoke as invoke_function

        result = invoke_function(spec, {"job": job})
        return int(result[counted])

    return Job(run, per_item=True)


def remind_job(world: World) -> Job:
    return _phone_job(world, "remind-phone-requests", "reminded", 49)  # R-PHONE-6: under 24 h left


def expire_job(world: World) -> Job:
    return _phone_job(world, "expire-phone-requests", "expired", 73)  # R-PHONE-3: after 72 h


# --- office hours, waits, unread replies, routing insight (issue 16) ------------------------------------------

CLOSED_NOW: dict[str, Any] = {
    **ALWAYS_OPEN,
    "weekly": {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
}
RESPONSE_TARGET_MINUTES = 60
WAITING_HOURS: dict[str, Any] = {**ALWAYS_OPEN, "response_target_minutes": RESPONSE_TARGET_MINUTES}
DUE_ITEMS = 5  # how many waits / unread replies each conversation-job run finds due


def other_practice(world: World, hours: dict[str, Any]) -> World:
    """A new practice with an admin and these office hours (the world's support token made it)."""
    other = World(support=world.support)
    other.practice_id, other.textable_number, other.admin = _practice_with_admin(world, False)
    invoke(Call("PUT", "/office-hours", hours, other.admin, 200))
    return other


def closed_practice(world: World) -> World:
    if world.closed is None:
        world.closed = other_practice(world, CLOSED_NOW)
    return world.closed


def waiting_practice(world: World) -> World:
    if world.waiting is None:
        world.waiting = other_practice(world, WAITING_HOURS)
    return world.waiting


def app_message_closed(world: World) -> Call:
    """A fresh patient's first app message of the closed period: it gets the after-hours reply (A54)."""
    _, token = logged_in(closed_practice(world))
    body = {"body": "hello", "client_message_id": new_id()}
    return Call("POST", "/patient/conversation/messages", body, token, 201)


def app_message_open_first(world: World) -> Call:
    """The same first message of a fresh patient, in the open practice: the twin of app_message_closed."""
    _, token = logged_in(world)
    body = {"body": "hello", "client_message_id": new_id()}
    return Call("POST", "/patient/conversation/messages", body, token, 201)


def sms_to(world: World, phone: str) -> Call:
    payload = {"provider_message_id": new_id(), "from": phone, "to": world.textable_number, "body": "hi"}
    return signed("/webhooks/sms", payload)


def sms_webhook_closed(world: World) -> Call:
    """A fresh patient's first text of the closed period: the reply goes by SMS (A54 + the A48 read)."""
    closed = closed_practice(world)
    return sms_to(closed, fresh_patient(closed)["cell_phone"])


def sms_webhook_open_first(world: World) -> Call:
    return sms_to(world, fresh_patient(world)["cell_phone"])


def local_time(when: datetime, hour: int) -> datetime:
    """The first `hour`:00 in New York (the benchmark practices' time zone) at least a day after `when`, in UTC."""
    from zoneinfo import ZoneInfo

    local = (when + timedelta(days=1)).astimezone(ZoneInfo("America/New_York"))
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return (at if at >= local else at + timedelta(days=1)).astimezone(UTC)


def set_clock(when: datetime) -> None:
    from frontdesk.adapters.clock import get_clock

    get_clock().set(when)  # type: ignore[attr-defined]


_START: list[datetime] = []


def job_start() -> datetime:
    """Every conversation-job measurement starts at the same moment (10:00 New York, after the clock moves of the
    phone jobs) and the clock is set back to it: the items a previous run handled are not due again then (an
    escalated wait leaves the index, a reminded reply is due a day later), so each run finds exactly its own."""
    from frontdesk.adapters.clock import get_clock

    if not _START:
        _START.append(local_time(get_clock().now(), 10))
    return _START[0]


def conversation_job(job: str, counted: str) -> Callable[[], int]:
    from infra.local.functions import invoke as invoke_function

    spec = wired().functions["ConversationJobsFunction"]
    return lambda: int(invoke_function(spec, {"job": job})[counted])


def make_overdue(practice: World, due: int) -> None:
    """`due` patients text the practice (each starts a wait, A55), then the clock passes the response target."""
    start = job_start()
    set_clock(start)
    for _ in range(due):
        invoke(sms_to(practice, fresh_patient(practice)["cell_phone"]))
    set_clock(start + timedelta(minutes=RESPONSE_TARGET_MINUTES + 1))


def make_unread(practice: World, due: int) -> None:
    """Staff reply to `due` patients who never read it (A55's UnreadReply), then the clock passes a day, inside the
    daytime window (11:00 New York)."""
    start = job_start()
    set_clock(start)
    for _ in range(due):
        conversation_id = fresh_patient(practice)["conversation_id"]
        body = {"body": "Your results are in"}
        invoke(Call("POST", f"/conversations/{conversation_id}/messages", body, practice.admin, 201))
    set_clock(start + timedelta(hours=25))


def escalate_job(world: World) -> Job:
    make_overdue(waiting_practice(world), DUE_ITEMS)
    return Job(conversation_job("escalate-overdue", "escalated"), per_item=True)


def remind_unread_job(world: World) -> Job:
    make_unread(waiting_practice(world), DUE_ITEMS)
    return Job(conversation_job("remind-unread", "reminded"), per_item=True)


def coverage(world: World) -> Call:
    return Call("GET", "/routing/coverage", None, world.admin, 200)


def simulate(world: World) -> Call:
    return Call("POST", "/routing/simulate", {"reason": "billing", "channel": "app"}, world.admin, 200)


@dataclass(frozen=True)
class Operation:
    name: str
    pattern: str  # the access pattern of docs/data-model.md whose budget applies
    request: Callable[[World], Call | Job]
    extra: int = 0  # what the budget cell adds for this call (e.g. "+1 practice, +n audit" with n = 1)
    note: str = ""
    budget: float | None = None  # for a cell that is a formula: its value for this call (note says how)


OPERATIONS: tuple[Operation, ...] = (
    Operation("POST /practices", "A1", new_practice),
    Operation("POST /staff", "A4", new_staff),
    Operation("GET /staff", "A46", list_staff),
    Operation("POST /staff/{id}/deactivate (holds nothing)", "A47", deactivate_staff, extra=1, note="+1 page"),
    Operation("POST /staff/{id}/reactivate", "A47", reactivate_staff),
    Operation("PUT /staff/{id}/role", "A47", change_role),
    Operation("POST /inboxes", "A5", new_inbox),
    Operation("POST /patients", "A6", new_patient),
    Operation("GET /patients/{id}", "A7", read_patient),
    Operation("POST /patients/search (1 match)", "A8", search_by_phone, extra=2, note="+1 practice, +1 audit"),
    Operation("GET /conversations/{id}", "A23", read_conversation),
    Operation("GET /inboxes/mine/conversations", "A22", my_inbox),
    Operation("GET /staff/me/notifications", "A24", my_notifications),
    Operation("GET /routing-settings", "A25", routing_settings),
    Operation("POST /patient/login", "A13", patient_login),
    Operation("POST /patient/login/verify", "A13", patient_verify, extra=1, note="verify: the cell's '/ 6'"),
    Operation("POST /patient/dob-verification", "A14", dob_verification),
    Operation("GET /patient/conversation", "A32", patient_conversation),
    Operation("POST /patient/conversation/messages", "A20", app_message, extra=4, note="app reads: +4"),
    Operation("POST /patient/conversation/read", "A33", mark_read, extra=1, note="+1 unread reply cleared"),
    Operation("POST /webhooks/sms", "A20", sms_webhook, extra=6, note="SMS reads: +6"),
    Operation("POST /webhooks/voicemail", "A20", voicemail_webhook, extra=6, note="SMS reads: +6"),
    Operation("inbound SMS through SNS (MessageIntakeFunction)", "A20", sns_sms, extra=6, note="as the webhook"),
    Operation("POST /webhooks/sms (STOP)", "A50", sms_stop, budget=7, note="4 + 3 when the state changes"),
    Operation("POST /webhooks/sms (HELP)", "A51", sms_help),
    Operation("route one MessageReceived (RoutingFunction)", "A21", route_one),
    Operation("POST /conversations/{id}/messages (reply)", "A34", reply),
    Operation("POST /conversations/{id}/assign (to staff)", "A35", assign, extra=1, note="+1 staff"),
    Operation("POST /conversations/{id}/close", "A35", close),
    Operation("PUT /staff/{id}/subscriptions", "A25", put_subscriptions),
    Operation("PUT /routing-settings", "A25", put_routing_settings),
    Operation("GET /routing/reasons", "A25", reasons),
    Operation("PUT /integrations/pm/locations", "A26", pm_locations),
    Operation("POST /routing/locations/sync", "A26", sync_locations),
    Operation("PUT /integrations/pm/appointments/{id}", "A27", pm_appointment),
    Operation("PUT /patients/{id}/cell-phone (immediate)", "A36", cell_phone_immediate),
    Operation("PUT /patients/{id}/cell-phone (pending)", "A15", cell_phone_pending),
    Operation("POST /patient/phone-change/confirm", "A16", confirm_change, extra=4, note="confirm: 6"),
    Operation("POST /patient/phone-change/decline", "A16", decline_change),
    Operation("GET /patients/{id}/phone-change-requests", "A37", phone_change_requests),
    Operation("PUT /patients/{id}/date-of-birth", "A38", change_dob),
    Operation("POST /patients/{id}/dob-lock/reset", "A38", dob_lock_reset),
    Operation("POST /patients/{id}/merge (small)", "A19", merge, budget=14, note="one page: 4 x 1 + 10"),
    Operation("GET /patients/{id}/audit", "A12", audit_list),
    Operation("GET /imports", "A29", list_imports),
    Operation("GET /imports/{id}", "A29", read_import, extra=1, note="read one: +1 row errors"),
    Operation("GET /patients/duplicates", "A11", list_duplicates),
    Operation("POST /integrations/credentials", "A40", new_credential),
    Operation("GET /integrations/credentials", "A40", list_credentials),
    Operation("DELETE /integrations/credentials/{id}", "A40", revoke_credential),
    Operation("POST /integrations/token", "A41", token_exchange),
    Operation("POST /integrations/token (wrong secret)", "A41", token_exchange_wrong_secret, extra=1, note="+1 write"),
    Operation("authorizer: an integration token", "A42", authorize_integration_token),
    Operation("authorizer: a staff member's Cognito ID token", "A44", authorize_staff_token),
    Operation(
        "remind job, per reminded request",
        "A39",
        remind_job,
        budget=(2 * DUE_REQUESTS + 3) / DUE_REQUESTS,
        note=f"{DUE_REQUESTS} due in one practice: (2n + 1 page + 1 practice + 1 time zone) / n",
    ),
    Operation(
        "expire job, per expired request",
        "A18",
        expire_job,
        budget=(DUE_REQUESTS + 1) / DUE_REQUESTS,
        note=f"{DUE_REQUESTS} due: (n + 1 page of A17) / n",
    ),
    Operation("POST /patient/conversation/messages (open, first)", "A20", app_message_open_first, extra=4),
    Operation(
        "POST /patient/conversation/messages (closed, first)",
        "A20",
        app_message_closed,
        extra=5,
        note="app reads: +4, closed: +1 reply (A54)",
    ),
    Operation("POST /webhooks/sms (open, first)", "A20", sms_webhook_open_first, extra=6, note="SMS reads: +6"),
    Operation(
        "POST /webhooks/sms (closed, first)",
        "A20",
        sms_webhook_closed,
        extra=8,
        note="SMS reads: +6, closed: +1 reply (A54) +1 opt-out read (A48)",
    ),
    Operation(
        "escalate-overdue, per escalated wait",
        "A56",
        escalate_job,
        budget=(1 + 2 * DUE_ITEMS + 2) / DUE_ITEMS,
        note=f"{DUE_ITEMS} due in one practice: (1 page + 2n + 2 per practice) / n",
    ),
    Operation(
        "remind-unread, per reminder",
        "A58",
        remind_unread_job,
        budget=(1 + 6 * DUE_ITEMS + 1) / DUE_ITEMS,
        note=f"{DUE_ITEMS} due in one practice: (1 page + 6n + 1 practice) / n",
    ),
    Operation("GET /routing/coverage", "A59", coverage),
    Operation("POST /routing/simulate", "A60", simulate),
)


def _practice_with_admin(world: World, has_pm_integration: bool) -> tuple[str, str, dict[str, str]]:
    """(practice id, textable number, admin claims) of a new practice."""
    number = unique_number()
    body = {
        "name": "Bench Practice",
        "country": "US",
        "textable_number": number,
        "has_pm_integration": has_pm_integration,
    }
    practice_id = invoke(Call("POST", "/practices", body, world.support, 201))["practice_id"]
    admin = invoke(
        Call(
            "POST",
            "/staff",
            {
                "name": "Ada Admin",
                "email": f"ada-{uuid.uuid4().hex}@example.org",
                "role": "admin",
                "practice_id": practice_id,
            },
            world.support,
            201,
        )
    )
    admin_claims = claims("admin", practice_id, staff_id=admin["staff_id"])
    # Open around the clock: the figures are the open practice's, whatever the hour of the run (closed adds the
    # after-hours reply's one conditional write, A54: measured in tests/integration/test_office_hours_and_waits.py)
    invoke(Call("PUT", "/office-hours", ALWAYS_OPEN, admin_claims, 200))
    return practice_id, number, admin_claims


def setup_world() -> World:
    world = World(support=claims("support"))
    world.practice_id, world.textable_number, world.admin = _practice_with_admin(world, False)
    patient, world.patient = logged_in(world)
    world.patient_id, world.conversation_id = patient["patient_id"], patient["conversation_id"]
    world.cell_phone = patient["cell_phone"]
    world.changing_patient_id = pending_change(world)[0]["patient_id"]
    pm_practice, _, world.pm_admin = _practice_with_admin(world, True)
    world.integration = claims("integration", pm_practice)
    pm = World(practice_id=pm_practice, admin=world.pm_admin)
    world.pm_patient_id = fresh_patient(pm)["patient_id"]
    invoke(pm_locations(world))
    world.import_id = import_job(world)
    for _ in range(2):  # a probable duplicate pair (same name and date of birth)
        fresh_patient(world, first_name="Twin", last_name="Duplicate")
    return world


def count(call: Call | Job) -> Any:
    """The DynamoDB requests of one call (compared per item handled, for a per-item job)."""
    from benchmarks.dynamodb_requests import counting

    with counting() as requests:
        handled = call.run() if isinstance(call, Job) else invoke(call)
    if isinstance(call, Job) and call.per_item:
        if not handled:
            raise RuntimeError("the job handled nothing")
        requests.per = int(handled)
    return requests


def measure(world: World, operations: tuple[Operation, ...] = OPERATIONS, verbose: bool = False) -> dict[str, Any]:
    """{operation name: Requests} - each operation once, after a warm-up call (handlers loaded, clients made)."""
    found: dict[str, Any] = {}
    for operation in operations:
        warm_up = operation.request(world)  # the first call of a function loads it
        if isinstance(warm_up, Job):
            warm_up.run()
        else:
            invoke(warm_up)
        found[operation.name] = count(operation.request(world))
        if verbose:
            requests = found[operation.name]
            print(f"[requests] {operation.name}: {', '.join(requests.items)}{requests.per_text()}", file=sys.stderr)
    return found


def run() -> list[Row]:
    local_dynamodb()
    from benchmarks.dynamodb_requests import budgets

    budget_of = budgets()
    counted = measure(setup_world(), verbose=True)
    rows = []
    for operation in OPERATIONS:
        requests = counted[operation.name]
        if operation.pattern not in budget_of:
            raise RuntimeError(f"{operation.name}: docs/data-model.md has no access pattern {operation.pattern}")
        base, cell = budget_of[operation.pattern]
        if operation.budget is not None:
            budget: float = operation.budget
        elif base is None:
            raise RuntimeError(f"{operation.pattern}'s budget '{cell}' is a formula: give {operation.name} its own")
        else:
            budget = base + operation.extra
        value = requests.per_item
        print(
            f"[requests] {operation.name}: {value:g} ({requests.summary()}{requests.per_text()}); "
            f"{operation.pattern} budget '{cell}'{' ' + operation.note if operation.note else ''} -> {budget:g}",
            file=sys.stderr,
        )
        rows.append(
            row(
                f"DynamoDB requests: {operation.name} [{operation.pattern}]",
                round(value, 2) if requests.per > 1 else requests.count,
                "requests",
                f"<= {budget:g}",
                value <= budget,
            )
        )
    return rows


if __name__ == "__main__":
    sys.exit(main(run))
