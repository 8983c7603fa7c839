"""The error envelope and access checks every handler shares (API.md conventions, R-SEC-1)."""

from __future__ import annotations

from frontdesk.errors import Conflict, ValidationFailed
from frontdesk.http import PUBLIC, check_access, describe_validation_error


def test_error_envelope_has_api_md_shape() -> None:
    assert ValidationFailed("bad", field="cell_phone").envelope() == {
        "error": {"code": "validation_error", "message": "bad", "field": "cell_phone"}
    }
    assert Conflict("no", code="support_required").envelope() == {
        "error": {"code": "support_required", "message": "no"}
    }


def test_validation_errors_name_the_field_and_never_echo_the_value() -> None:
    field, message = describe_validation_error(
        [{"type": "string_type", "loc": ("body", "first_name"), "msg": "x", "input": 123456789}]
    )
    assert field == "first_name"
    assert "123456789" not in message


def test_invalid_json_is_described_without_a_field() -> None:
    assert describe_validation_error([{"type": "json_invalid", "loc": ("body", 0), "input": "{"}]) == (
        None,
        "The request body is not valid JSON.",
    )


def _event(route_key: str, claims: dict[str, str] | None) -> dict:
    return {"routeKey": route_key, "requestContext": {"authorizer": {"lambda": claims} if claims is not None else None}}


def test_r_sec_1_access_is_checked_before_anything_else() -> None:
    access = {"POST /patients": frozenset({"staff", "admin"}), "POST /webhooks/sms": PUBLIC}
    staff = {"sub": "s", "role": "staff", "practice_id": "p", "staff_id": "s"}
    patient = {"sub": "q", "role": "patient", "practice_id": "p", "patient_id": "q"}
    assert check_access(access, _event("POST /patients", staff)) is None
    assert check_access(access, _event("POST /patients", None)).status == 401  # type: ignore[union-attr]
    assert check_access(access, _event("POST /patients", {"auth_error": "invalid"})).status == 401  # type: ignore[union-attr]
    assert check_access(access, _event("POST /patients", patient)).status == 403  # type: ignore[union-attr]
    assert check_access(access, _event("POST /webhooks/sms", None)) is None
    assert check_access(access, _event("DELETE /patients", staff)).status == 404  # type: ignore[union-attr]
