"""R-SEC-1: every route of the template, walked with no token, bad tokens, each role and another practice.

The routes come from template.yaml and the roles from each function's own ACCESS table, so a new route cannot
be forgotten: a route without an ACCESS entry fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.local.functions import load_module
from infra.template import wiring
from tests.support import Api

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
            assert reply.status not in (401, 500), (role, route, reply)
            assert reply.error_code != "forbidden" or role in ("staff", "patient"), (role, route, reply)
        else:
            assert reply.status == 403 and reply.error_code == "forbidden", (role, route, reply)


@pytest.mark.parametrize(
    "route",
    [r for r in AUTHORIZED if "{" in r.path and ACCESS.get(f"{r.method} {r.path}", frozenset()) & {"staff", "admin"}],
    ids=lambda r: f"{r.method} {r.path}",
)
def test_r_sec_1_another_practice_never_sees_or_changes_this_practices_records(
    world: dict[str, Any], route: Any
) -> None:
    api: Api = world["api"]
    path = _path(route.path, world["ids"])
    reply = api.call(route.method, path, world["away"]["admin"], {})
    assert reply.status in (400, 403, 404), (route, reply)


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
