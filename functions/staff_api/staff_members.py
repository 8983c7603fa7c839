"""Routes: the staff lifecycle after the invitation (R-AUTH-2, R-AUTH-3): list, deactivate, reactivate, role."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel

router = APIGatewayHttpRouter()
ADMINS = frozenset({"admin", "support"})
ACCESS: Access = {
    "GET /staff": frozenset({"staff", "admin", "support"}),
    "POST /staff/{staff_id}/deactivate": ADMINS,
    "POST /staff/{staff_id}/reactivate": ADMINS,
    "PUT /staff/{staff_id}/role": frozenset({"admin"}),
}
StaffId = Annotated[str, Path(max_length=64)]


class MemberOut(ApiModel):
    staff_id: str
    name: str
    email: str
    role: str
    status: Literal["invited", "active", "deactivated"]


class MembersOut(ApiModel):
    items: list[MemberOut]


class PracticeChoice(ApiModel):
    """Support names the practice; an admin acts in their own."""

    model_config = ConfigDict(extra="forbid")
    practice_id: str | None = Field(default=None, max_length=64)


class StatusOut(ApiModel):
    staff_id: str
    status: Literal["invited", "active", "deactivated"]


class NewRole(ApiModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["staff", "admin"]


class RoleOut(ApiModel):
    staff_id: str
    role: str


@router.get("/staff", responses={**ok_response(MembersOut), **error_responses(400, 403, 404)})
def list_staff(practice_id: Annotated[str | None, Query(max_length=64)] = None) -> Response[MembersOut]:
    from frontdesk.services import staff as service

    members = service.list_staff(caller(router), practice_id)
    items = [
        {"staff_id": m.staff_id, "name": m.name, "email": m.email, "role": m.role, "status": m.status} for m in members
    ]
    return json_response(200, {"items": items})


@router.post(
    "/staff/<staff_id>/deactivate", responses={**ok_response(StatusOut), **error_responses(400, 403, 404, 409)}
)
def deactivate(staff_id: StaffId, body: Annotated[PracticeChoice | None, Body()] = None) -> Response[StatusOut]:
    from frontdesk.services import staff as service

    member = service.deactivate(caller(router), body.practice_id if body else None, staff_id)
    return json_response(200, {"staff_id": member.staff_id, "status": member.status})


@router.post(
    "/staff/<staff_id>/reactivate", responses={**ok_response(StatusOut), **error_responses(400, 403, 404, 409)}
)
def reactivate(staff_id: StaffId, body: Annotated[PracticeChoice | None, Body()] = None) -> Response[StatusOut]:
    from frontdesk.services import staff as service

    member = service.reactivate(caller(router), body.practice_id if body else None, staff_id)
    return json_response(200, {"staff_id": member.staff_id, "status": member.status})


@router.put("/staff/<staff_id>/role", responses={**ok_response(RoleOut), **error_responses(400, 403, 404, 409)})
def change_role(staff_id: StaffId, body: Annotated[NewRole, Body()]) -> Response[RoleOut]:
    from frontdesk.services import staff as service

    member = service.change_role(caller(router), staff_id, body.role)
    return json_response(200, {"staff_id": member.staff_id, "role": member.role})
