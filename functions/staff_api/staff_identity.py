"""Routes: staff actions on a patient's identity - date of birth, DOB lock, merge, audit trail."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from frontdesk.adapters.clock import iso
from frontdesk.auth import STAFF_ROLES
from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel, PatientOut, patient_out

# Each route imports its service when called: a cold start loads the code of the route it serves, not of all the
# others (docs/performance.md).
router = APIGatewayHttpRouter()
SUPPORT = frozenset({"support"})
ACCESS: Access = {
    "PUT /patients/{patient_id}/date-of-birth": STAFF_ROLES | SUPPORT,
    "POST /patients/{patient_id}/dob-lock/reset": SUPPORT,
    "POST /patients/{patient_id}/merge": STAFF_ROLES | SUPPORT,
    "GET /patients/{patient_id}/audit": frozenset({"admin"}),
}
PatientId = Annotated[str, Path(max_length=64)]
PracticeId = Field(default=None, max_length=64, description="Support only: the practice (support tokens have none).")


class DobIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    date_of_birth: str = Field(max_length=10)
    practice_id: str | None = PracticeId


class SupportIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    practice_id: str | None = PracticeId


class MergeIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    source_patient_id: str = Field(min_length=1, max_length=64)
    practice_id: str | None = PracticeId


class AuditEntryOut(ApiModel):
    at: str
    actor: str
    action: str


class AuditPageOut(ApiModel):
    items: list[AuditEntryOut]
    next_token: str | None


@router.put(
    "/patients/<patient_id>/date-of-birth", responses={**ok_response(PatientOut), **error_responses(403, 404, 409)}
)
def change_dob(patient_id: PatientId, body: Annotated[DobIn, Body()]) -> Response[PatientOut]:
    from frontdesk.services import identity
    from frontdesk.services.practices import practice_for_caller

    who = caller(router)
    practice_id = practice_for_caller(who, body.practice_id)
    return json_response(200, patient_out(identity.change_dob(practice_id, patient_id, body.date_of_birth, who)))


@router.post(
    "/patients/<patient_id>/dob-lock/reset", responses={**ok_response(PatientOut), **error_responses(403, 404, 409)}
)
def reset_dob_lock(patient_id: PatientId, body: Annotated[SupportIn | None, Body()] = None) -> Response[PatientOut]:
    from frontdesk.services import identity
    from frontdesk.services.practices import practice_for_caller

    who = caller(router)
    practice_id = practice_for_caller(who, body.practice_id if body else None)
    return json_response(200, patient_out(identity.reset_dob_lock(practice_id, patient_id, who)))


@router.post("/patients/<patient_id>/merge", responses={**ok_response(PatientOut), **error_responses(403, 404, 409)})
def merge_profiles(patient_id: PatientId, body: Annotated[MergeIn, Body()]) -> Response[PatientOut]:
    from frontdesk.services import merge
    from frontdesk.services.practices import practice_for_caller

    who = caller(router)
    practice_id = practice_for_caller(who, body.practice_id)
    merged = merge.merge_profiles(practice_id, patient_id, body.source_patient_id, who)
    return json_response(200, patient_out(merged))


@router.get("/patients/<patient_id>/audit", responses={**ok_response(AuditPageOut), **error_responses(403, 404)})
def audit_trail(
    patient_id: PatientId,
    limit: Annotated[int | None, Query()] = None,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[AuditPageOut]:
    from frontdesk.services import identity

    who = caller(router)
    assert who.practice_id is not None
    page = identity.audit_trail(who.practice_id, patient_id, who, limit, next_token)
    items = [{"at": iso(e.at), "actor": e.actor, "action": e.action} for e in page.items]
    return json_response(200, {"items": items, "next_token": page.next_token})
