"""R-MERGE-1, R-MERGE-2 against DynamoDB Local: hundreds of messages, a failure half-way, a retry."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from frontdesk.adapters.clock import get_clock
from frontdesk.services import merge as merge_service
from frontdesk.services.messages import NewMessage
from frontdesk.store import keys, merges, patient_updates, phone_requests
from frontdesk.store import patients as patient_store
from frontdesk.store.conversations import MessageItem, message_item
from tests.support import invoke_route, unique_phone

pytestmark = pytest.mark.integration
MESSAGES = 300


@pytest.fixture
def practice(dynamodb: str) -> dict[str, Any]:
    support = {"sub": "s", "role": "support"}
    created = invoke_route("POST", "/practices", {"name": "Clinic", "textable_number": unique_phone()}, support)
    assert created.status == 201, created
    practice_id = created.body["practice_id"]
    admin = {"sub": "a1", "role": "admin", "practice_id": practice_id, "staff_id": "a1"}
    return {"practice_id": practice_id, "admin": admin, "support": support}


def _patient(practice: dict[str, Any], **fields: str) -> dict[str, Any]:
    body = {"first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1980-04-02", **fields}
    created = invoke_route("POST", "/patients", body, practice["admin"])
    assert created.status == 201, created
    return dict(created.body)


def _fill(practice_id: str, patient: dict[str, Any], count: int) -> None:
    start = get_clock().now() - timedelta(days=10)
    with MessageItem.batch_write() as batch:
        for n in range(count):
            message = NewMessage(
                practice_id, patient["conversation_id"], patient["patient_id"], "patient", "voicemail", f"voicemail {n}"
            )
            batch.save(message_item(message, start + timedelta(seconds=n)))


def _messages(practice_id: str, conversation_id: str) -> list[MessageItem]:
    pk = keys.conversation_pk(practice_id, conversation_id)
    return list(MessageItem.query(pk, MessageItem.sk.startswith("MSG#"), consistent_read=True))


def _search(practice: dict[str, Any], phone: str) -> list[str]:
    reply = invoke_route("POST", "/patients/search", {"phone": phone}, practice["admin"])
    assert reply.status == 200, reply
    return [p["patient_id"] for p in reply.body["items"]]


def test_r_merge_2_a_voicemail_profile_with_300_messages_merges_without_loss(practice: dict[str, Any]) -> None:
    # Given a patient with a cell phone and a voicemail profile (landline only) holding 300 messages
    target = _patient(practice, cell_phone=unique_phone())
    landline = unique_phone()
    source = _patient(practice, landline=landline, first_name="Unknown", last_name="Caller")
    _fill(practice["practice_id"], source, MESSAGES)
    # When staff merge the voicemail profile into the patient
    started = time.perf_counter()
    reply = invoke_route(
        "POST",
        f"/patients/{target['patient_id']}/merge",
        {"source_patient_id": source["patient_id"]},
        practice["admin"],
    )
    print(f"merge of {MESSAGES} messages: {time.perf_counter() - started:.2f} s on DynamoDB Local")  # a figure
    # Then every message moved, the landline was added, the source is gone, and the merge is recorded
    assert reply.status == 200, reply
    assert reply.body["landlines"] == [landline] and reply.body["cell_phone"] == target["cell_phone"]
    moved = _messages(practice["practice_id"], target["conversation_id"])
    bodies = {m.body for m in moved if m.sender == "patient"}
    assert bodies == {f"voicemail {n}" for n in range(MESSAGES)}
    assert [m.kind for m in moved if m.sender == "system"] == ["profiles_merged"]
    assert _search(practice, landline) == [target["patient_id"]]
    assert invoke_route("GET", f"/patients/{source['patient_id']}", claims=practice["admin"]).status == 404
    # a repeated merge is answered like the first and duplicates nothing
    again = invoke_route(
        "POST",
        f"/patients/{target['patient_id']}/merge",
        {"source_patient_id": source["patient_id"]},
        practice["admin"],
    )
    assert again.status == 200
    assert len(_messages(practice["practice_id"], target["conversation_id"])) == MESSAGES + 1


def test_r_merge_2_a_failure_half_way_leaves_both_usable_and_a_retry_completes(
    practice: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _patient(practice, cell_phone=unique_phone())
    landline = unique_phone()
    source = _patient(practice, landline=landline)
    _fill(practice["practice_id"], source, 250)

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("the Lambda died here")

    # When the merge dies after copying the messages, before finalising
    monkeypatch.setattr(merges, "finalize_merge", crash)
    with pytest.raises(RuntimeError):
        merge_service.merge_profiles(
            practice["practice_id"], target["patient_id"], source["patient_id"], _principal(practice)
        )
    # Then both profiles are still there, the source keeps its messages and its number
    assert invoke_route("GET", f"/patients/{source['patient_id']}", claims=practice["admin"]).status == 200
    assert invoke_route("GET", f"/patients/{target['patient_id']}", claims=practice["admin"]).status == 200
    assert len(_messages(practice["practice_id"], source["conversation_id"])) == 250
    assert _search(practice, landline) == [source["patient_id"]]
    # When the merge is retried, it completes, with every message exactly once
    monkeypatch.undo()
    reply = invoke_route(
        "POST",
        f"/patients/{target['patient_id']}/merge",
        {"source_patient_id": source["patient_id"]},
        practice["admin"],
    )
    assert reply.status == 200, reply
    moved = _messages(practice["practice_id"], target["conversation_id"])
    assert len(moved) == 250 + 1
    assert _search(practice, landline) == [target["patient_id"]]
    assert merges.merge_target_in_progress(practice["practice_id"], source["patient_id"]) is None


def test_r_merge_1_different_cell_phones_409_for_staff_allowed_for_support(practice: dict[str, Any]) -> None:
    target, source = _patient(practice, cell_phone=unique_phone()), _patient(practice, cell_phone=unique_phone())
    path = f"/patients/{target['patient_id']}/merge"
    refused = invoke_route("POST", path, {"source_patient_id": source["patient_id"]}, practice["admin"])
    assert refused.status == 409 and refused.error_code == "different_cell_phones"
    assert invoke_route("GET", f"/patients/{source['patient_id']}", claims=practice["admin"]).status == 200
    body = {"source_patient_id": source["patient_id"], "practice_id": practice["practice_id"]}
    allowed = invoke_route("POST", path, body, practice["support"])
    assert allowed.status == 200, allowed
    assert _search(practice, source["cell_phone"]) == [target["patient_id"]]


def test_merge_audit_is_visible_to_admins_only(practice: dict[str, Any]) -> None:
    target, source = _patient(practice, cell_phone=unique_phone()), _patient(practice, landline=unique_phone())
    invoke_route(
        "POST",
        f"/patients/{target['patient_id']}/merge",
        {"source_patient_id": source["patient_id"]},
        practice["admin"],
    )
    trail = invoke_route("GET", f"/patients/{target['patient_id']}/audit", claims=practice["admin"])
    assert trail.status == 200
    actions = [entry["action"] for entry in trail.body["items"]]
    assert f"patient.merge_from:{source['patient_id']}" in actions and "patient.create" in actions
    staff = {"sub": "s1", "role": "staff", "practice_id": practice["practice_id"], "staff_id": "s1"}
    assert invoke_route("GET", f"/patients/{target['patient_id']}/audit", claims=staff).status == 403


def _principal(practice: dict[str, Any]) -> Any:
    from frontdesk.auth import Principal

    return Principal.from_claims(practice["admin"])


def test_r_merge_2_a_verified_source_with_a_pending_phone_change(practice: dict[str, Any]) -> None:
    from frontdesk.auth import Principal
    from frontdesk.services import phone_change

    # Given a landline-only target and a verified source with a pending phone change
    target = _patient(practice, landline=unique_phone())
    source = _patient(practice, cell_phone=unique_phone())
    stored = patient_store.get_patient(practice["practice_id"], source["patient_id"], consistent=True)
    assert stored is not None
    patient_updates.touch_login(stored, get_clock().now())
    admin = Principal.from_claims(practice["admin"])
    assert admin is not None
    pending = phone_change.request_change(practice["practice_id"], source["patient_id"], unique_phone(), admin)
    assert pending.status == "pending_confirmation"
    # When the source is merged into the target
    reply = invoke_route(
        "POST",
        f"/patients/{target['patient_id']}/merge",
        {"source_patient_id": source["patient_id"]},
        practice["admin"],
    )
    # Then the target has the cell phone and stays verified; the request is cancelled and off the expiry index
    assert reply.status == 200, reply
    assert reply.body["cell_phone"] == source["cell_phone"] and reply.body["verified"] is True
    statuses = [r.status for r in phone_requests.requests_of(practice["practice_id"], source["patient_id"])]
    assert statuses == ["cancelled"]
    due = {r.patient_id for r in phone_requests.due_requests(get_clock().now() + timedelta(days=4))}
    assert source["patient_id"] not in due


def test_r_merge_2_the_source_conversation_leaves_every_inbox(practice: dict[str, Any], dynamodb: str) -> None:
    import boto3

    from tests.conftest import TABLE_NAME

    client = boto3.client("dynamodb", endpoint_url=dynamodb, region_name="us-east-1")
    target = _patient(practice, cell_phone=unique_phone())
    source = _patient(practice, landline=unique_phone())
    # Given the source conversation is open in Unassigned and routed to two staff members' inboxes
    conv_pk = keys.conversation_pk(practice["practice_id"], source["conversation_id"])
    names = ["unassigned", "staff#s1", "staff#s2"]
    client.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": conv_pk}, "sk": {"S": "META"}},
        UpdateExpression="SET #s = :open, holder_type = :u, listed_in = :names",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":open": {"S": "open"},
            ":u": {"S": "unassigned"},
            ":names": {"L": [{"S": n} for n in names]},
        },
    )
    for name in names:
        pk = keys.listing_pk(practice["practice_id"], name)
        client.put_item(
            TableName=TABLE_NAME,
            Item={"pk": {"S": pk}, "sk": {"S": f"CONV#{source['conversation_id']}"}, "type": {"S": "Listing"}},
        )
    # When it is merged
    reply = invoke_route(
        "POST",
        f"/patients/{target['patient_id']}/merge",
        {"source_patient_id": source["patient_id"]},
        practice["admin"],
    )
    assert reply.status == 200, reply
    # Then no inbox lists it any more
    for name in names:
        pk = keys.listing_pk(practice["practice_id"], name)
        found = client.get_item(
            TableName=TABLE_NAME, Key={"pk": {"S": pk}, "sk": {"S": f"CONV#{source['conversation_id']}"}}
        )
        assert "Item" not in found, name
