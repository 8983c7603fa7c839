"""Routes: practices (support), staff and custom shared inboxes (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from frontdesk.adapters.clock import iso
from frontdesk.http import Access, caller, error_responses, json_response, ok_response
from frontdesk.schemas import ApiModel, Flag, OneLine

# Each route imports its service when called: a cold start loads the code of the route it serves, not of all the
# others (docs/performance.md).
router = APIGatewayHttpRouter()
ACCESS: Access = {
    "POST /practices": frozenset({"support"}),
    "POST /staff": frozenset({"admin", "support"}),
    "POST /inboxes": frozenset({"admin"}),
}


class NewPractice(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: OneLine = Field(min_length=1, max_length=200)
    country: Literal["US"] = "US"
    textable_number: str = Field(min_length=1, max_length=40)
    has_pm_integration: Flag = False


class PracticeOut(ApiModel):
    practice_id: str
    name: str
    country: str
    textable_number: str
    has_pm_integration: bool
    created_at: str


class NewStaff(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: OneLine = Field(min_length=1, max_length=200)
    email: OneLine = Field(min_length=3, max_length=254)
    role: Literal["staff", "admin"] = "staff"
    practice_id: str | None = Field(default=None, max_length=64)


class StaffOut(ApiModel):
    staff_id: str
    practice_id: str
    name: str
    email: str
    role: str
    status: Literal["invited", "active", "deactivated"]
    created_at: str


class NewInbox(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: OneLine = Field(min_length=1, max_length=100)


class InboxOut(ApiModel):
    inbox_id: str
    name: str


@router.post("/practices", responses={**ok_response(PracticeOut, 201), **error_responses(403, 409)})
def create_practice(body: Annotated[NewPractice, Body()]) -> Response[PracticeOut]:
    from frontdesk.services import practices as service

    caller(router)
    practice = service.create_practice(body.name, body.country, body.textable_number, body.has_pm_integration)
    return json_response(
        201,
        {
            "practice_id": practice.practice_id,
            "name": practice.name,
            "country": practice.country,
            "textable_number": practice.textable_number,
            "has_pm_integration": practice.has_pm_integration,
            "created_at": iso(practice.created_at),
        },
    )


@router.post("/staff", responses={**ok_response(StaffOut, 201), **error_responses(403, 404, 409)})
def create_staff(body: Annotated[NewStaff, Body()]) -> Response[StaffOut]:
    from frontdesk.services import practices as service

    who = caller(router)
    staff = service.create_staff(who, body.practice_id, body.name, body.email, body.role)
    return json_response(
        201,
        {
            "staff_id": staff.staff_id,
            "practice_id": staff.practice_id,
            "name": staff.name,
            "email": staff.email,
            "role": staff.role,
            "status": staff.status,
            "created_at": iso(staff.created_at),
        },
    )


@router.post("/inboxes", responses={**ok_response(InboxOut, 201), **error_responses(403, 409)})
def create_inbox(body: Annotated[NewInbox, Body()]) -> Response[InboxOut]:
    from frontdesk.services import practices as service

    who = caller(router)
    assert who.practice_id is not None
    inbox = service.create_inbox(who.practice_id, body.name)
    return json_response(201, {"inbox_id": inbox.inbox_id, "name": inbox.name})
