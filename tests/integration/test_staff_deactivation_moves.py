"""R-AUTH-3 on DynamoDB Local: deactivation moves each conversation the member holds back to Unassigned once, and a
stale inbox entry (the gsi2 listing lags, or still names the member) never pulls back a conversation reassigned
meanwhile. Before the fix the release re-queried the listing and moved whatever each entry named, unconditionally:
with such an entry it moved the reassigned conversation again and again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import invoke_route, keep_open, unique_email, unique_phone


def _claims(role: str, practice_id: str, staff_id: str) -> dict[str, str]:
    return {"sub": staff_id, "role": role, "practice_id": practice_id, "staff_id": staff_id}


def _new_staff(admin: dict[str, str], name: str) -> str:
    reply = invoke_route("POST", "/staff", {"name": name, "email": unique_email(name.lower())}, admin)
    assert reply.status == 201, reply
    return str(reply.body["staff_id"])


def _conversation(practice_id: str, admin: dict[str, str], conversation_id: str) -> dict[str, Any]:
    reply = invoke_route("GET", f"/conversations/{conversation_id}", None, admin)
    assert reply.status == 200, reply
    return dict(reply.body)


@pytest.mark.timeout(90)  # before the fix the release never ended (it moved the reassigned conversation forever)
def test_r_auth_3_deactivation_moves_held_conversations_once_and_leaves_a_reassigned_one_alone(
    dynamodb: str,
) -> None:
    from frontdesk.domain.listings import Listing
    from frontdesk.store import listings as listings_store

    # Given a practice with Tom and Maria, Tom holding two conversations
    support = {"sub": "support", "role": "support"}
    practice = invoke_route("POST", "/practices", {"name": "P", "textable_number": unique_phone()}, support)
    assert practice.status == 201, practice
    practice_id = practice.body["practice_id"]
    first_admin = invoke_route(
        "POST",
        "/staff",
        {"name": "Ada", "email": unique_email("ada"), "role": "admin", "practice_id": practice_id},
        support,
    )
    admin = _claims("admin", practice_id, first_admin.body["staff_id"])
    keep_open(admin)
    tom, maria = _new_staff(admin, "Tom"), _new_staff(admin, "Maria")
    conversations = []
    for last_name in ("Held", "Reassigned"):
        body = {
            "first_name": "Pat",
            "last_name": last_name,
            "date_of_birth": "1980-04-02",
            "cell_phone": unique_phone(),
        }
        patient = invoke_route("POST", "/patients", body, admin)
        assert patient.status == 201, patient
        conversation_id = patient.body["conversation_id"]
        assigned = invoke_route("POST", f"/conversations/{conversation_id}/assign", {"staff_id": tom}, admin)
        assert assigned.status == 200, assigned
        conversations.append((conversation_id, patient.body["patient_id"]))
    (held, _), (reassigned, reassigned_patient) = conversations
    # And the second reassigned to Maria, while Tom's inbox still lists it (what a lagging gsi2 entry shows)
    moved = invoke_route("POST", f"/conversations/{reassigned}/assign", {"staff_id": maria}, admin)
    assert moved.status == 200, moved
    stale = Listing(reassigned, reassigned_patient, "open", "staff", tom, None, None, True, moved_at(admin, reassigned))
    listings_store.listing_item(practice_id, f"staff#{tom}", stale).save()

    # When the admin deactivates Tom
    reply = invoke_route("POST", f"/staff/{tom}/deactivate", {}, admin)
    assert reply.status == 200, reply

    # Then the conversation he held is in Unassigned with exactly one staff_deactivated message
    kept = _conversation(practice_id, admin, held)
    assert (kept["status"], kept["holder"]) == ("open", {"type": "unassigned", "id": None})
    assert [m.get("kind") for m in kept["messages"]].count("staff_deactivated") == 1
    # And the one reassigned to Maria stays hers, with no staff_deactivated message
    theirs = _conversation(practice_id, admin, reassigned)
    assert theirs["holder"] == {"type": "staff", "id": maria}
    assert "staff_deactivated" not in [m.get("kind") for m in theirs["messages"]]


def moved_at(admin: dict[str, str], conversation_id: str) -> Any:
    from frontdesk.store.conversations import get_conversation

    conversation = get_conversation(admin["practice_id"], conversation_id, consistent=True)
    assert conversation is not None
    return conversation.last_message_at or conversation.created_at
