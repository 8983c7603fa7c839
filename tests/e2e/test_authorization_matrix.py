"""R-SEC-1: every route of the template, walked with no token, bad tokens, each role and another practice.

The routes come from template.yaml and the roles from each function's own ACCESS table, so a new route cannot
be forgotten: a route without an ACCESS entry fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.local.functions import load_module
from infra.template import wiring
from tests.support import Api, unique_phone

pytestmark = pytest.mark.e2e
ROLES = ("patient", "staff", "admin", "support", "integration")
WIRED = wiring()
AUTHORIZED_ALL = [r for r in WIRED.routes if r.authorized]


def _access() -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    for function in {r.function for r in WIRED.routes}:
        module = load_module(WIRED.functions[function])
        table.update(getattr(module, "ACCESS", {}))
    return table


ACCESS = _access()
AUTHORIZED = [r for r in AUTHORIZED_ALL if f"{r.method} {r.path}" in ACCESS]


def _path(template_path: str, ids: dict[str, str]) -> str:
    if template_path.endswith("/deactivate"):
        # A member of its own: deactivating the world's staff member would make its token fail every later route.
        ids = {**ids, "staff_id": ids["deactivated_staff_id"]}
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x0000"), template_path)


@pytest.fixture(scope="module")
def world(runner: str) -> dict[str, Any]:
    api = Api(runner)
    home = api.new_practice()
    staff_id, staff = api.new_staff(home)
    deactivated_staff_id, _ = api.new_staff(home, "Dee Activated")
    patient = api.new_patient(home)
    away = api.new_practice()
    tokens = {
        "patient": api.token("patient", home["practice_id"], patient_id=patient["patient_id"]),
        "staff": staff,
        "admin": home["admin"],
        "support": api.token("support"),
        "integration": api.token("integration", home["practice_id"]),
    }
    ids = {
        "patient_id": patient["patient_id"],
        "conversation_id": patient["conversation_id"],
        "staff_id": staff_id,
        "deactivated_staff_id": deactivated_staff_id,
        "inbox_id": "x0000",
        "import_id": "x0000",
        "appointment_id": "appt-1",
        "extension": "3",
        # a real credential of the home practice: another practice's admin must not revoke it (R-AUTH-4)
        "credential_id": api.call("POST", "/integrations/credentials", home["admin"], {"name": "PM"}).body[
            "credential_id"
        ],
    }
    return {"api": api, "home": home, "away": away, "tokens": tokens, "ids": ids}


def test_every_authorized_route_has_an_access_entry() -> None:
    # (the unauthenticated docs route, GET /openapi.json, is served by a function without ACCESS: not an API route)
    missing = [f"{r.method} {r.path}" for r in AUTHORIZED_ALL if f"{r.method} {r.path}" not in ACCESS]
    assert missing == []


@pytest.mark.parametrize("route", AUTHORIZED, ids=lambda r: f"{r.method} {r.path}")
def test_r_sec_1_no_token_forged_or_expired_is_401(world: dict[str, Any], route: Any) -> None:
    api: Api = world["api"]
    path = _path(route.path, world["ids"])
    expired = api.call(
        "POST",
        "/_local/tokens",
        body={"role": "admin", "practice_id": world["home"]["practice_id"], "staff_id": "s", "ttl_seconds": -1},
    ).body["token"]
    forged = world["tokens"]["admin"].rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    for token in (None, forged, expired, "garbage"):
        reply = api.call(route.method, path, token, {})
        assert reply.status == 401, (route, token and token[:10], reply)
        assert reply.error_code == "unauthenticated"


@pytest.mark.parametrize("route", AUTHORIZED, ids=lambda r: f"{r.method} {r.path}")
def test_r_sec_1_each_role_gets_exactly_the_routes_it_is_allowed(world: dict[str, Any], route: Any) -> None:
    api: Api = world["api"]
    allowed = ACCESS[f"{route.method} {route.path}"]
    path = _path(route.path, world["ids"])
    for role in ROLES:
        reply = api.call(route.method, path, world["tokens"][role], {})
        if role in allowed:
            # The role passes the gate: not an auth failure, not a crash, and never the role refusal `forbidden` (a
            # 403 a rule answers an allowed role carries the rule's own code: subscription_required, dob_*).
            assert reply.status not in (401, 500), (role, route, reply)
            assert reply.error_code != "forbidden", (role, route, reply)
            assert reply.status < 400 or reply.error_code is not None, (role, route, reply)  # API.md's error shape
        else:
            assert reply.status == 403 and reply.error_code == "forbidden", (role, route, reply)


@dataclass(frozen=True)
class Isolation:
    """One route called by another practice's admin with a body the route accepts, on a record of this practice.

    `away` is the exact (status, code) API.md implies for the other practice; `home` the status this practice's
    admin gets for the same request right after (the control: the record exists and the body is valid, so the
    away answer is isolation, never a validation 400 or a missing record). `ids` picks the records of the path.
    """

    away: tuple[int, str | None]
    home: int
    body: Any = None
    ids: dict[str, str] = field(default_factory=dict)


NOT_FOUND = (404, "not_found")  # another practice's record does not exist for the caller (API.md: 404 not_found)
ISOLATION: dict[str, Isolation] = {
    "GET /patients/{patient_id}": Isolation(NOT_FOUND, 200),
    "PUT /patients/{patient_id}/cell-phone": Isolation(NOT_FOUND, 200, {"cell_phone": "new_phone"}),
    "GET /patients/{patient_id}/phone-change-requests": Isolation(NOT_FOUND, 200),
    "PUT /patients/{patient_id}/date-of-birth": Isolation(NOT_FOUND, 200, {"date_of_birth": "1980-04-02"}),
    "POST /patients/{patient_id}/merge": Isolation(
        NOT_FOUND, 200, {"source_patient_id": "merge_source"}, {"patient_id": "merge_target"}
    ),
    "GET /patients/{patient_id}/audit": Isolation(NOT_FOUND, 200),
    "GET /imports/{import_id}": Isolation(NOT_FOUND, 200),
    "GET /inboxes/{inbox_id}/conversations": Isolation(NOT_FOUND, 200),
    "GET /conversations/{conversation_id}": Isolation(NOT_FOUND, 200),
    "POST /conversations/{conversation_id}/messages": Isolation(NOT_FOUND, 201, {"body": "Note", "internal": True}),
    "POST /conversations/{conversation_id}/assign": Isolation(NOT_FOUND, 200, {"unassigned": True}),
    "POST /conversations/{conversation_id}/close": Isolation(NOT_FOUND, 200),
    "GET /staff/{staff_id}/subscriptions": Isolation(NOT_FOUND, 200),
    "PUT /staff/{staff_id}/subscriptions": Isolation(
        NOT_FOUND, 200, {"reasons": [], "locations": [], "inboxes": ["unassigned"]}
    ),
    # R-AUTH-3: another practice's admin cannot deactivate, reactivate or re-role this practice's members
    # (deactivate acts on the member kept for it: see _path).
    "POST /staff/{staff_id}/deactivate": Isolation(NOT_FOUND, 200, {}),
    "POST /staff/{staff_id}/reactivate": Isolation(NOT_FOUND, 200, {}),
    "PUT /staff/{staff_id}/role": Isolation(NOT_FOUND, 200, {"role": "staff"}),
    # R-AUTH-4: nor revoke its PM credential (revoking is idempotent: the control answers 204)
    "DELETE /integrations/credentials/{credential_id}": Isolation(NOT_FOUND, 204),
    # The extension is a key of the caller's own practice's configuration, not a record of another practice: the
    # other practice's admin configures its own extension 3 (200), which changes nothing of this practice.
    "PUT /voicemail-extensions/{extension}": Isolation((200, None), 200, {"reason": "billing"}),
}
CROSS_PRACTICE = [
    r for r in AUTHORIZED if "{" in r.path and ACCESS.get(f"{r.method} {r.path}", frozenset()) & {"staff", "admin"}
]


def test_every_route_with_a_record_in_its_path_states_what_another_practice_gets() -> None:
    # Given the template's staff routes with a path parameter  Then each has its exact expected answers here
    assert sorted(f"{r.method} {r.path}" for r in CROSS_PRACTICE) == sorted(ISOLATION)


@pytest.fixture(scope="module")
def records(world: dict[str, Any]) -> dict[str, str]:
    """Real records of the home practice for the path and body placeholders (a made-up id would prove nothing)."""
    api: Api = world["api"]
    home = world["home"]
    merge_target = api.new_patient(home, first_name="Lee", last_name="Marsh", cell_phone=unique_phone())
    merge_source = api.new_patient(home, first_name="Lee", last_name="Marsh")  # no cell phone: mergeable (R-MERGE-2)
    inbox = api.call("POST", "/inboxes", home["admin"], {"name": "Billing"})
    assert inbox.status == 201, inbox
    bucket = api.config()["imports_bucket"]
    csv = "Given,Family,Birthdate,Cell Phone\nAna,Diaz,1980-04-02,\n"
    started = api.call("PUT", f"/_local/s3/{bucket}/imports/{home['practice_id']}/iso.csv", data=csv.encode())
    assert started.status == 200, started
    return {
        **world["ids"],
        "inbox_id": inbox.body["inbox_id"],
        "import_id": started.body["import_id"],
        "merge_target": merge_target["patient_id"],
        "merge_source": merge_source["patient_id"],
    }


@pytest.mark.parametrize("route", CROSS_PRACTICE, ids=lambda r: f"{r.method} {r.path}")
def test_r_sec_1_another_practice_never_sees_or_changes_this_practices_records(
    world: dict[str, Any], records: dict[str, str], route: Any
) -> None:
    # Given a record of the home practice and a body the route accepts
    api: Api = world["api"]
    case = ISOLATION[f"{route.method} {route.path}"]
    ids = {**records, **{name: records[value] for name, value in case.ids.items()}}
    path = _path(route.path, ids)
    phone = unique_phone()

    def body() -> Any:
        if not isinstance(case.body, dict):
            return case.body
        filled = {k: records.get(v, v) if isinstance(v, str) else v for k, v in case.body.items()}
        return {k: phone if v == "new_phone" else v for k, v in filled.items()}

    # When another practice's admin calls it  Then exactly the status and code API.md implies
    away = api.call(route.method, path, world["away"]["admin"], body())
    assert (away.status, away.error_code) == case.away, (route, away)
    # And the same request by the practice's own admin succeeds (the record exists, the body is valid)
    home = api.call(route.method, path, world["home"]["admin"], body())
    assert home.status == case.home, (route, home)


PUBLIC_ROUTES = [r for r in WIRED.routes if not r.authorized and f"{r.method} {r.path}" in ACCESS]


def test_r_auth_4_the_token_endpoint_is_the_one_public_integration_route() -> None:
    # POST /integrations/token authenticates the client itself (OAuth 2.0 client credentials), not with a bearer
    public = {f"{r.method} {r.path}" for r in PUBLIC_ROUTES if r.path.startswith("/integrations/")}
    assert public == {"POST /integrations/token"}


@pytest.mark.parametrize("role", ROLES)
def test_r_auth_4_a_bearer_of_any_role_is_no_client_authentication_at_the_token_endpoint(
    world: dict[str, Any], role: str
) -> None:
    api: Api = world["api"]
    reply = api.call(
        "POST",
        "/integrations/token",
        world["tokens"][role],
        data=b"grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (reply.status, reply.body.get("error")) == (401, "invalid_client"), (role, reply)


def test_r_auth_4_a_revoked_credentials_token_is_refused_on_every_integration_route(world: dict[str, Any]) -> None:
    api: Api = world["api"]
    home = world["home"]
    issued = api.call("POST", "/_local/tokens", body={"role": "integration", "practice_id": home["practice_id"]}).body
    routes = [r for r in AUTHORIZED if "integration" in ACCESS[f"{r.method} {r.path}"]]
    assert routes
    revoked = api.call("DELETE", f"/integrations/credentials/{issued['credential_id']}", home["admin"])
    assert revoked.status == 204
    for route in routes:
        reply = api.call(route.method, _path(route.path, world["ids"]), issued["token"], {})
        assert (reply.status, reply.error_code) == (401, "unauthenticated"), (route, reply)
