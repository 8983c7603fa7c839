"""Patient login with one-time SMS codes (R-LOGIN-1) and DOB verification (R-DOB-1..3)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

import frontdesk.store.base  # noqa: F401 - every route reads the table (why at import: docs/performance.md)
from frontdesk.http import PUBLIC, Access, caller, error_responses, json_response, make_resolver, ok_response, resolve
from frontdesk.schemas import ApiModel

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver()
ACCESS: Access = {
    "POST /patient/login": PUBLIC,
    "POST /patient/login/verify": PUBLIC,
    "POST /patient/dob-verification": frozenset({"patient"}),
}


class LoginIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    practice_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    phone: str = Field(max_length=40)


class LoginAccepted(ApiModel):
    status: str


class VerifyIn(LoginIn):
    code: str = Field(max_length=12)


class SessionOut(ApiModel):
    token: str
    patient_id: str
    dob_verification_required: bool


class DobCheckIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    date_of_birth: str = Field(max_length=10)


class DobResult(ApiModel):
    result: str  # verified | reported_different | failed


@app.post("/patient/login", responses={**ok_response(LoginAccepted, 202), **error_responses()})
def request_login(body: Annotated[LoginIn, Body()]) -> Response[LoginAccepted]:
    from frontdesk.services import login  # each route imports its own service (docs/performance.md)

    login.request_code(body.practice_id, body.phone)
    # The same answer whether or not the phone is known (no account enumeration).
    return json_response(202, {"status": "code_sent"})


@app.post("/patient/login/verify", responses={**ok_response(SessionOut), **error_responses(429)})
def verify_login(body: Annotated[VerifyIn, Body()]) -> Response[SessionOut]:
    from frontdesk.services import login

    session = login.verify_code(body.practice_id, body.phone, body.code)
    logger.append_keys(patient_id=session.patient_id)
    return json_response(
        200,
        {
            "token": session.token,
            "patient_id": session.patient_id,
            "dob_verification_required": session.dob_verification_required,
        },
    )


@app.post("/patient/dob-verification", responses={**ok_response(DobResult), **error_responses(403, 404, 409)})
def verify_dob(body: Annotated[DobCheckIn, Body()]) -> Response[DobResult]:
    from frontdesk.services import identity

    who = caller(app)
    assert who.practice_id is not None and who.patient_id is not None
    return json_response(200, {"result": identity.verify_dob(who.practice_id, who.patient_id, body.date_of_birth)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, ACCESS, event, context)


frontdesk.startup.done()
