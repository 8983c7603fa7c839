"""The PM/EHR feed: locations and appointments, and the token endpoint its clients sign in at (R-AUTH-4)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

import base64
import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

from frontdesk.adapters.clock import get_clock, iso
from frontdesk.domain import oauth
from frontdesk.domain.appointments import Location
from frontdesk.http import (
    PUBLIC,
    REQUEST_BODY_EXTENSION,
    Access,
    caller,
    error_responses,
    json_response,
    make_resolver,
    ok_response,
    refuse_without_secrets,
    resolve,
)
from frontdesk.schemas import ApiModel, OneLine, PmLocationId
from frontdesk.services import pm as service

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver()
INTEGRATION = frozenset({"integration"})
ACCESS: Access = {
    "PUT /integrations/pm/locations": INTEGRATION,
    "PUT /integrations/pm/appointments/{appointment_id}": INTEGRATION,
    "POST /integrations/token": PUBLIC,
}
TOKEN_ROUTE = "POST /integrations/token"
Id = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class PmLocationIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    location_id: PmLocationId
    name: OneLine = Field(min_length=1, max_length=200)


class PmLocationsIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    items: list[PmLocationIn] = Field(max_length=500)


class PmLocationsOut(ApiModel):
    items: list[PmLocationIn]


class AppointmentIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    patient_id: str | None = Field(default=None, max_length=64)
    external_id: OneLine | None = Field(default=None, max_length=64)
    location_id: PmLocationId
    starts_at: str = Field(min_length=10, max_length=40)
    status: Literal["booked", "cancelled"]


class AppointmentOut(ApiModel):
    appointment_id: str
    patient_id: str
    location_id: str
    starts_at: str
    status: str


@app.put("/integrations/pm/locations", responses={**ok_response(PmLocationsOut), **error_responses(403, 409)})
def put_locations(body: Annotated[PmLocationsIn, Body()]) -> Response[PmLocationsOut]:
    who = caller(app)
    saved = service.put_locations(who, [Location(i.location_id, i.name) for i in body.items])
    return json_response(200, {"items": [{"location_id": s.location_id, "name": s.name} for s in saved]})


@app.put(
    "/integrations/pm/appointments/<appointment_id>",
    responses={**ok_response(AppointmentOut), **error_responses(403, 404, 409)},
)
def put_appointment(appointment_id: Id, body: Annotated[AppointmentIn, Body()]) -> Response[AppointmentOut]:
    who = caller(app)
    saved = service.put_appointment(
        who, appointment_id, body.patient_id, body.external_id, body.location_id, body.starts_at, body.status
    )
    return json_response(
        200,
        {
            "appointment_id": saved.appointment_id,
            "patient_id": saved.patient_id,
            "location_id": saved.location_id,
            "starts_at": iso(saved.starts_at),
            "status": saved.status,
        },
    )


class TokenOut(ApiModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class OAuthErrorOut(ApiModel):
    """RFC 6749 §5.2: this route's errors have the OAuth shape, so standard OAuth clients understand them."""

    error: str
    error_description: str | None = None


class TokenForm(ApiModel):
    """A token request: grant_type=client_credentials, and the client's id and secret here unless sent in HTTP Basic
    auth (one way only)."""

    model_config = ConfigDict(extra="allow")

    grant_type: Literal["client_credentials"]
    client_id: str | None = Field(default=None, description="With client_secret, when not sent in HTTP Basic auth.")
    client_secret: str | None = Field(default=None, description="With client_id, when not sent in HTTP Basic auth.")


def _token_request_body() -> dict[str, Any]:
    """The request body of the token route, for the OpenAPI document (infra/openapi.py moves it in place)."""
    schema = TokenForm.model_json_schema()
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "application/json": {"schema": schema},
        },
    }


def _oauth_response(status: int, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": OAuthErrorOut}}}


@app.post(
    "/integrations/token",
    summary="OAuth 2.0 client credentials (RFC 6749 §4.4)",
    description=(
        "Form-encoded (application/x-www-form-urlencoded) or JSON body with grant_type=client_credentials; the client "
        "id and secret in HTTP Basic auth or as client_id and client_secret in the body. No bearer token."
    ),
    responses={
        **ok_response(TokenOut),
        400: _oauth_response(400, "invalid_request or unsupported_grant_type"),
        401: _oauth_response(401, "invalid_client"),
        429: _oauth_response(429, "too_many_attempts: too many failed requests for this client id"),
        503: error_responses(503)[503],
    },
    openapi_extensions={REQUEST_BODY_EXTENSION: _token_request_body()},
)
def issue_token() -> Response[Any]:
    """Read by hand, not by a body model: the RFC's form encoding is not JSON, and its errors are not API.md's."""
    from frontdesk.services import credentials

    event = app.current_event
    headers = {str(k).lower(): str(v) for k, v in (event.headers or {}).items()}
    raw = event.raw_event.get("body") or ""
    body = base64.b64decode(raw) if event.raw_event.get("isBase64Encoded") else str(raw).encode()
    request = oauth.parse_token_request(headers.get("content-type", ""), body, headers.get("authorization"))
    issued = credentials.exchange(request, get_clock().now())
    token = {"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in}
    return _token_answer(200, token)


@app.exception_handler(oauth.OAuthError)
def _oauth_error(error: oauth.OAuthError) -> Response[Any]:
    """This route's refusals, the RFC 6749 way (§5.2); a 401 names the scheme, a 429 when to come back."""
    body = {"error": error.error, "error_description": error.description}
    headers: dict[str, str] = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="frontdesk"'
    if isinstance(error, oauth.TooManyFailures):
        logger.warning("token requests throttled for a client id")
        headers["Retry-After"] = str(error.retry_after)
    else:
        logger.info("token request refused", extra={"oauth_error": error.error})
    return _token_answer(error.status, body, headers)


def _token_answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    # RFC 6749 §5.1: a token (and so any answer of this route) is never cached.
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("routeKey") == TOKEN_ROUTE:
        # Not through resolve(): the body is a form or JSON, read as sent (resolve() reads every body as JSON).
        return refuse_without_secrets() or app.resolve(event, context)
    return resolve(app, ACCESS, event, context)


frontdesk.startup.done()
