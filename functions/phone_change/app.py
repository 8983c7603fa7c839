"""Patient-confirmed cell phone changes: staff request, patient confirms or declines (R-PHONE-1..7)."""

from __future__ import annotations

import frontdesk.startup  # first: no garbage collection while the handler imports

# isort: split

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

from frontdesk.adapters.clock import iso
from frontdesk.auth import STAFF_ROLES
from frontdesk.domain.phone_change import PhoneRequest
from frontdesk.domain.phones import mask_phone
from frontdesk.http import Access, caller, error_responses, json_response, make_resolver, ok_response, resolve
from frontdesk.schemas import ApiModel, PatientOut, patient_out
from frontdesk.services import phone_change as service

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = make_resolver()
PATIENT = frozenset({"patient"})
ACCESS: Access = {
    "PUT /patients/{patient_id}/cell-phone": STAFF_ROLES,
    "GET /patients/{patient_id}/phone-change-requests": STAFF_ROLES,
    "GET /patient/phone-change": PATIENT,
    "POST /patient/phone-change/confirm": PATIENT,
    "POST /patient/phone-change/decline": PATIENT,
}
PatientId = Annotated[str, Path(max_length=64)]


class CellPhoneIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    cell_phone: str = Field(max_length=40)


class CellPhoneUpdated(ApiModel):
    """R-PHONE-1: never logged in, the number changed at once."""

    status: str  # updated
    patient: PatientOut


class CellPhonePending(ApiModel):
    """R-PHONE-2: a verified patient must confirm; nothing changed yet."""

    status: str  # pending_confirmation
    request_id: str
    expires_at: str


class RequestOut(ApiModel):
    request_id: str
    status: str
    new_phone_masked: str
    created_at: str
    expires_at: str


class RequestList(ApiModel):
    items: list[RequestOut]


class PendingOut(ApiModel):
    request_id: str
    new_phone_masked: str
    expires_at: str


class CodeIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=12)


class Done(ApiModel):
    status: str


def _request_out(request: PhoneRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "status": request.status,
        "new_phone_masked": mask_phone(request.new_phone),
        "created_at": iso(request.created_at),
        "expires_at": iso(request.expires_at),
    }


@app.put(
    "/patients/<patient_id>/cell-phone",
    responses={**ok_response(CellPhoneUpdated), **ok_response(CellPhonePending, 202), **error_responses(403, 404, 409)},
)
def change_cell_phone(
    patient_id: PatientId, body: Annotated[CellPhoneIn, Body()]
) -> Response[CellPhoneUpdated | CellPhonePending]:
    who = caller(app)
    assert who.practice_id is not None
    result = service.request_change(who.practice_id, patient_id, body.cell_phone, who)
    if result.request is not None:
        answer = {
            "status": result.status,
            "request_id": result.request.request_id,
            "expires_at": iso(result.request.expires_at),
        }
        return json_response(202, answer)
    assert result.patient is not None
    return json_response(200, {"status": result.status, "patient": patient_out(result.patient)})


@app.get(
    "/patients/<patient_id>/phone-change-requests", responses={**ok_response(RequestList), **error_responses(403, 404)}
)
def list_requests(patient_id: PatientId) -> Response[RequestList]:
    who = caller(app)
    assert who.practice_id is not None
    requests = service.list_requests(who.practice_id, patient_id, who)
    return json_response(200, {"items": [_request_out(r) for r in requests]})


@app.get("/patient/phone-change", responses={**ok_response(PendingOut), **error_responses(403, 404)})
def pending_change() -> Response[PendingOut]:
    who = caller(app)
    assert who.practice_id is not None and who.patient_id is not None
    request = service.pending_for_patient(who.practice_id, who.patient_id)
    answer = {
        "request_id": request.request_id,
        "new_phone_masked": mask_phone(request.new_phone),
        "expires_at": iso(request.expires_at),
    }
    return json_response(200, answer)


@app.post("/patient/phone-change/confirm", responses={**ok_response(Done), **error_responses(403, 404, 409, 410, 429)})
def confirm_change(body: Annotated[CodeIn, Body()]) -> Response[Done]:
    who = caller(app)
    assert who.practice_id is not None and who.patient_id is not None
    service.confirm(who.practice_id, who.patient_id, body.code)
    return json_response(200, {"status": "confirmed"})


@app.post("/patient/phone-change/decline", responses={**ok_response(Done), **error_responses(403, 404, 409, 410)})
def decline_change() -> Response[Done]:
    who = caller(app)
    assert who.practice_id is not None and who.patient_id is not None
    service.decline(who.practice_id, who.patient_id)
    return json_response(200, {"status": "declined"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(app, ACCESS, event, context)


frontdesk.startup.done()
