"""Subscription edits under concurrency end in a state equal to some serial order (R-REL-2, R-ROUTE-10/11)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support import invoke_route, unique_email, unique_phone


def _practice_with_staff(count: int) -> tuple[dict[str, str], list[str]]:
    support = {"sub": "support", "role": "support"}
    practice = invoke_route(
        "POST", "/practices", {"name": "P", "country": "US", "textable_number": unique_phone()}, support
    ).body
    practice_id = practice["practice_id"]
    admin = invoke_route(
        "POST", "/staff", {"name": "A", "email": unique_email(), "role": "admin", "practice_id": practice_id}, support
    ).body
    claims = {"sub": admin["staff_id"], "role": "admin", "practice_id": practice_id, "staff_id": admin["staff_id"]}
    staff = [
        invoke_route("POST", "/staff", {"name": f"S{i}", "email": unique_email()}, claims).body for i in range(count)
    ]
    return claims, [s["staff_id"] for s in staff]


def test_r_rel_2_twenty_concurrent_admin_edits_lose_nothing(dynamodb: str) -> None:
    # Given 20 staff members and an admin
    admin, staff_ids = _practice_with_staff(20)
    reasons = ["appointments", "billing", "referrals", "other"]

    def edit(index: int) -> int:
        body = {"reasons": [reasons[index % len(reasons)]], "inboxes": ["unassigned"]}
        return invoke_route("PUT", f"/staff/{staff_ids[index]}/subscriptions", body, admin).status

    # When the admin edits all 20 at once
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(edit, range(20)))
    # Then every edit succeeded and every one of them is in the single routing config
    assert statuses == [200] * 20
    listed = invoke_route("GET", "/routing/reasons", None, admin).body["items"]
    by_reason = {item["reason"]: set(item["subscribers"]) for item in listed}
    for index, staff_id in enumerate(staff_ids):
        assert staff_id in by_reason[reasons[index % len(reasons)]]
    assert sum(len(ids) for ids in by_reason.values()) == 20


def test_r_rel_2_concurrent_edits_of_one_staff_member_end_in_one_of_them(dynamodb: str) -> None:
    admin, staff_ids = _practice_with_staff(1)
    target = staff_ids[0]
    choices = [["appointments"], ["billing"], ["referrals", "other"], ["forms_records"]] * 5

    def edit(reasons: list[str]) -> int:
        return invoke_route("PUT", f"/staff/{target}/subscriptions", {"reasons": reasons}, admin).status

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(edit, choices)) == {200}
    final = invoke_route("GET", f"/staff/{target}/subscriptions", None, admin).body
    assert final["reasons"] in [sorted(c) for c in choices]
