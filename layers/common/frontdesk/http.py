"""What every HTTP handler shares: the resolver, the error envelope, the caller's identity and role checks."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel

from frontdesk.auth import Principal
from frontdesk.errors import ApiError, Forbidden, Unauthenticated, Unavailable, ValidationFailed
from frontdesk.schemas import ApiModel

logger = Logger()

# R-API-1: text limits count characters, and the byte ceiling admits any text within them. JSON may spell each
# character as a 12-byte surrogate-pair escape (`\ud83d\ude00`); the most text one capped body carries is a
# voicemail webhook's 12,300 characters (transcript, URL, ids): 147,600 bytes at worst. A test checks every capped
# model's worst case fits.
MAX_BODY_BYTES = 160 * 1024
MAX_JSON_DEPTH = 32
# A route whose body is not one JSON model (the OAuth token route) documents it under this OpenAPI extension;
# infra/openapi.py makes it the operation's requestBody (Powertools accepts only x- keys there).
REQUEST_BODY_EXTENSION = "x-frontdesk-request-body"
# A JSON string (skipped whole, escapes included) or a bracket: the regex engine walks strings, not Python.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class ErrorDetail(ApiModel):
    code: str
    message: str
    field: str | None = None


class ErrorEnvelope(ApiModel):
    """API.md: every error a client sees has this shape."""

    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "validation_error (or a rule's own 400 code)",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "a business rule refuses the change",
    410: "expired",
    413: "too_large",
    429: "too_many_attempts",
    503: "service_unavailable",
}


def error_responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer (always 400, 401, 503)."""
    wanted = sorted({400, 401, 503, *statuses})
    return {
        status: {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
        for status in wanted
    }


def ok_response(model: type[BaseModel], status: int = 200, description: str = "OK") -> dict[int, dict[str, Any]]:
    return {status: {"description": description, "content": {"application/json": {"model": model}}}}


def json_response(status: int, body: Any) -> Response:
    """A JSON answer; with a `-> Response[Model]` route annotation Powertools validates the body against Model."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error.envelope())


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.exception_handler(ApiError)(error_response)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.exception_handler(NotFoundError)(_route_not_found)
    app.exception_handler(Exception)(_unexpected)
    return app


def _validation_error(error: RequestValidationError) -> Response:
    field, message = describe_validation_error(error.errors())
    return error_response(ValidationFailed(message, field=field))


def describe_validation_error(errors: Iterable[Any]) -> tuple[str | None, str]:
    """The first problem, naming the field but never echoing the submitted value (it may be PHI). A field the client
    sent wrong comes before one it left out (issue 12 item 6: name the field the client sent)."""
    for problem in sorted(errors, key=lambda problem: problem.get("type") == "missing"):
        location = list(problem.get("loc", ()))
        if location and location[0] in ("body", "query", "path", "header"):
            location = location[1:]  # where it came from, not a field (a field may itself be called `body`)
        kind = str(problem.get("type", ""))
        if kind == "json_invalid":
            return None, "The request body is not valid JSON."
        if kind in ("model_attributes_type", "dict_type") and not location:
            return None, "The request body must be a JSON object."
        if kind == "extra_forbidden":
            # The name of a field we do not declare is the client's text, and may itself be PHI: not echoed.
            return None, "The request has a field that is not accepted."
        field = field_path(location)
        text = {
            "missing": "This field is required.",
            "extra_forbidden": "This field is not accepted.",
            "string_pattern_mismatch": "This field has characters or a form that is not accepted.",
            "bool_type": "This field must be JSON true or false.",
            "reserved": "This value is reserved by the platform.",
        }.get(kind, f"This field is not valid ({kind.replace('_', ' ')}).")
        return field, text
    return None, "The request is not valid."


def field_path(location: Iterable[Any]) -> str | None:
    """The field as the client wrote it: `reasons[0]`, `items[2].location_id` (never a bare list index)."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path or None


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when JSON text nests deeper than `limit` (`{}` is one level). Measured on the raw text without
    recursion, stopping at the first bracket past the limit: a 1,000-deep body costs microseconds, not a
    RecursionError in the parser. Strings are skipped whole, so brackets inside them do not count; invalid JSON
    is left to the parser."""
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _route_not_found(_: NotFoundError) -> Response:
    from frontdesk.errors import NotFound

    return error_response(NotFound("No such route."))


def _unexpected(error: Exception) -> Response:
    from frontdesk.secrets import SecretUnavailable
    from frontdesk.store.base import is_transient

    if isinstance(error, SecretUnavailable):
        return error_response(_secret_unavailable(error))
    if is_transient(error):
        logger.warning("dependency unavailable", extra={"error_type": type(error).__name__})
        return error_response(Unavailable("A dependency is unavailable; nothing was changed. Try again."))
    # The type only: exception messages can carry submitted values (PHI).
    logger.error("unhandled error", extra={"error_type": type(error).__name__})
    return json_response(500, {"error": {"code": "internal_error", "message": "Something went wrong on our side."}})


PUBLIC: frozenset[str] = frozenset({"*"})  # a route without a bearer token (webhooks, login, docs)
Access = dict[str, frozenset[str]]  # "METHOD /path/{param}" (the HTTP API route key) -> roles allowed


def resolve(app: APIGatewayHttpResolver, access: Access, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Authentication and the route's roles come before body validation: a stranger learns nothing from a 400."""
    refused = refuse_without_secrets()
    if refused is not None:
        return refused
    refusal = check_access(access, event) or _check_body_encoding(event) or _check_depth(event)
    if refusal is not None:
        return error_result(refusal)
    _treat_body_as_json(event)
    return app.resolve(event, context)


def error_result(error: ApiError) -> dict[str, Any]:
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(error.envelope()),
        "isBase64Encoded": False,
    }


def refuse_without_secrets() -> dict[str, Any] | None:
    """R-AUTH-5: a function missing one of its secrets refuses every request (503, API.md's shape), never runs
    with an empty key."""
    from frontdesk import secrets

    try:
        secrets.check_all()
    except secrets.SecretUnavailable as error:
        return error_result(_secret_unavailable(error))
    return None


def _secret_unavailable(error: Exception) -> Unavailable:
    logger.error("refusing the request: a secret is unavailable", extra={"reason": str(error)})
    return Unavailable("The service is not configured correctly; nothing was done. Try again later.")


def _treat_body_as_json(event: dict[str, Any]) -> None:
    # The API speaks only JSON (API.md): a client that forgot the header (curl -d) is not parsed as a form.
    headers = event.get("headers") or {}
    content_type = next((str(v) for k, v in headers.items() if k.lower() == "content-type"), "")
    if event.get("body") and not content_type.lower().startswith("application/json"):
        event["headers"] = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        event["headers"]["content-type"] = "application/json"


def _check_body_encoding(event: dict[str, Any]) -> ApiError | None:
    """JSON is UTF-8 (API.md): anything else is a 400, not a decoding crash deep in the resolver."""
    body = event.get("body")
    if not body:
        return None
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else str(body).encode()
        text = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ValidationFailed("The request body must be UTF-8 JSON.")
    event["body"], event["isBase64Encoded"] = text, False
    return None


def _check_depth(event: dict[str, Any]) -> ApiError | None:
    """R-API-1: JSON nested deeper than 32 levels is refused before it is parsed (after _check_body_encoding)."""
    body = event.get("body")
    if body and json_depth_exceeds(str(body)):
        return ValidationFailed(f"The request body is nested more than {MAX_JSON_DEPTH} levels deep.")
    return None


def check_access(access: Access, event: dict[str, Any]) -> ApiError | None:
    allowed = access.get(str(event.get("routeKey", "")))
    if allowed is None:
        from frontdesk.errors import NotFound

        return NotFound("No such route.")
    if allowed is PUBLIC:
        return None
    principal = principal_from_event(event)
    if principal is None:
        return Unauthenticated("A valid bearer token is required.")
    if principal.role not in allowed:
        return Forbidden("Your role may not use this route.")
    return None


def principal_from_event(event: dict[str, Any]) -> Principal | None:
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if not claims or claims.get("auth_error"):
        return None
    return Principal.from_claims(claims)


def caller(app: Any) -> Principal:
    """The identity the authorizer verified; a request without a valid token is a 401."""
    context = app.current_event.request_context.authorizer
    claims = (context.get_lambda if context else None) or {}
    principal = Principal.from_claims(claims) if not claims.get("auth_error") else None
    if principal is None:
        raise Unauthenticated("A valid bearer token is required.")
    logger.append_keys(role=principal.role, practice_id=principal.practice_id)
    return principal


def check_body_size(app: Any) -> None:
    raw = app.current_event.body or ""
    if len(raw.encode()) > MAX_BODY_BYTES:
        from frontdesk.errors import TooLarge

        raise TooLarge(f"The request body is larger than {MAX_BODY_BYTES // 1024} kB.")
