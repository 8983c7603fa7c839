"""The runner matches routes the way API Gateway does and builds v2 events the handlers accept."""

from __future__ import annotations

from infra.local.events import http_event, match_route
from infra.template import HttpRoute, wiring

ROUTES = [
    HttpRoute("GET", "/inboxes/{inbox_id}/conversations", "F", True),
    HttpRoute("GET", "/inboxes/unassigned/conversations", "F", True),
    HttpRoute("GET", "/patients/{patient_id}", "F", True),
    HttpRoute("GET", "/patients/duplicates", "F", True),
]


def test_literal_segments_win_over_parameters() -> None:
    route, params = match_route(ROUTES, "GET", "/inboxes/unassigned/conversations")  # type: ignore[misc]
    assert route.path == "/inboxes/unassigned/conversations" and params == {}
    route, params = match_route(ROUTES, "GET", "/patients/abc123")  # type: ignore[misc]
    assert params == {"patient_id": "abc123"}
    route, _ = match_route(ROUTES, "GET", "/patients/duplicates")  # type: ignore[misc]
    assert route.path == "/patients/duplicates"


def test_unknown_method_or_path_does_not_match() -> None:
    assert match_route(ROUTES, "POST", "/patients/abc") is None
    assert match_route(ROUTES, "GET", "/patients/abc/labels") is None


def test_http_event_is_a_v2_event() -> None:
    event = http_event(
        ROUTES[2], "GET", "/patients/x", "limit=5&a=1&a=2", {"Authorization": "Bearer t"}, b"", {"patient_id": "x"}
    )
    assert event["version"] == "2.0" and event["routeKey"] == "GET /patients/{patient_id}"
    assert event["queryStringParameters"] == {"limit": "5", "a": "1,2"}
    assert event["headers"]["authorization"] == "Bearer t"
    assert event["pathParameters"] == {"patient_id": "x"}


def test_every_api_md_route_is_declared_once_in_the_template() -> None:
    routes = wiring().routes
    keys = [f"{r.method} {r.path}" for r in routes]
    assert len(keys) == len(set(keys))
    for expected in ("POST /practices", "GET /patients/{patient_id}", "POST /webhooks/sms", "GET /openapi.json"):
        assert expected in keys
    public = {f"{r.method} {r.path}" for r in routes if not r.authorized}
    assert public == {
        "POST /patient/login",
        "POST /patient/login/verify",
        "POST /webhooks/sms",
        "POST /webhooks/voicemail",
        "GET /openapi.json",
        "POST /integrations/token",  # OAuth 2.0 client credentials: the client authenticates itself (R-AUTH-4)
    }


def test_r_api_1_the_runners_control_surface_reads_a_deeply_nested_body_as_no_body() -> None:
    # Given a /_local/ request body nested 5,000 levels deep  Then it is read as an empty body, never a 500
    from infra.local.server import _json

    assert _json(b"[" * 5000 + b"]" * 5000) == {}
    assert _json(b'{"a": ' * 5000 + b"1" + b"}" * 5000) == {}
