"""R-AUTH-3 through the runner: a practice keeps an admin (409 last_admin), reactivation only undoes a deactivation
(docs/api-extensions.md, "Staff sign-in and the staff lifecycle")."""

from __future__ import annotations

from tests.support import Api, unique_email


def test_r_auth_3_the_last_admin_cannot_step_down_until_another_admin_exists(api: Api) -> None:
    # Given a practice whose only admin is Ada
    practice = api.new_practice()
    ada = practice["admin_id"]
    # When she demotes herself, Then 409 last_admin in API.md's envelope, and she is still an admin
    refused = api.call("PUT", f"/staff/{ada}/role", practice["admin"], {"role": "staff"})
    assert refused.status == 409 and refused.error_code == "last_admin", refused
    assert set(refused.body["error"]) <= {"code", "message", "field"}
    # And support cannot deactivate her either
    support = api.token("support")
    body = {"practice_id": practice["practice_id"]}
    assert api.call("POST", f"/staff/{ada}/deactivate", support, body).error_code == "last_admin"
    # When she promotes a staff member, Then she may step down
    staff_id, _ = api.new_staff(practice)
    assert api.call("PUT", f"/staff/{staff_id}/role", practice["admin"], {"role": "admin"}).status == 200
    stepped = api.call("PUT", f"/staff/{ada}/role", practice["admin"], {"role": "staff"})
    assert stepped.status == 200 and stepped.body == {"staff_id": ada, "role": "staff"}


def test_r_auth_3_reactivating_an_invited_member_answers_them_still_invited(api: Api) -> None:
    # Given a member invited but never signed in
    practice = api.new_practice()
    body = {"name": "Ivy Invited", "email": unique_email("ivy"), "role": "staff"}
    staff_id = api.call("POST", "/staff", practice["admin"], body).body["staff_id"]
    # When the admin reactivates them, Then 200 with their status unchanged: invited, not active
    reply = api.call("POST", f"/staff/{staff_id}/reactivate", practice["admin"], {})
    assert reply.status == 200 and reply.body == {"staff_id": staff_id, "status": "invited"}
    members = api.call("GET", "/staff", practice["admin"]).body["items"]
    assert {m["staff_id"]: m["status"] for m in members}[staff_id] == "invited"
