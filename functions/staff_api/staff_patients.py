"""Routes: creating, reading and searching patients (staff)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from frontdesk.auth import STAFF_ROLES
from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel, OneLine, PatientDetailOut, PatientList, PatientOut, patient_out

# Each route imports its service when called: a cold start loads the code of the route it serves, not of all the
# others (docs/performance.md).
router = APIGatewayHttpRouter()
ACCESS: Access = {
    "POST /patients": STAFF_ROLES,
    "GET /patients/{patient_id}": STAFF_ROLES,
    "POST /patients/search": STAFF_ROLES,
}
PatientId = Annotated[str, Path(max_length=64)]


class NewPatientIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    first_name: OneLine = Field(max_length=100)
    last_name: OneLine = Field(max_length=100)
    date_of_birth: str = Field(max_length=10)
    cell_phone: str | None = Field(default=None, max_length=40)
    landline: str | None = Field(default=None, max_length=40)
    email: OneLine | None = Field(default=None, max_length=254)
    external_id: OneLine | None = Field(default=None, max_length=64)


class PhoneSearch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(max_length=40)


@router.post("/patients", responses={**ok_response(PatientOut, 201), **error_responses(403, 409)})
def create_patient(body: Annotated[NewPatientIn, Body()]) -> Response[PatientOut]:
    from frontdesk.services import patients as service

    who = caller(router)
    assert who.practice_id is not None
    patient = service.create_patient(who.practice_id, service.NewPatient(**body.model_dump()), who)
    return json_response(201, patient_out(patient))


@router.get("/patients/<patient_id>", responses={**ok_response(PatientDetailOut), **error_responses(403, 404)})
def get_patient(patient_id: PatientId) -> Response[PatientDetailOut]:
    from frontdesk.services import outbound_sms
    from frontdesk.services import patients as service

    who = caller(router)
    assert who.practice_id is not None
    patient = service.read_patient(who.practice_id, patient_id, who)
    opted_out = outbound_sms.opted_out(who.practice_id, patient.cell_phone)  # R-SMS-2: the register, by number
    return json_response(200, {**patient_out(patient), "sms_opted_out": opted_out})


@router.post("/patients/search", responses={**ok_response(PatientList), **error_responses(403)})
def search_patients(body: Annotated[PhoneSearch, Body()]) -> Response[PatientList]:
    from frontdesk.services import patients as service

    who = caller(router)
    assert who.practice_id is not None
    found = service.search_by_phone(who.practice_id, body.phone, who)
    return json_response(200, {"items": [patient_out(p) for p in found]})
